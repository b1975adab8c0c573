"""Where the sandbox lives on the host; every path can be overridden by an environment variable."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import autograder

USER_PREFIX = "course-sbx"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Config:
    bwrap: str
    state_dir: Path  # per-slot tmpfs mounts (job dir, /tmp, /dev/shm of the sandbox)
    lock_dir: Path  # per-slot flock files
    venv: Path  # the interpreter prefix the kernel runs (the runner's own venv)
    kernel_side: Path  # repository helpers bound read-only into the kernel
    zygote_file: Path
    slots: int
    zygote: bool  # fork kernels from a pre-imported parent (False: one fresh interpreter per kernel)
    preload: tuple[str, ...]  # modules the parent imports before forking
    memory_mib: int | None = None  # per-job memory cap (None: Limits' default)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def default_slots() -> int:
    return max(4, 2 * (os.cpu_count() or 1))


def _memory_mib() -> int | None:
    raw = os.environ.get("COURSE_SANDBOX_MEMORY_MIB")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 64:
        raise ValueError(f"COURSE_SANDBOX_MEMORY_MIB must be a whole number of MiB, at least 64; got {raw!r}")
    return int(raw)


def load() -> Config:
    pkg = Path(autograder.__file__).resolve().parent
    return Config(
        bwrap=_env("COURSE_SANDBOX_BWRAP", "/usr/bin/bwrap"),
        state_dir=Path(_env("COURSE_SANDBOX_STATE", "/var/lib/course-sandbox")),
        lock_dir=Path(_env("COURSE_SANDBOX_LOCKS", "/run/course-sandbox")),
        venv=Path(_env("COURSE_SANDBOX_VENV", sys.prefix)),
        kernel_side=pkg / "kernel_side",
        zygote_file=pkg / "sandbox" / "zygote.py",
        slots=int(_env("COURSE_SANDBOX_SLOTS", str(default_slots()))),
        zygote=_env("COURSE_SANDBOX_ZYGOTE", "1") != "0",
        preload=tuple(m for m in _env("COURSE_SANDBOX_PRELOAD", "numpy,torch,ipykernel.kernelapp").split(",")
                      if m),
        memory_mib=_memory_mib(),
    )


def slot_user(index: int) -> str:
    return f"{USER_PREFIX}{index}"
