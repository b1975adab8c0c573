"""The demo's scratch course: a fresh directory per run, the course's files copied in, the students' unix
accounts (created once, reused by every run), and `course` run as a subprocess in it."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from demo.timing import Child, Clock

REPO = Path(__file__).resolve().parents[1]
MARKER = ".course-demo"
ITEMS = ("assignment1", "assignment2", "speedtest1")


class DemoError(RuntimeError):
    """One line for the user: what failed and what to do."""


@dataclass
class Scratch:
    base: Path
    clock: Clock = field(default_factory=Clock)

    @property
    def root(self) -> Path:
        return self.base / "course"

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def exchange(self) -> Path:
        return self.data / "exchange"

    @property
    def homes(self) -> Path:
        return self.base / "home"

    @property
    def out(self) -> Path:
        return self.base / "out"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "COURSE_ROOT": str(self.root), "COURSE_DATA_DIR": str(self.data),
               "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        for var in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
            env.pop(var, None)
        return env

    def course(self, *argv: str, live: bool = False) -> str:
        """`course ARGV` in the scratch course; `live` lets its output (progress bars) reach the terminal."""
        done = Child([sys.executable, "-m", "course_cli", *argv], cwd=self.root, env=self.env(),
                     capture=not live).wait()
        step = self.clock.add(f"course {' '.join(argv)}", done.wall_s, done.cpu_s)
        print(f"[demo] {step.name}  ({step.wall_s:.1f} s, CPU {step.cpu_s:.1f} s)", flush=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            raise DemoError(f"course {' '.join(argv)} failed (exit {done.returncode}): {' '.join(tail)}")
        return done.stdout

    def courses(self, *commands: list[str]) -> list[str]:
        """Several `course` commands at once (each in a thread that waits for its process); their outputs."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(commands)) as pool:
            return list(pool.map(lambda argv: self.course(*argv), commands))


def fresh(base: Path, clock: Clock) -> Scratch:
    """Empty `base` (only a directory an earlier demo made) and copy the course into it."""
    if base.exists():
        if not (base / MARKER).exists():
            raise DemoError(f"{base} exists and is not a demo directory: choose another with --dir")
        shutil.rmtree(base)
    s = Scratch(base, clock)
    made = [p for p in reversed(base.parents) if not p.exists()]  # parents made here, too (umask 077)
    for p in (*made, base, s.homes):
        p.mkdir()
        os.chmod(p, 0o711)  # students traverse to the exchange and their homes, and list nothing
    (base / MARKER).write_text("made by `course demo`; removed by the next run\n")
    (s.root / "source").mkdir(parents=True)
    s.out.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", s.root)
    shutil.copy(REPO / "course.toml", s.root)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in ITEMS:
        shutil.copytree(REPO / "source" / item, s.root / "source" / item, ignore=ignore)
        shutil.copytree(REPO / "release" / item, s.root / "release" / item, ignore=ignore)
    return s


def ensure_accounts(names: list[str]) -> None:
    """Unix accounts without a home or login shell, one per simulated student, kept for the next run."""
    if os.geteuid() != 0:
        raise DemoError("the demo's students submit as their own unix accounts: run `make demo` as root")
    nologin = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-U", "-M", "-d", "/nonexistent", "-s", nologin, name], check=True,
                           capture_output=True)


def start_class(s: Scratch, plan: list[tuple[str, list[str]]]) -> Child:
    """The students' fetch and submit, each as their own account (demo.classroom), all at once."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
    return Child([sys.executable, "-m", "demo.classroom", str(s.exchange), str(s.base),
                  *(f"{student}={','.join(items)}" for student, items in plan)],
                 cwd=REPO, env=env, session=True)  # its own process group: kill() ends every student


def finish_class(child: Child, what: str) -> float:
    """Wait for the class; its CPU seconds. A student who could not hand in fails the demo with their line."""
    done = child.wait()
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise DemoError(f"students could not hand in {what}: {' / '.join(lines[-3:])}")
    return done.cpu_s


def set_policy(s: Scratch, item: str, key: str, value: str) -> None:
    """Replace `key = ...` inside [items.ITEM] (or any table name given as ITEM) of the scratch course.toml."""
    path = s.root / "course.toml"
    text = path.read_text()
    head = re.search(rf"^\[{re.escape(item)}\]\s*$", text, re.MULTILINE)
    if head is None:
        raise DemoError(f"course.toml has no [{item}]")
    nxt = re.search(r"^\[", text[head.end():], re.MULTILINE)
    end = head.end() + (nxt.start() if nxt else len(text[head.end():]))
    section, n = re.subn(rf"^{key} = \S+", f"{key} = {value}", text[head.end():end], count=1, flags=re.MULTILINE)
    if n != 1:
        raise DemoError(f"course.toml [{item}] has no {key}")
    path.write_text(text[:head.end()] + section + text[end:])


def _warm_grader(pid: str, root: Path) -> bool:
    """Is /proc/PID `course speedtest warm ...` run in the scratch course?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return b"speedtest" in argv and b"warm" in argv and os.readlink(f"/proc/{pid}/cwd") == str(root)
    except OSError:  # gone meanwhile, or not ours to read
        return False


def _warm_state(s: Scratch, test: str) -> str:
    """lifecycle.warm's state of the test's warm grader: "ready", "starting" or "" (no socket yet, or none)."""
    import course_dir
    from lifecycle import warm

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in s.env().items() if k.startswith("COURSE_")})
    try:
        return warm.state(course_dir.load(s.root), test)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def wait_warm_grader_ready(s: Scratch, test: str, limit_s: float = 300) -> None:
    """Wait until the test's warm grader (started by `open`) holds its slots, or has ended: a slot's set-up
    ends every process of the slot's user, so no other grading command should be starting meanwhile."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end and _warm_state(s, test) != "ready" and \
            any(_warm_grader(p, s.root) for p in os.listdir("/proc") if p.isdigit()):
        time.sleep(0.2)


def wait_warm_grader_gone(s: Scratch, limit_s: float = 300) -> None:
    """`course speedtest close` answers before the test's warm grader (started by `open`) has handed back its
    sandbox slots; wait for it to end, so that the next grading command does not start while a slot's
    processes are being cleaned up (that cleanup ends every process of the slot's user)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end and any(_warm_grader(p, s.root) for p in os.listdir("/proc") if p.isdigit()):
        time.sleep(0.2)
