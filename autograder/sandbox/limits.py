"""Resource limits of one grading job (one notebook run)."""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * GIB  # per job, memory cgroup (an address-space rlimit breaks `import torch`)
    pids: int = 256  # per job, pids cgroup (threads count too)
    tmpfs_bytes: int = 256 * MIB  # per slot: job dir + /tmp + /dev/shm together; also RLIMIT_FSIZE
    output_bytes_per_cell: int = 1 * MIB
    output_bytes_per_notebook: int = 5 * MIB
    probe_bytes_per_cell: int = 16 * MIB
    max_restarts: int = 3  # kernel restarts per notebook after crashes/kills
    kernel_start_timeout: float = 60.0  # seconds until a new kernel answers kernel_info
    kill_grace: float = 2.0  # seconds an interrupted cell gets to return before the kernel is killed

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if value is None or value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}")
