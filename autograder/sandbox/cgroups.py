"""Per-job memory + pids (+ freezer) cgroups, v1 (separate hierarchies) or v2 (unified), as root."""
from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "freezer")


def is_v2(root: Path = ROOT) -> bool:
    return (root / "cgroup.controllers").exists()


def available(root: Path = ROOT) -> str | None:
    """None when per-job cgroups can be made here, else what is missing."""
    if is_v2(root):
        ctrl = (root / "cgroup.controllers").read_text().split()
        missing = [c for c in ("memory", "pids") if c not in ctrl]
        return f"cgroup v2 lacks controllers {missing}" if missing else None
    missing = [c for c in V1_CONTROLLERS if not (root / c / "cgroup.procs").exists()]
    return f"cgroup v1 controllers not mounted under {root}: {', '.join(missing)}" if missing else None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


class JobCgroup:
    """A cgroup `<name>` in each needed hierarchy; processes added to it and all their children are capped."""

    def __init__(self, name: str, root: Path = ROOT) -> None:
        self.v2 = is_v2(root)
        if self.v2:
            self.dirs = {"all": root / name}
        else:
            self.dirs = {c: root / c / name for c in V1_CONTROLLERS}
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        if self.v2:
            # controllers must be enabled in every ancestor's subtree_control
            parent = root
            for part in Path(name).parts[:-1]:
                with contextlib.suppress(OSError):
                    _write(parent / "cgroup.subtree_control", "+memory +pids")
                parent = parent / part
            with contextlib.suppress(OSError):
                _write(parent / "cgroup.subtree_control", "+memory +pids")

    def _dir(self, controller: str) -> Path:
        return self.dirs["all"] if self.v2 else self.dirs[controller]

    def set_limits(self, memory_bytes: int, pids: int) -> None:
        if self.v2:
            _write(self._dir("memory") / "memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(self._dir("memory") / "memory.swap.max", "0")
        else:
            mem = self._dir("memory")
            memsw = mem / "memory.memsw.limit_in_bytes"  # only when swap accounting is on
            # v1 wants memory <= memsw at every step: raise memsw first, lower it last
            if memsw.exists():
                with contextlib.suppress(OSError):
                    _write(memsw, str(memory_bytes))
            _write(mem / "memory.limit_in_bytes", str(memory_bytes))
            if memsw.exists():
                with contextlib.suppress(OSError):
                    _write(memsw, str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(mem / "memory.swappiness", "0")
        _write(self._dir("pids") / "pids.max", str(pids))

    def add(self, pid: int) -> None:
        for d in self.dirs.values():
            _write(d / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs.values():
            with contextlib.suppress(OSError):
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        return sorted(out)

    def oom_kills(self) -> int:
        """How many processes the memory controller has killed in this cgroup so far."""
        return _counter(self._dir("memory") / ("memory.events" if self.v2 else "memory.oom_control"), "oom_kill")

    def pids_limit_hits(self) -> int:
        """How many forks or new threads the pids controller has refused in this cgroup so far."""
        return _counter(self._dir("pids") / "pids.events", "max")

    def kill_all(self, timeout: float = 300.0) -> bool:
        """Kill every process in the cgroup and wait until it is empty; False if some survived `timeout`.

        Dying is not instant: each process of a fork bomb tears down a torch-sized address space, which
        takes seconds for hundreds of them on a loaded machine. The timeout only bounds a process that
        cannot die at all."""
        deadline = time.monotonic() + timeout
        if self.v2 and (self._dir("pids") / "cgroup.kill").exists():
            _write(self._dir("pids") / "cgroup.kill", "1")
        else:
            while self.pids() and time.monotonic() < deadline:
                killed = self._freeze_and_kill(deadline)
                # wait for those to go; only newcomers (forked before the freeze took) need another round
                while set(self.pids()) & killed and time.monotonic() < deadline:
                    time.sleep(0.01)
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.pids()

    def _freeze_and_kill(self, deadline: float) -> set[int]:
        """Frozen, a fork bomb cannot add processes while we list them; each gets SIGKILL, then all thaw."""
        freezer = None if self.v2 else self._dir("freezer") / "freezer.state"
        if freezer is not None:
            _write(freezer, "FROZEN")
            freeze_by = min(deadline, time.monotonic() + 5.0)  # a task inside exit() may never report frozen
            while freezer.read_text().strip() != "FROZEN" and time.monotonic() < freeze_by:
                time.sleep(0.001)
        pids = set(self.pids())
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if freezer is not None:
            _write(freezer, "THAWED")
        return pids

    def remove(self) -> None:
        for d in self.dirs.values():
            with contextlib.suppress(OSError):
                d.rmdir()


def _counter(path: Path, name: str) -> int:
    """The value of line `name` of a cgroup's "key value" events file; 0 where there is none."""
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    except OSError:
        pass
    return 0
