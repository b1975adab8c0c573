"""course_cpu.CgroupCpu: the CPU of children nobody waits for is counted, and the group goes on close."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from course_cpu import CgroupCpu

# Burns 0.5 s of its own CPU time (not wall time), however loaded the machine is.
BURN = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"


def test_counts_a_detached_child_and_cleans_up():
    meter = CgroupCpu("test-course-cpu")
    if meter.group is None:
        pytest.skip("no cpuacct cgroup can be made here (not root, or cgroup v2)")
    group = meter.group
    try:
        before = meter.seconds()
        # the burner is a grandchild whose parent exits at once: nobody here waits for it, so rusage misses it
        subprocess.run([sys.executable, "-c", f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {BURN!r}])"],
                       check=True)
        procs = group / "cgroup.procs"
        deadline = time.monotonic() + 120
        while procs.read_text().split() != [str(os.getpid())] and time.monotonic() < deadline:
            time.sleep(0.05)  # until the burner has ended (the verdict does not depend on how long that takes)
        used = meter.seconds() - before
    finally:
        meter.close()
    assert used >= 0.5, used
    assert meter.seconds() is None and not group.exists()
