"""Hostile cells in the sandbox (A09–A14, A16: crashes, loops, memory, fork and output bombs, full disks)."""
from __future__ import annotations

import json
import threading

import pytest
from sandbox_helpers import (
    assert_valid_notebook,
    cell,
    live_processes_of_uid,
    run_measured,
    sandbox_or_skip,
    stdout,
)

from autograder.model import PROBE_MIME
from autograder.sandbox import Limits, bwrap, open_slot

pytestmark = pytest.mark.sandbox

SIG_IGN_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
LOOP_TIMEOUT = 5.0  # cell timeout of the loops: far above the time a loaded machine needs to start a cell
# A child is OOM-killed, then the cell loops past its timeout. SIGINT is ignored from the start, so the
# interrupt cannot cut the wait short; OOM_TIMEOUT leaves a loaded machine ample time to fault in 1 GiB.
OOM_THEN_LOOP = ("import os, signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\npid = os.fork()\n"
                 "if pid == 0:\n    b = b'x' * (3 << 30)\n    os._exit(0)\nos.waitpid(pid, 0)\nwhile True: pass")
OOM_TIMEOUT = 60.0


def test_a09_crashes_cost_only_their_cell(sbx_slot):
    out = sbx_slot.run_notebook([
        cell("c1", "def f(x):\n    return x + 1"),
        cell("c2", "import os; os._exit(0)"),
        cell("c3", "import os; os.kill(os.getpid(), 9)"),
        cell("c4", "import ctypes; ctypes.string_at(0)"),
        cell("c5", "print(f(41))"),
    ], budget=120)
    assert [o.status for o in out] == ["ok", "kernel_died", "kernel_died", "kernel_died", "ok"]
    assert [o.message for o in out[1:4]] == ["kernel died (exit code 0)", "kernel died (SIGKILL)",
                                            "kernel died (SIGSEGV)"]
    assert stdout(out[4]) == "42\n"


@pytest.mark.slow
def test_a10_loops_time_out_and_later_cells_run(sbx_slot):
    # The timeout must hit the loop itself, after its first statement (SIG_IGN) ran: LOOP_TIMEOUT leaves
    # a loaded machine seconds for that, and no assert depends on how long anything took.
    cells = [cell("a", "z = 7")]
    loops = ["while True: pass",
             "while True:\n    try:\n        while True: pass\n    except KeyboardInterrupt:\n        pass",
             SIG_IGN_LOOP, "import time\ntime.sleep(1e6)"]
    cells += [cell(f"loop{i}", src, timeout=LOOP_TIMEOUT) for i, src in enumerate(loops)]
    cells += [cell("input", "input()", timeout=60), cell("b", "print(z)")]
    budget = 180
    out = sbx_slot.run_notebook(cells, budget=budget)
    assert [o.status for o in out] == ["ok", "timeout", "timeout", "timeout", "timeout", "error", "ok"], \
        [(o.status, o.message) for o in out]
    assert out[1].message == f"timed out after {LOOP_TIMEOUT:g} s (interrupted)"
    assert out[3].message == f"timed out after {LOOP_TIMEOUT:g} s (kernel killed)"
    assert "StdinNotImplementedError" in out[5].message  # allow_stdin=False: fails at once, never blocks
    assert stdout(out[6]) == "7\n"


@pytest.mark.slow
def test_a11_memory_cap_kills_the_kernel_and_grading_goes_on():
    sandbox_or_skip()
    # Every cell that fills memory gets OOM_TIMEOUT: a bomb still faulting pages in at its timeout would
    # rightly be a timeout, and the cap must be met long before that on a loaded machine.
    with open_slot(sandbox=True, limits=Limits(memory_bytes=512 << 20, max_restarts=5)) as slot:
        out = slot.run_notebook([
            cell("a", "keep = 3"),
            cell("bytes", "b = b'x' * (3 << 30)", timeout=OOM_TIMEOUT),
            cell("torch", "import torch\nt = torch.empty(3 << 30, dtype=torch.uint8).fill_(1)", timeout=OOM_TIMEOUT),
            cell("zeros", "b = bytearray(3 << 30)\nprint(len(b))", timeout=OOM_TIMEOUT),
            cell("b", "print(keep)"),
            # the OOM kill comes first, the timeout later: the verdict follows the cgroup's OOM record,
            # whichever of the two the runner noticed first
            cell("oom_then_loop", OOM_THEN_LOOP, timeout=OOM_TIMEOUT),
            cell("c", "print(keep + 1)"),
        ], budget=600)
    oom = ("memory", "killed: out of memory (limit 0.5 GiB)")
    assert [(o.status, o.message) for o in out[1:4]] == [oom] * 3, [(o.status, o.message) for o in out]
    assert out[0].status == "ok" and out[4].status == "ok" and stdout(out[4]) == "3\n"
    assert (out[5].status, out[5].message) == oom
    assert out[6].status == "ok" and stdout(out[6]) == "4\n"


@pytest.mark.slow
def test_a12_fork_and_thread_bombs_are_capped_while_another_slot_grades():
    sandbox_or_skip()
    limits = Limits(pids=64)
    fork_bomb = ("import os, time, json\nn = 0\n"
                 "for _ in range(10000):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
                 "    if pid == 0:\n        time.sleep(120)\n        os._exit(0)\n    n += 1\nprint(json.dumps(n))")
    thread_bomb = ("import threading, time, json\nn = 0\n"
                   "for _ in range(10000):\n    try:\n"
                   "        threading.Thread(target=time.sleep, args=(120,), daemon=True).start()\n"
                   "    except RuntimeError:\n        break\n    n += 1\nprint(json.dumps(n))")
    exp_bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    control = [cell("a", "import torch\nx = torch.arange(10).sum().item()"), cell("b", "print(x)")]
    results: dict[str, object] = {}

    def victim() -> None:
        with open_slot(sandbox=True) as slot:
            results["control"] = [slot.run_notebook(control, budget=120) for _ in range(3)]

    with open_slot(sandbox=True, limits=limits) as bomb_slot:
        t = threading.Thread(target=victim)
        t.start()
        bombs = bomb_slot.run_notebook([cell("fork", fork_bomb), cell("thread", thread_bomb),
                                        cell("exp", exp_bomb, timeout=LOOP_TIMEOUT)], budget=120)
        t.join(300)
        uid = bomb_slot.backend.uid
        left = live_processes_of_uid(uid, most=3)
        assert len(left) <= 3, left  # bwrap, its init and the kernel parent
    limit = f"process limit reached ({limits.pids} processes and threads)"
    for bomb in bombs[:2]:  # the cell caught the failure itself: ok, with the cause in its message
        assert bomb.status == "ok" and bomb.message == limit, (bomb.status, bomb.message)
        assert json.loads(bomb.outputs[0]["text"]) < limits.pids
        assert bomb.outputs[-1]["text"] == f"[{limit}: forks and new threads failed]\n"
    assert bombs[2].status == "timeout" and bombs[2].message.startswith(limit), bombs[2].message
    for run in results["control"]:
        assert [o.status for o in run] == ["ok", "ok"] and stdout(run[1]) == "45\n"


@pytest.mark.slow
def test_messages_over_64_kib_arrive_while_the_process_limit_is_full():
    # A kernel sends a message with a frame over 64 KiB zero-copy, through a helper thread it starts on
    # first use: with the job's process limit full, that thread cannot start and the message is lost.
    sandbox_or_skip()
    limits = Limits(pids=64)
    fill = ("import os\nn = 0\nwhile True:\n    try:\n        os.posix_spawn('/usr/bin/sleep', ['sleep', '600'], {})\n"
            "    except OSError:\n        break\n    n += 1\nprint(n)")
    big_probe = f"from IPython.display import display\ndisplay({{{PROBE_MIME!r}: {{'x': 'z' * (200 << 10)}}}}, raw=True)"
    zero_copy = "get_ipython().kernel.session.copy_threshold = 1 << 16  # the default, which the kernel changes"
    with open_slot(sandbox=True, limits=limits) as slot:
        out = slot.run_notebook([cell("fill", fill), cell("big", "print('B' * (100 << 10))"),
                                 cell("p1", big_probe, kind="probe"), cell("zc", zero_copy),
                                 cell("p2", big_probe, kind="probe")], budget=180)
    limit = f"process limit reached ({limits.pids} processes and threads)"
    assert out[0].status == "ok" and out[0].message == limit, (out[0].status, out[0].message)
    assert out[1].status == "ok" and stdout(out[1]) == "B" * (100 << 10) + "\n", (out[1].status, out[1].message)
    assert out[2].status == "ok" and [len(p["x"]) for p in out[2].probe_payloads] == [200 << 10]
    # where student code forces the zero-copy path anyway, the runner names the cause, not "no result"
    assert out[4].status == "error" and out[4].message == f"{limit}: the result could not be sent", \
        (out[4].status, out[4].message)
    assert out[4].probe_payloads == []


def payload_bytes(outputs: list[dict]) -> int:
    """What the caps count: UTF-8 text of streams, the JSON of everything else."""
    return sum(len(o["text"].encode("utf-8")) if o["output_type"] == "stream"
               else len(json.dumps(o, ensure_ascii=False).encode("utf-8")) for o in outputs)


@pytest.mark.parametrize("sandboxed", [False, True], ids=["local", "sandbox"])
def test_a14_output_bombs_are_capped_while_received(sandboxed):
    if sandboxed:
        sandbox_or_skip()
    png = ("from IPython.display import display\nimport base64\n"
           "display({'image/png': base64.b64encode(b'\\x89PNG' + b'\\0' * (50 << 20)).decode()}, raw=True)")
    grown_kib, limits, out = run_measured(sandboxed, [
        ("line", "print('x' * 100_000_000)", 60),
        ("lines", "for i in range(200_000): print(i)", 60),
        ("png", png, 60),
        ("ctrl", "print('\\x1b[31mred\\x1b[0m \\x00\\x07\\x08 bell')\nprint('\\udcff lone')", 60),
        ("after", "print('fine')", 60),
    ], budget=180)
    assert [o.status for o in out] == ["ok"] * 5, [(o.status, o.message) for o in out]
    total = 0
    for o in out[:3]:
        size = payload_bytes(o.outputs)
        total += size
        assert size <= limits.output_bytes_per_cell + 4096, (o.key, size)
        assert "[output truncated" in o.outputs[-1]["text"], o.key
    text = stdout(out[3])
    json.dumps(out[3].outputs, ensure_ascii=False).encode("utf-8")  # valid UTF-8: no lone surrogate left
    assert "\x1b[31mred" in text and "\x00" not in text and "\x07" not in text
    assert stdout(out[4]) == "fine\n"
    assert total <= limits.output_bytes_per_notebook
    assert_valid_notebook(out)
    # 100 MB of text and a 50 MB image went through the runner: its peak grows by far less
    assert grown_kib < 80 * 1024, f"runner peak RSS grew by {grown_kib} KiB"


def test_rng_is_reseeded_per_kernel(sbx_slot):
    src = "import torch, numpy, random, json\nprint(json.dumps([torch.rand(1).item(), numpy.random.rand(), random.random()]))"
    a = json.loads(stdout(sbx_slot.run_notebook([cell("a", src)], budget=60)[0]))
    b = json.loads(stdout(sbx_slot.run_notebook([cell("a", src)], budget=60)[0]))
    assert all(x != y for x, y in zip(a, b)), (a, b)


def test_gpu_devices_are_passed_through():
    import os

    if not os.path.exists("/dev/nvidia0"):
        pytest.skip("no /dev/nvidia0 on this machine: the GPU pass-through cannot be exercised")
    sandbox_or_skip()
    with open_slot(sandbox=True, gpu=True) as slot:
        out = slot.run_notebook([cell("a", "import torch\nprint(torch.cuda.is_available())")], budget=120)
    assert stdout(out[0]) == "True\n"


@pytest.mark.slow
def test_full_disks_do_not_block_a_kernel_restart(sbx_slot):
    fill = (f"import os\nfor d in ({bwrap.JOB!r}, {bwrap.CONN!r}):\n    i = 0\n    try:\n"
            "        while True:\n            open(f'{d}/f{i}', 'wb').write(b'x' * (1 << 20)); i += 1\n"
            "    except OSError:\n        pass\n"
            "    try:\n        while True:\n            open(f'{d}/e{i}', 'wb'); i += 1\n"
            "    except OSError:\n        pass")
    out = sbx_slot.run_notebook([cell("a", "v = 11"), cell("fill", fill, timeout=60),
                                 cell("crash", "import os; os._exit(1)"), cell("b", "print(v)")], budget=120)
    assert [o.status for o in out] == ["ok", "ok", "kernel_died", "ok"], [(o.status, o.message) for o in out]
    assert stdout(out[3]) == "11\n"


def test_slot_outlives_the_thread_that_opened_it():
    # bwrap --die-with-parent fires when the forking *thread* ends (Dask and pools run tasks in threads).
    sandbox_or_skip()
    box: dict = {}

    def opener() -> None:
        box["slot"] = open_slot(sandbox=True)
        box["out"] = box["slot"].run_notebook([cell("a", "print(1)")], budget=60)

    t = threading.Thread(target=opener)
    t.start()
    t.join(120)
    slot = box["slot"]
    try:
        pid = slot.backend.parent.proc.pid
        out = slot.run_notebook([cell("a", "print(2)")], budget=60)
        assert stdout(out[0]) == "2\n"
        assert slot.backend.parent.proc.pid == pid  # the same parent: it was not killed and restarted
    finally:
        slot.close()


@pytest.mark.parametrize("sandboxed", [False, True], ids=["local", "sandbox"])
@pytest.mark.timeout(1500)
def test_multipart_message_bomb_does_not_reach_the_runner(sandboxed):
    # ZMQ_MAXMSGSIZE caps frames, not messages: 60 x 8 MiB frames of one buffer cost the kernel 8 MiB.
    if sandboxed:
        sandbox_or_skip()
    bomb = ("k = get_ipython().kernel\nbig = b'x' * (8 << 20)\n"
            "k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'hi'}, parent=k.get_parent(),"
            " buffers=[big] * 60)")
    # 480 MiB through ZMQ takes minutes on a loaded machine: the cell limits only catch a hang
    grown_kib, _limits, out = run_measured(sandboxed, [("a", "v = 5", 300), ("bomb", bomb, 300),
                                                       ("b", "print(v)", 300)], budget=900)
    assert out[1].status in ("ok", "error"), (out[1].status, out[1].message)
    assert out[2].status == "ok" and stdout(out[2]) == "5\n"
    # 480 MiB were sent at the runner: its peak grows by far less
    assert grown_kib < 100 * 1024, f"runner peak RSS grew by {grown_kib} KiB"
