"""The demo's scratch course: a fresh directory per run, the course's files copied in, the students' unix
accounts (created once, reused by every run), and `course` run as a subprocess in it."""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from demo.timing import Clock

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
        with self.clock.step(f"course {' '.join(argv)}"):
            proc = subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=self.root, env=self.env(),
                                  text=True, check=False, timeout=1800,
                                  **({} if live else {"capture_output": True}))
        last = self.clock.last()
        print(f"[demo] {last.name}  ({last.wall_s:.1f} s, CPU {last.cpu_s:.1f} s)", flush=True)
        if proc.returncode != 0:
            tail = "" if live else (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            raise DemoError(f"course {' '.join(argv)} failed (exit {proc.returncode}): {' '.join(tail)}")
        return proc.stdout or ""


def fresh(base: Path, clock: Clock) -> Scratch:
    """Empty `base` (only a directory an earlier demo made) and copy the course into it."""
    if base.exists():
        if not (base / MARKER).exists():
            raise DemoError(f"{base} exists and is not a demo directory: choose another with --dir")
        shutil.rmtree(base)
    s = Scratch(base, clock)
    for p in (base, s.homes):
        p.mkdir(parents=True)
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


def start_student(s: Scratch, student: str, items: list[str]) -> subprocess.Popen:
    """The student's fetch and submit, run with their own uid (runuser), nothing inherited from root."""
    home = s.homes / student
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(["runuser", "-u", student, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                             sys.executable, "-m", "demo.student", str(s.exchange), str(home),
                             str(s.base / "work" / student), *items],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group: stop_student ends all of it


def stop_student(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def finish_student(proc: subprocess.Popen, student: str, items: list[str]) -> None:
    _, err = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise DemoError(f"{student} could not submit {' '.join(items)}: {last}")


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
