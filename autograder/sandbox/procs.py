"""Reading /proc on the host: namespace pids, processes of a uid."""
from __future__ import annotations

import contextlib
import os
import signal


def _status(pid: str) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def find_host_pid(ns_pid: int, ppid: int | None = None, among: set[int] | None = None) -> int | None:
    """Host pid of the process whose innermost-namespace pid is `ns_pid` (and whose parent is `ppid`)."""
    names = [str(p) for p in among] if among is not None else os.listdir("/proc")
    for name in names:
        if not name.isdigit():
            continue
        try:
            st = _status(name)
        except OSError:
            continue
        nspids = st.get("NSpid", "").split()
        if len(nspids) >= 2 and int(nspids[-1]) == ns_pid and (ppid is None or int(st["PPid"]) == ppid):
            return int(name)
    return None


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, KeyError, ValueError):
                parents[int(name)] = int(_status(name)["PPid"])
    out: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in out}
        out |= frontier
    return out


def pids_of_uid(uid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid or int(_status(name)["Uid"].split()[0]) == uid:
                out.append(int(name))
        except (OSError, KeyError, ValueError):
            continue
    return out


def kill_uid(uid: int, rounds: int = 50) -> None:
    """SIGKILL every process of `uid` (stale processes of a slot from a crashed runner)."""
    for _ in range(rounds):
        pids = pids_of_uid(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
