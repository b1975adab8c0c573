"""Closing a speed test (`course speedtest close`: collect + grade, sandbox on) vs stock `nbgrader autograde`
on the same N submissions of speedtest1.

    .venv/bin/python benchmarks/speedtest.py [--n 10] [--full] [--no-warm] [--peer-n K]   # --full: N = 200

Builds a scratch course with speedtest1, opens the test (which starts its warm grader: sandbox slots with their
kernel parents started while the window is open), has N students submit the instructor's solution through
nbgrader's exchange, waits until the warm grader is ready (a lecture's window is minutes long; its warm-up is
printed), then times (1) `course speedtest close speedtest1` from the command line to the printed verdicts
(interpreter start, collect, grading and the grade table included) and (2) stock `nbgrader autograde
speedtest1` (one fresh kernel per notebook, no sandbox) on the submissions collected by (1). --no-warm: the
close starts everything itself. Prints both, with CPU seconds where a cpuacct cgroup can be made (root), the
ratio and the goal (200 graded within 30 s of close on 2 cores).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers import peer_count, peer_glob

REPO = Path(__file__).resolve().parents[1]
TEST, NOTEBOOK = "speedtest1", "speedtest1.ipynb"


def make_course(tmp: Path) -> tuple[Path, dict[str, str]]:
    root = tmp / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "source" / TEST, root / "source" / TEST, ignore=ignore)
    shutil.copytree(REPO / "release" / TEST, root / "release" / TEST, ignore=ignore)
    env = dict(os.environ, COURSE_ROOT=str(root), COURSE_DATA_DIR=str(tmp / "data"),
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    env.pop("COURSE_DB_URL", None)
    env.pop("COURSE_EXCHANGE", None)
    env.pop("COURSE_SPEEDTEST_WARM", None)
    return root, env


def course(root: Path, env: dict[str, str], *argv: str) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=root, env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return time.monotonic() - start, out


def wait_warm(root: Path, env: dict[str, str], limit_s: float = 600) -> float:
    """Seconds until `speedtest status` says the warm grader is ready (0 if there is none)."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        state = course(root, env, "speedtest", "status", TEST, "--once")[1]
        if "warm grader: ready" in state:
            return time.monotonic() - start
        if "warm grader" not in state:
            return 0.0
        time.sleep(1)
    return time.monotonic() - start


def _cpu(value: float | None, n: int) -> str:
    return "CPU n/a" if value is None else f"CPU {value:6.1f} s ({value / n:.2f} s/submission)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10, help="submissions (default 10)")
    ap.add_argument("--full", action="store_true", help="N = 200")
    ap.add_argument("--no-sandbox", action="store_true")
    ap.add_argument("--no-warm", action="store_true", help="no warm grader: the close starts everything itself")
    ap.add_argument("--peer-n", type=int, help="stock nbgrader grades only the first K of the N (1..10; default N): "
                    "its per-submission time does not change with N, and it is slow")
    args = ap.parse_args()
    n = 200 if args.full else args.n
    peer_n = peer_count(ap, n, args.peer_n)
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from exchange_student import nbgrader_submit

    from course_cpu import CgroupCpu

    flags = (["--no-sandbox"] if args.no_sandbox else []) + (["--no-warm"] if args.no_warm else [])
    tmp = Path(tempfile.mkdtemp(prefix="bench-speedtest-"))
    ours_meter = CgroupCpu("bench-speedtest-ours")
    stock_meter: CgroupCpu | None = None
    try:
        root, env = make_course(tmp)
        opened = course(root, env, "speedtest", "open", TEST, "--duration", "1h", *flags)[1]
        log = opened.split("(log: ")[-1].split(")")[0] if "(log: " in opened else ""
        answer = (root / "source" / TEST / NOTEBOOK).read_bytes()
        exchange = tmp / "data" / "exchange"
        for i in range(n):
            nbgrader_submit(exchange, tmp / "home", "dl-course", f"s{i:03d}", TEST, {NOTEBOOK: answer})
        warm_s = wait_warm(root, env)
        why = Path(log).read_text().strip().splitlines()[-1] if log and not warm_s else ""
        before = ours_meter.seconds()
        ours = course(root, env, "speedtest", "close", TEST, "--no-check-owner", *flags[:int(args.no_sandbox)])[0]
        after = ours_meter.seconds()
        ours_cpu = None if before is None or after is None else after - before
        # stock nbgrader needs the assignment in its gradebook (generate), then grades submitted/ from (1);
        # the course's config routes `nbgrader autograde` to the platform, so the peer gets nbgrader's own
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write('\nc.Autograde.exporter_class = "nbconvert.exporters.NotebookExporter"  # stock peer\n')
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", TEST, "--force",
                        "--log-level=ERROR"], cwd=root, env=env, check=True)
        stock_meter = CgroupCpu("bench-speedtest-stock")
        before = stock_meter.seconds()
        start = time.monotonic()
        peers = peer_glob("s000", n, peer_n)
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", TEST, "--force",
                        "--log-level=ERROR", f"--CourseDirectory.student_id={peers}"], cwd=root, env=env, check=True)
        stock = (time.monotonic() - start) * n / peer_n  # the whole N at the measured rate (sequential)
        after = stock_meter.seconds()
        stock_cpu = None if before is None or after is None else (after - before) * n / peer_n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        ours_meter.close()
        if stock_meter is not None:
            stock_meter.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} (wall times stretch with the load; CPU seconds less so)")
    print(f"{n} submissions of {TEST} (the instructor's solution, each student's own numbers)")
    how = (f"warm grader ready {warm_s:.0f} s into the window" if warm_s else
           f"no warm grader{f' ({why})' if why else ''}")
    print(f"course speedtest close (collect + grade, sandbox {'OFF' if args.no_sandbox else 'on'}, {how}): "
          f"{ours:7.1f} s ({ours / n:.2f} s/submission, start-up included), {_cpu(ours_cpu, n)}")
    print(f"stock nbgrader autograde (sequential, no sandbox): {stock:7.1f} s ({stock / n:.2f} s/submission"
          + (f", measured on {peer_n} of the {n}" if peer_n != n else "") + f"), {_cpu(stock_cpu, n)}")
    ratio_cpu = f"; CPU {stock_cpu / ours_cpu:.1f}x" if stock_cpu and ours_cpu else ""
    goal = ("met" if ours <= 30 else f"not met: {ours:.0f} s") if n >= 200 else "--full measures it"
    print(f"ratio stock / ours: wall {stock / ours:.1f}x{ratio_cpu}; goal: 200 graded within 30 s of close on 2 "
          f"cores ({goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
