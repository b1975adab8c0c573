"""Where the demo's time goes: wall and CPU seconds per step, grouped into the term's stages.

CPU is the demo process's own time plus that of every child it has waited for (the `course` commands, the
students' processes and what they waited for in turn: grading workers, sandboxed kernels), so it stays
meaningful on a machine that other work loads: wall time grows with the load, CPU time barely does."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from course_cpu import CgroupCpu


def cpu_now() -> float:
    """CPU seconds (user + system) of this process and of its waited-for descendants so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass(frozen=True)
class Step:
    stage: str
    name: str
    wall_s: float
    cpu_s: float


@dataclass
class Clock:
    """The steps of one run; `stage` names the stage the steps recorded inside it belong to. A stage's CPU is
    everything's (the cgroup, when there is one); a step's is its own processes' (rusage)."""
    steps: list[Step] = field(default_factory=list)
    stages: list[Step] = field(default_factory=list)
    current: str = "set-up"
    meter: CgroupCpu | None = None

    def _cpu_all(self) -> float:
        seconds = self.meter.seconds() if self.meter is not None else None
        return cpu_now() if seconds is None else seconds

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        wall, cpu = time.monotonic(), cpu_now()
        try:
            yield
        finally:
            self.steps.append(Step(self.current, name, time.monotonic() - wall, cpu_now() - cpu))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        outer, self.current = self.current, name
        wall, cpu = time.monotonic(), self._cpu_all()
        try:
            yield
        finally:
            self.stages.append(Step(name, name, time.monotonic() - wall, self._cpu_all() - cpu))
            self.current = outer

    def add(self, name: str, wall_s: float, cpu_s: float) -> Step:
        step = Step(self.current, name, wall_s, cpu_s)
        self.steps.append(step)
        return step


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # of this child and its waited-for descendants only, even while others run beside it


class Child:
    """A subprocess whose own CPU time is known when it ends (wait4), its output in files (no pipe to drain);
    `session`: in a process group of its own, ended whole by kill()."""

    def __init__(self, argv: list[str], *, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                 capture: bool = True, session: bool = False) -> None:
        # closed by wait(), which reads them once the child has ended
        self._files = (tempfile.TemporaryFile(), tempfile.TemporaryFile()) if capture else (None, None)  # noqa: SIM115
        self._session = session
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._files[0], stderr=self._files[1],
                                     start_new_session=session)

    def wait(self, limit_s: float = 1800) -> Finished:
        timer = threading.Timer(limit_s, self._end)
        timer.start()
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
        finally:
            timer.cancel()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - self.start
        out, err = (self._read(f) for f in self._files)
        return Finished(self.proc.returncode, out, err, wall, usage.ru_utime + usage.ru_stime)

    @staticmethod
    def _read(f) -> str:
        if f is None:
            return ""
        with f:
            f.seek(0)
            return f.read().decode(errors="replace")

    def _end(self) -> None:
        try:
            if self._session:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """End it (and its process group) unless it has ended and been waited for."""
        if self.proc.returncode is None:
            self._end()
            self.wait()
