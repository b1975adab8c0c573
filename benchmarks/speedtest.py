"""Closing a speed test (`course speedtest close`: collect + grade, sandbox on) vs stock `nbgrader autograde`
on the same N submissions of speedtest1.

    .venv/bin/python benchmarks/speedtest.py [--n 10] [--full]   # --full: N = 200, the lecture's size

Builds a scratch course with speedtest1, opens the test, has N students submit the instructor's solution
through nbgrader's exchange, then times (1) `course speedtest close speedtest1` from the command line to the
printed verdicts (interpreter start, collect, grading and the grade table included) and (2) stock
`nbgrader autograde speedtest1` (one fresh kernel per notebook, no sandbox) on the submissions collected by (1).
Prints both, the ratio and the goal (200 graded within 30 s of close on 2 cores).
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
    return root, env


def course(root: Path, env: dict[str, str], *argv: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10, help="submissions (default 10)")
    ap.add_argument("--full", action="store_true", help="N = 200")
    ap.add_argument("--no-sandbox", action="store_true")
    args = ap.parse_args()
    n = 200 if args.full else args.n
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from exchange_student import nbgrader_submit

    sandbox = ["--no-sandbox"] if args.no_sandbox else []
    tmp = Path(tempfile.mkdtemp(prefix="bench-speedtest-"))
    try:
        root, env = make_course(tmp)
        course(root, env, "speedtest", "open", TEST, "--duration", "1h")
        answer = (root / "source" / TEST / NOTEBOOK).read_bytes()
        exchange = tmp / "data" / "exchange"
        for i in range(n):
            nbgrader_submit(exchange, tmp / "home", "dl-course", f"s{i:03d}", TEST, {NOTEBOOK: answer})
        ours = course(root, env, "speedtest", "close", TEST, "--no-check-owner", *sandbox)
        # stock nbgrader needs the assignment in its gradebook (generate), then grades submitted/ from (1);
        # the course's config routes `nbgrader autograde` to the platform, so the peer gets nbgrader's own
        with open(root / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write('\nc.Autograde.exporter_class = "nbconvert.exporters.NotebookExporter"  # stock peer\n')
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", TEST, "--force",
                        "--log-level=ERROR"], cwd=root, env=env, check=True)
        start = time.monotonic()
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", TEST, "--force",
                        "--log-level=ERROR"], cwd=root, env=env, check=True)
        stock = time.monotonic() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{n} submissions of {TEST} (the instructor's solution, each student's own numbers)")
    print(f"course speedtest close (collect + grade, sandbox {'OFF' if sandbox else 'on'}): {ours:7.1f} s "
          f"({ours / n:.2f} s/submission, start-up included)")
    print(f"stock nbgrader autograde (sequential, no sandbox):          {stock:7.1f} s ({stock / n:.2f} s/submission)")
    print(f"ratio stock / ours: {stock / ours:.1f}x; goal: 200 graded within 30 s of close on 2 cores "
          f"({'met' if n >= 200 and ours <= 30 else 'not shown by this run: --full measures it'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
