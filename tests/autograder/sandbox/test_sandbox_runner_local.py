"""Runner semantics without isolation (no bubblewrap needed): ordering, outputs, probes, crashes, caps."""
from __future__ import annotations

import pytest
from sandbox_helpers import assert_valid_notebook, cell, stdout

from autograder.model import PROBE_MIME

PROBE = (f"from IPython.display import display\n"
         f"display({{{PROBE_MIME!r}: {{'target': 'f', 'value': 42}}}}, raw=True)\n")


def test_cells_run_in_order_and_outputs_are_captured(local_slot):
    out = local_slot.run_notebook([
        cell("a", "x = 2\nprint('one')"),
        cell("b", "print(x * 21)\nx"),
        cell("c", PROBE + "print('after probe')", kind="probe"),
    ], budget=60)
    assert [o.status for o in out] == ["ok", "ok", "ok"]
    assert stdout(out[0]) == "one\n"
    assert stdout(out[1]) == "42\n"
    assert out[1].outputs[-1]["output_type"] == "execute_result"
    assert out[1].outputs[-1]["data"]["text/plain"] == "2"
    assert out[2].probe_payloads == [{"target": "f", "value": 42}]
    assert all(PROBE_MIME not in o.get("data", {}) for o in out[2].outputs)
    assert all(o.duration >= 0 for o in out)
    assert_valid_notebook(out)


def test_error_message_is_the_exception_line(local_slot):
    out = local_slot.run_notebook([cell("a", "f(1)"), cell("b", "print('still runs')")], budget=60)
    assert out[0].status == "error"
    assert out[0].message == "NameError: name 'f' is not defined"
    assert out[1].status == "ok" and stdout(out[1]) == "still runs\n"


def test_state_does_not_leak_between_notebooks(local_slot):
    local_slot.run_notebook([cell("a", "secret_global = 1\nopen('left.txt', 'w').write('x')")], budget=60)
    out = local_slot.run_notebook([cell("a", "import os\nprint(os.path.exists('left.txt'))\nsecret_global")],
                                  budget=60)
    assert stdout(out[0]) == "False\n"
    assert out[0].status == "error" and out[0].message.startswith("NameError")


def test_env_is_clean(local_slot, monkeypatch):
    monkeypatch.setenv("COURSE_CANARY_DB_URL", "postgresql://grader:hunter2@db/course")
    out = local_slot.run_notebook([cell("a", "import os\nprint(sorted(os.environ))")], budget=60)
    assert "COURSE_CANARY" not in stdout(out[0])
    assert "OMP_NUM_THREADS" in stdout(out[0])


def test_crashes_restart_and_replay_student_cells(local_slot):
    out = local_slot.run_notebook([
        cell("c1", "def f(x):\n    return 2 * x\nprint('defined')"),
        cell("c2", "import os; os._exit(0)"),
        cell("c3", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
        cell("c4", "import ctypes; ctypes.string_at(0)"),
        cell("p", "print('probe ran')", kind="probe"),
        cell("c5", "print(f(21))"),
    ], budget=120)
    assert [o.status for o in out] == ["ok", "kernel_died", "kernel_died", "kernel_died", "ok", "ok"]
    assert out[1].message == "kernel died (exit code 0)"
    assert out[2].message == "kernel died (SIGKILL)"
    assert out[3].message == "kernel died (SIGSEGV)"
    assert stdout(out[5]) == "42\n"


def test_restarts_are_limited(local_slot):
    crash = "import os; os._exit(1)"
    from autograder.sandbox.limits import Limits

    backend = local_slot.backend
    old = backend.limits
    backend.limits = Limits(max_restarts=1)
    try:
        out = local_slot.run_notebook([cell(str(i), crash) for i in range(4)], budget=120)
    finally:
        backend.limits = old
    assert [o.status for o in out] == ["kernel_died", "kernel_died", "not_run", "not_run"]


@pytest.mark.slow
@pytest.mark.parametrize("source", [
    "while True: pass",
    "while True:\n    try:\n        while True: pass\n    except KeyboardInterrupt:\n        pass",
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass",
    "import time\ntime.sleep(1e6)",
])
def test_timeouts_then_next_cell_runs(local_slot, source):
    # 5 s: far more than a loaded machine needs to start the loop, so the timeout hits the loop itself
    out = local_slot.run_notebook([
        cell("a", "y = 5"), cell("loop", source, timeout=5.0), cell("b", "print(y)")], budget=120)
    assert out[1].status == "timeout", (out[1].status, out[1].message)
    assert out[1].message.startswith("timed out after 5 s")
    assert out[2].status == "ok" and stdout(out[2]) == "5\n"


def test_input_fails_fast_instead_of_blocking(local_slot):
    out = local_slot.run_notebook([cell("a", "input('name? ')", timeout=20), cell("b", "print(1)")], budget=60)
    assert out[0].status == "error" and "StdinNotImplementedError" in out[0].message
    assert out[1].status == "ok"


@pytest.mark.slow
def test_budget_is_a_hard_limit(local_slot):
    # a budget far below the cell's own timeout, and far above a loaded machine's kernel start
    loop = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    out = local_slot.run_notebook([cell("a", loop, timeout=1000), cell("b", "print(1)")], budget=20)
    assert out[0].status == "timeout" and "budget" in out[0].message
    assert out[1].status == "not_run"


def test_bad_budget_is_refused(local_slot):
    with pytest.raises(ValueError, match="budget"):
        local_slot.run_notebook([cell("a", "1")], budget=0)


def test_daemons_do_not_outlive_the_job(local_slot):
    import os
    import secrets

    tag = f"course-daemon-{secrets.token_hex(4)}"
    # the cell ends only once its double-forked daemon runs under the tag (it checks /proc itself)
    src = ("import os, time, sys\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
           f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)', {tag!r}])\n"
           "    os._exit(0)\n"
           "def running():\n    for p in filter(str.isdigit, os.listdir('/proc')):\n        try:\n"
           f"            if {tag!r}.encode() in open(f'/proc/{{p}}/cmdline', 'rb').read():\n                return True\n"
           "        except OSError:\n            pass\n    return False\n"
           "while not running():\n    time.sleep(0.02)\nprint('daemon running')")
    out = local_slot.run_notebook([cell("a", src, timeout=120)], budget=180)
    assert out[0].status == "ok" and stdout(out[0]) == "daemon running\n", (out[0].status, out[0].message)

    def alive() -> list[str]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if tag.encode() in f.read():
                        found.append(pid)
            except OSError:
                pass
        return found

    assert alive() == []


def test_a_dead_message_guard_costs_the_cell_not_the_notebook(local_slot):
    import threading

    from sandbox_helpers import wait_for

    started = local_slot.backend.job / "started"

    def kill_guard_once_the_cell_runs() -> None:
        wait_for(started.exists, what="the slow cell's start")
        local_slot.backend.guard.proc.kill()

    killer = threading.Thread(target=kill_guard_once_the_cell_runs)
    killer.start()
    out = local_slot.run_notebook([cell("a", "w = 3"),
                                   cell("slow", "open('started', 'w').close()\nimport time; time.sleep(300)", timeout=300),
                                   cell("b", "print(w)")], budget=400)
    killer.join()
    assert out[1].status == "error" and "message size cap" in out[1].message, (out[1].status, out[1].message)
    assert out[2].status == "ok" and stdout(out[2]) == "3\n"


def test_a_forked_worker_can_open_slots(local_slot):
    # Process pools fork workers after the parent may have used a slot (and its launcher thread).
    import os

    local_slot.run_notebook([cell("a", "1")], budget=60)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            from autograder.sandbox import open_slot

            with open_slot(sandbox=False) as slot:
                out = slot.run_notebook([cell("a", "print(6 * 7)")], budget=60)
            os.write(w, stdout(out[0]).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = b""
    while chunk := os.read(r, 100):
        got += chunk
    os.waitpid(pid, 0)
    assert got == b"42\n"
