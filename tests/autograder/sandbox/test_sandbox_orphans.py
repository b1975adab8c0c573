"""A grader killed with SIGKILL must not leave its kernel parent or kernels behind (no-sandbox mode:
nothing like bwrap's --die-with-parent or a PID namespace ends them otherwise)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

RUNNER = r"""
import os, signal, sys
from autograder.model import CellJob
from autograder.sandbox import open_slot
slot = open_slot(sandbox=False)
out = slot.run_notebook([CellJob("a", "import os; print(os.getpid())", "student", 60)], budget=120)
kernel = int(out[0].outputs[0]["text"].strip())
# a forked helper (a fork-started pool worker, say) inherits the runner's end of the control pipe,
# so the kernel parent never sees EOF when the runner dies
helper = os.fork()
if helper == 0:
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1); os.dup2(null, 2)
    import time; time.sleep(60); os._exit(0)
print(slot.backend.parent.proc.pid, kernel, helper, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_kernel_parent_and_kernel_die_with_a_killed_grader():
    proc = subprocess.run([sys.executable, "-c", RUNNER], check=False, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COURSE_SANDBOX_ZYGOTE": "1"})
    assert proc.returncode == -9, proc.stderr[-2000:]
    parent, kernel, helper = (int(x) for x in proc.stdout.split())
    deadline = time.monotonic() + 120  # generous: only a survivor uses it all
    while time.monotonic() < deadline and (_alive(parent) or _alive(kernel)):
        time.sleep(0.1)
    os.kill(helper, signal.SIGKILL)
    assert not _alive(parent), "the kernel parent outlived the killed grader"
    assert not _alive(kernel), "the kernel outlived the killed grader"
