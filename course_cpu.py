"""CPU seconds of this process and of everything it starts from now on, by a cpuacct cgroup of its own.

rusage counts only the children a process has waited for; the sandboxed kernels and the speed test's detached
warm grader are nobody's waited-for children, so the demo and the benchmarks measure by a group nested in the
process's current one. Unavailable (None) where no such group can be made: not root, or cgroup v2, where the
sandbox moves kernels into per-job groups of its own."""
from __future__ import annotations

import os
import time
from pathlib import Path


class CgroupCpu:
    def __init__(self, name: str = "course-cpu") -> None:
        self.group: Path | None = None
        try:
            line = next(x for x in Path("/proc/self/cgroup").read_text().splitlines()
                        if "cpuacct" in x.split(":")[1].split(","))
            parent = Path("/sys/fs/cgroup/cpuacct") / line.split(":", 2)[2].lstrip("/")
            group = parent / f"{name}-{os.getpid()}"
            group.mkdir(exist_ok=True)
            (group / "cgroup.procs").write_text(str(os.getpid()))
            self.group = group
        except (OSError, StopIteration, IndexError):
            pass

    def seconds(self) -> float | None:
        if self.group is None:
            return None
        return int((self.group / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """This process back to its parent group; the group goes once its last process has ended."""
        if self.group is None:
            return
        try:
            (self.group.parent / "cgroup.procs").write_text(str(os.getpid()))
            for _ in range(50):
                try:
                    self.group.rmdir()
                    break
                except OSError:  # a process of the run is still ending
                    time.sleep(0.1)
        except OSError:
            pass
        self.group = None
