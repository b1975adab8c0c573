"""The slot's kernel parent serves one student after another: no kernel can see, read, change or kill it,
and a parent that dies or changes anyway costs the job it happened in, never the next student's."""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import threading

import pytest
from sandbox_helpers import cell, stdout, wait_for

from autograder.sandbox import bwrap, procs

pytestmark = pytest.mark.sandbox

KERNEL_CMDLINE = f"{bwrap.VENV}/bin/python\0-m\0ipykernel_launcher\0-f\0{bwrap.CONN}/kernel-"

LOOK_AROUND = """
import os, json, ctypes
libc = ctypes.CDLL(None, use_errno=True)
pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
res = {'pids': pids, 'me': os.getpid(), 'ppid': os.getppid(),
       'cmdlines': [open(f'/proc/{p}/cmdline', 'rb').read().decode('latin-1') for p in pids]}
try:
    open(f'/proc/{os.getppid()}/mem', 'rb').read(1)
    res['mem'] = 'read'
except OSError as e:
    res['mem'] = type(e).__name__
res['ptrace'] = libc.ptrace(16, os.getppid(), 0, 0)  # PTRACE_ATTACH
print(json.dumps(res))
"""

# Everything a process of the same uid may do to another without privileges, aimed at every process the
# kernel can name, and at all processes of its uid at once.
CHANGE_EVERYONE = """
import os, resource, json
done = []
attacks = {
    'as': lambda p: resource.prlimit(p, resource.RLIMIT_AS, (64 << 20, 64 << 20)),
    'nofile': lambda p: resource.prlimit(p, resource.RLIMIT_NOFILE, (8, 8)),
    'nproc': lambda p: resource.prlimit(p, resource.RLIMIT_NPROC, (1, 1)),
    'nice': lambda p: os.setpriority(os.PRIO_PROCESS, p, 19),
    'cpus': lambda p: os.sched_setaffinity(p, {0}),
    'stop': lambda p: os.kill(p, 19),
}
for p in sorted(int(x) for x in os.listdir('/proc') if x.isdigit()):
    for name, attack in attacks.items():
        if p != os.getpid():
            try:
                attack(p)
                done.append(f'{name} {p}')
            except OSError:
                pass
os.setpriority(os.PRIO_USER, os.getuid(), 19)
print(json.dumps(done))
"""

OWN_STATE = """
import os, resource, json
b = bytearray(256 << 20); b[::4096] = b'1' * len(b[::4096])
import torch
print(json.dumps([resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_NOFILE),
                  resource.getrlimit(resource.RLIMIT_NPROC), os.getpriority(os.PRIO_PROCESS, 0),
                  sorted(os.sched_getaffinity(0)), int(torch.ones(3).sum())]))
"""

KILL_EVERYONE = """
import os, signal
for p in sorted(int(x) for x in os.listdir('/proc') if x.isdigit()):
    if p != os.getpid():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            try:
                os.kill(p, sig)
            except OSError:
                pass
for target in (os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
print('still here')
"""


def parent_pid(slot) -> int:
    slot.run_notebook([cell("warm", "1")], budget=120)  # the parent starts with the first job
    pid = slot.backend.parent_host_pid
    assert pid is not None
    return pid


def test_kernel_sees_only_its_own_job(sbx_slot):
    host = parent_pid(sbx_slot)
    got = json.loads(stdout(sbx_slot.run_notebook([cell("a", LOOK_AROUND)], budget=120)[0]))
    # PID 1 is the kernel's own namespace init, PID 2 the kernel: the parent has no name it could use
    assert (got["pids"], got["me"], got["ppid"]) == ([1, 2], 2, 1), got
    assert all(c.startswith(KERNEL_CMDLINE) for c in got["cmdlines"]), got["cmdlines"]
    assert got["mem"] == "PermissionError" and got["ptrace"] == -1, got
    # the parent itself is not dumpable: its /proc files belong to root, not to the slot uid
    assert os.stat(f"/proc/{host}/environ").st_uid == 0
    assert sbx_slot.backend.parent_host_pid == host


def test_a_kernel_cannot_change_the_next_students_parent(sbx_slot):
    host = parent_pid(sbx_slot)
    before = sbx_slot.backend.parent_print
    attacker = sbx_slot.run_notebook([cell("a", CHANGE_EVERYONE), cell("b", "print('attacker done')")], budget=120)
    assert [o.status for o in attacker] == ["ok", "ok"], [(o.status, o.message) for o in attacker]
    done = json.loads(stdout(attacker[0]))
    assert all(d.endswith(" 1") for d in done), done  # only the job's own namespace init could be hit
    victim = sbx_slot.run_notebook([cell("v", OWN_STATE)], budget=180)
    assert victim[0].status == "ok", (victim[0].status, victim[0].message)
    as_, nofile, nproc, nice, cpus, total = json.loads(stdout(victim[0]))
    inf = resource.RLIM_INFINITY
    assert as_ == [inf, inf] and nofile == [1024, 1024] and nproc[0] > 1 and total == 3
    assert nice == int(before["nice"]) and cpus == sorted(os.sched_getaffinity(0))
    assert sbx_slot.backend.parent_host_pid == host and sbx_slot.backend.parent_print == before


def test_a_kernel_cannot_kill_its_parent_and_is_graded(sbx_slot):
    host = parent_pid(sbx_slot)
    out = sbx_slot.run_notebook([cell("a", KILL_EVERYONE), cell("b", "print(6 * 7)")], budget=120)
    assert [o.status for o in out] == ["ok", "ok"], [(o.status, o.message) for o in out]
    assert stdout(out[0]) == "still here\n" and stdout(out[1]) == "42\n"
    assert sbx_slot.backend.parent_host_pid == host


def test_a_parent_that_dies_during_a_job_costs_that_job_and_the_next_gets_a_fresh_one(sbx_slot):
    host = parent_pid(sbx_slot)
    started = sbx_slot.backend.paths.job / "started"

    def kill_parent_once_the_cell_runs() -> None:
        wait_for(started.exists, what="the cell's start")
        os.kill(host, signal.SIGKILL)

    killer = threading.Thread(target=kill_parent_once_the_cell_runs)
    killer.start()
    out = sbx_slot.run_notebook([cell("a", "open('started', 'w').close()\nimport time\ntime.sleep(300)", timeout=300),
                                 cell("b", "print(1)")], budget=400)
    killer.join()
    assert [o.status for o in out] == ["kernel_died", "kernel_died"], [(o.status, o.message) for o in out]
    assert all(o.message == "kernel died: the kernel parent exited during this notebook" for o in out)
    after = sbx_slot.run_notebook([cell("a", "print('next student')")], budget=120)
    assert after[0].status == "ok" and stdout(after[0]) == "next student\n"
    assert sbx_slot.backend.parent_host_pid not in (None, host)


def _as_slot_user(slot, *argv: str) -> None:
    """Run a command as the slot uid on the host, where the parent's pid can be named."""
    b = slot.backend
    subprocess.run(["setpriv", f"--reuid={b.uid}", f"--regid={b.gid}", "--clear-groups", *argv], check=True)


@pytest.mark.parametrize("change", ["rlimit", "nice", "stopped"])
def test_a_parent_changed_from_outside_is_replaced_before_the_next_job(sbx_slot, change):
    host = parent_pid(sbx_slot)
    nice = int(sbx_slot.backend.parent_print["nice"])
    if change == "rlimit":  # what the kernels could do before they had their own PID namespace
        _as_slot_user(sbx_slot, "prlimit", f"--pid={host}", "--nofile=64:64", "--as=100000000")
    elif change == "nice":
        _as_slot_user(sbx_slot, "renice", "-n", str(nice + 5), "-p", str(host))
    else:
        os.kill(host, signal.SIGSTOP)
        wait_for(lambda: procs.fingerprint(host)["stopped"] == "True", what="the parent's stop")
    out = sbx_slot.run_notebook([cell("v", OWN_STATE)], budget=180)
    assert out[0].status == "ok", (out[0].status, out[0].message)
    as_, nofile, _nproc, got_nice, _cpus, _total = json.loads(stdout(out[0]))
    assert as_ == [resource.RLIM_INFINITY] * 2 and nofile == [1024, 1024] and got_nice == nice
    assert sbx_slot.backend.parent_host_pid != host
