"""Where the demo's time goes: wall and CPU seconds per step, grouped into the term's stages.

CPU is the demo process's own time plus that of every child it has waited for (the `course` commands, the
students' processes and what they waited for in turn: grading workers, sandboxed kernels), so it stays
meaningful on a machine that other work loads: wall time grows with the load, CPU time barely does."""
from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


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
    """The steps of one run; `stage` names the stage the steps recorded inside it belong to."""
    steps: list[Step] = field(default_factory=list)
    stages: list[Step] = field(default_factory=list)
    current: str = "set-up"

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
        wall, cpu = time.monotonic(), cpu_now()
        try:
            yield
        finally:
            self.stages.append(Step(name, name, time.monotonic() - wall, cpu_now() - cpu))
            self.current = outer

    def last(self) -> Step:
        return self.steps[-1]
