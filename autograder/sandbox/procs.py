"""Reading /proc on the host: namespace pids, processes of a uid."""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable


def _status(pid: str) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def _first(names: Iterable[str], match: Callable[[dict[str, str]], bool]) -> int | None:
    """The first of the host pids `names` whose /proc status matches (a process gone meanwhile is skipped)."""
    for name in names:
        if not name.isdigit():
            continue
        try:
            st = _status(name)
        except OSError:
            continue
        if match(st):
            return int(name)
    return None


def _nspids(st: dict[str, str]) -> list[int]:
    return [int(x) for x in st.get("NSpid", "").split()]


def find_host_pid(ns_pid: int, ppid: int | None = None, among: set[int] | None = None) -> int | None:
    """Host pid of the process whose innermost-namespace pid is `ns_pid` (and whose parent is `ppid`)."""
    def match(st: dict[str, str]) -> bool:
        ns = _nspids(st)
        return len(ns) >= 2 and ns[-1] == ns_pid and (ppid is None or int(st["PPid"]) == ppid)

    return _first([str(p) for p in among] if among is not None else os.listdir("/proc"), match)


def is_dead(pid: int) -> bool:
    """The process is gone, or a zombie (dead, not yet reaped by its parent)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")


def children(pid: int) -> list[str] | None:
    """Host pids of `pid`'s children, from its threads' /proc children lists (None where the kernel lacks them)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    out: list[str] = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += f.read().split()
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return out


def find_child(host_ppid: int, pid_in_parent_ns: int) -> int | None:
    """Host pid of the child of `host_ppid` that has pid `pid_in_parent_ns` in its parent's namespace
    (the child may be the first process of a namespace of its own)."""
    try:
        level = len(_status(str(host_ppid)).get("NSpid", "").split()) - 1
    except OSError:
        return None
    kids = children(host_ppid)  # a few entries, not every process of the machine

    def match(st: dict[str, str]) -> bool:
        ns = _nspids(st)
        return st.get("PPid") == str(host_ppid) and len(ns) > level and ns[level] == pid_in_parent_ns

    return _first(kids if kids is not None else os.listdir("/proc"), match)


def fingerprint(pid: int) -> dict[str, str]:
    """What another process of the same uid could change about `pid`, and its children would inherit:
    rlimits, nice, scheduling policy, CPU and memory-node affinity; and whether it is stopped (or
    being traced). Raises OSError if it is gone."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rfind(b")") + 2:].decode().split()
    st = _status(str(pid))
    with open(f"/proc/{pid}/limits") as f:
        limits = f.read()
    return {"stopped": str(fields[0] in ("T", "t")), "nice": fields[16], "policy": fields[38], "rt_priority": fields[37],
            "cpus": st.get("Cpus_allowed_list", ""), "mems": st.get("Mems_allowed_list", ""), "limits": limits}


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
            owner = os.stat(f"/proc/{name}").st_uid
            # /proc/PID belongs to the effective uid, or to root when the process is not dumpable: only
            # those are read further (their real uid)
            if owner == uid or (owner == 0 and int(_status(name)["Uid"].split()[0]) == uid):
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
        time.sleep(0.01)  # dying takes a moment (a torch-sized address space): not a scan of /proc per microsecond
