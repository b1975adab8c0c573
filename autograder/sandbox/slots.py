"""Worker-slot allocation: an exclusive flock on a per-slot lock file.

Local process pools and Dask workers on one machine thereby never share a slot (and its uid). The lock
dies with the process that holds it, so a crashed worker frees its slot.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from autograder.model import InfrastructureError


def acquire(lock_dir: Path, count: int, timeout: float = 600.0) -> tuple[int, int]:
    """Lock a free slot; returns (index, fd). Waits up to `timeout` seconds when all are busy."""
    if count < 1:
        raise InfrastructureError(f"no sandbox slots configured in {lock_dir}")
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # /run is emptied at boot
    deadline = time.monotonic() + timeout
    start = os.getpid() % count  # spread concurrent workers over the slots
    while True:
        for k in range(count):
            index = (start + k) % count
            fd = os.open(lock_dir / f"slot{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return index, fd
        if time.monotonic() >= deadline:
            raise InfrastructureError(f"all {count} sandbox slots stayed busy for {timeout:g} s")
        time.sleep(0.05)


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
