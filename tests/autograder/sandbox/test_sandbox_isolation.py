"""What sandboxed code can see and do (run as real cells in a sandboxed kernel)."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import sys
import threading
from pathlib import Path

import pytest
from sandbox_helpers import cell, live_processes_of_uid, sandbox_or_skip, stdout

import autograder
from autograder.sandbox import bwrap, procs

pytestmark = pytest.mark.sandbox

REPO = Path(autograder.__file__).resolve().parent.parent


def run1(slot, source: str, timeout: float = 30.0):
    out = slot.run_notebook([cell("a", source, timeout=timeout)], budget=120)
    assert out[0].status == "ok", (out[0].status, out[0].message, out[0].outputs)
    return stdout(out[0])


def result(slot, source: str, timeout: float = 30.0):
    """Run `source`, which must end by printing one JSON value; return that value."""
    return json.loads(run1(slot, source, timeout).strip().splitlines()[-1])


def test_identity_uid_caps_nonewprivs(sbx_slot):
    got = result(sbx_slot, "import os, json\n"
                 "st = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines())\n"
                 "caps = [st[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')]\n"
                 "print(json.dumps([os.getuid(), caps, st['NoNewPrivs'].strip(), os.getcwd()]))")
    uid, caps, nnp, cwd = got
    assert pwd.getpwuid(uid).pw_name == f"course-sbx{sbx_slot.backend.index}"
    assert [int(c, 16) for c in caps] == [0, 0, 0, 0, 0], caps  # the parent's capabilities are all gone
    assert nnp == "1"
    assert cwd == bwrap.JOB


def test_environment_has_no_grader_variables(sbx_slot, monkeypatch):
    monkeypatch.setenv("COURSE_CANARY_DB_URL", "postgresql://grader:canary-7f3a@db/course")
    env = result(sbx_slot, "import os, json\nprint(json.dumps(dict(os.environ)))")
    assert "COURSE_CANARY_DB_URL" not in env
    assert not any("canary-7f3a" in v for v in env.values())
    # nothing of the grader's environment reaches the kernel; the kernel's own variables (the sandbox sets them,
    # e.g. OMP_NUM_THREADS=1) may hold the same value as the grader's by chance
    from autograder.sandbox.bwrap import kernel_env

    own = kernel_env(Path("/opt/venv"))
    leaked = {k for k in os.environ if k in env and env[k] == os.environ[k]
              and k not in ("LANG", "PYTHONDONTWRITEBYTECODE") and own.get(k) != env[k]}
    assert leaked == set(), leaked


# What student code could look at to learn that it runs in the grader, and not in a notebook server.
LOOK_FOR_THE_GRADER = """
import getpass, json, os, socket, sys
seen = {'env': dict(os.environ), 'argv': sys.argv, 'orig_argv': sys.orig_argv, 'path': sys.path,
        'user': getpass.getuser(), 'host': socket.gethostname(), 'cwd': os.getcwd(),
        'passwd': open('/etc/passwd').read(), 'group': open('/etc/group').read(), 'files': {}, 'procs': {}}
for top in ('/', '/opt', '/run', '/home', '/tmp', '/dev/shm', os.getcwd(), '/etc'):
    for root, dirs, files in os.walk(top):
        if root.startswith(('/usr', '/proc', '/sys', '/dev/pts', '/opt/venv', __KERNEL_SIDE__)):
            dirs[:] = []
            continue
        seen['files'][root] = sorted(dirs + files)
def read(path):
    try:
        return open(path, 'rb').read().decode('latin-1')
    except OSError as e:
        return type(e).__name__
for p in (x for x in os.listdir('/proc') if x.isdigit()):
    seen['procs'][p] = [read(f'/proc/{p}/{k}') for k in ('cmdline', 'comm', 'environ', 'mountinfo', 'cgroup')]
print(json.dumps(seen))
"""
MARKERS = ("course", "sbx", "sandbox", "zygote", "grade", "autograder", "bwrap", "probe")


def test_nothing_tells_the_kernel_it_is_being_graded(sbx_slot):
    # The probe helper's folder is left out: probe cells import it by name (the probe protocol's choice).
    seen = result(sbx_slot, LOOK_FOR_THE_GRADER.replace("__KERNEL_SIDE__", repr(bwrap.KERNEL_SIDE)))
    # /proc/self/mountinfo names the host folder of each bind; the venv is the one bind from the host's
    # own file system whose path the instructor chose (everything else is a system path or the slot's tmpfs)
    text = json.dumps(seen).replace(json.dumps(str(Path(sys.prefix).resolve()))[1:-1], "VENV").lower()
    assert [m for m in MARKERS if m in text] == [], [(m, text[max(0, text.find(m) - 200):text.find(m) + 50])
                                                     for m in MARKERS if m in text]
    assert seen["user"] == bwrap.USER and seen["cwd"] == bwrap.JOB and seen["host"] == bwrap.HOSTNAME
    # an ordinary kernel as Jupyter starts it; its own namespace's init has the same command line
    assert seen["orig_argv"][1:4] == ["-m", "ipykernel_launcher", "-f"]
    assert sorted(seen["procs"]) == ["1", "2"]
    assert all(p[0].split("\0")[:4] == seen["orig_argv"][:4] for p in seen["procs"].values())
    assert sbx_slot.backend.parent_host_pid is not None


def test_secret_files_are_unreachable(sbx_slot, tmp_path, monkeypatch):
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("canary-gradebook")
    os.chmod(tmp_path, 0o755)
    os.chmod(gradebook, 0o644)
    monkeypatch.setenv("COURSE_CANARY", "canary-env-91b")
    targets = [str(REPO / "autograder" / "model.py"), str(REPO / "pyproject.toml"), str(gradebook),
               str(REPO / "reference_impl"), "/var/lib/course-sandbox/slot0/home",
               "/var/lib/course-sandbox/slot1", "/root", "/etc/shadow"]
    got = result(sbx_slot, f"import json, os\nres = {{}}\nfor p in {targets!r}:\n"
                 "    try:\n        res[p] = 'read:' + (open(p).read(50) if os.path.isfile(p) else str(os.listdir(p)))\n"
                 "    except OSError as e:\n        res[p] = type(e).__name__\n"
                 "try:\n    res['environ1'] = open('/proc/1/environ', 'rb').read().decode('latin-1')\n"
                 "except OSError as e:\n    res['environ1'] = type(e).__name__\n"
                 "print(json.dumps(res))")
    for p in targets:
        assert got[p] in ("FileNotFoundError", "PermissionError"), (p, got[p])
    assert "canary" not in got["environ1"]


def test_reference_impl_is_not_importable(sbx_slot):
    out = sbx_slot.run_notebook([cell("a", "import reference_impl"), cell("b", "import autograder")], budget=60)
    assert out[0].status == "error" and out[0].message.startswith("ModuleNotFoundError"), out[0].message
    assert out[1].status == "error" and out[1].message.startswith("ModuleNotFoundError"), out[1].message


def test_no_network_to_a_loopback_canary(sbx_slot):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        got = result(sbx_slot, "import socket, json\nres = []\n"
                     f"for host in ('127.0.0.1', 'localhost', '10.0.2.2'):\n"
                     f"    try:\n        socket.create_connection((host, {port}), timeout=2)\n"
                     "        res.append('connected')\n"
                     "    except OSError as e:\n        res.append(type(e).__name__)\n"
                     "print(json.dumps(res))")
    finally:
        stop.set()
        thread.join(2)
        server.close()
    assert "connected" not in got
    assert accepted == []


def test_read_only_binds_refuse_writes(sbx_slot):
    import sys

    targets = [f"{sys.prefix}/canary.txt", "/usr/canary.txt", f"{bwrap.KERNEL_SIDE}/canary.txt", "/canary.txt",
               "/etc/passwd"]
    got = result(sbx_slot, f"import json\nres = {{}}\nfor p in {targets!r}:\n"
                 "    try:\n        open(p, 'a').write('x')\n        res[p] = 'written'\n"
                 "    except OSError as e:\n        res[p] = type(e).__name__\nprint(json.dumps(res))")
    assert all(v != "written" for v in got.values()), got
    assert not Path(sys.prefix, "canary.txt").exists()


@pytest.mark.slow
def test_disk_fill_stops_at_the_tmpfs_cap(sbx_slot):
    before = shutil.disk_usage("/").free
    fill = ("import json, errno\nres = {}\nchunk = b'x' * (1 << 20)\n"
            f"for p in ('/tmp/fill', '{bwrap.JOB}/fill', '/dev/shm/fill'):\n"
            "    n = 0\n    try:\n        with open(p, 'wb') as f:\n"
            "            for _ in range(1024):\n                f.write(chunk); n += 1\n"
            "    except OSError as e:\n        res[p] = [n, errno.errorcode.get(e.errno, str(e.errno))]\n"
            "    else:\n        res[p] = [n, 'no error']\n"
            "    import os; os.remove(p)\nprint(json.dumps(res))")
    got = result(sbx_slot, fill, timeout=60)
    cap_mib = sbx_slot.backend.limits.tmpfs_bytes >> 20
    for p, (mib, err) in got.items():
        assert err in ("ENOSPC", "EFBIG"), (p, err)
        assert mib <= cap_mib, (p, mib)
    assert abs(shutil.disk_usage("/").free - before) < 10 << 20


def test_nothing_survives_between_notebooks(sbx_slot):
    job1 = ("import os, subprocess, sys, json\nleft_global = 1\n"
            f"for p in ('/tmp/t1', '{bwrap.JOB}/c1', '/dev/shm/s1'):\n    open(p, 'w').write('x')\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True)\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        import time; time.sleep(300)\n"
            "    os._exit(0)\n"
            "import ctypes\nlibc = ctypes.CDLL(None)\nprint(json.dumps(libc.shmget(0x5eed, 4096, 0o1666)))")
    out1 = sbx_slot.run_notebook([cell("a", job1)], budget=60)
    assert out1[0].status == "ok", out1[0].message
    assert json.loads(stdout(out1[0])) >= 0
    uid = sbx_slot.backend.uid
    parent = sbx_slot.backend.parent
    slot_procs = set(live_processes_of_uid(uid, most=3))
    allowed = {parent.proc.pid} | procs.descendants(parent.proc.pid) if parent else set()
    assert slot_procs <= allowed and len(slot_procs) <= 3, (slot_procs, allowed)
    job2 = ("import os, json, ctypes\nlibc = ctypes.CDLL(None)\n"
            f"print(json.dumps([os.path.exists(p) for p in ('/tmp/t1', '{bwrap.JOB}/c1', '/dev/shm/s1')]"
            " + [libc.shmget(0x5eed, 4096, 0o666) >= 0, 'left_global' in globals(),"
            " sorted(p for p in os.listdir('/proc') if p.isdigit())]))")
    got = result(sbx_slot, job2)
    assert got == [False, False, False, False, False, ["1", "2"]]  # no file, IPC, global or process left


@pytest.mark.slow
def test_plain_mode_sandbox_runs_and_restarts():
    sandbox_or_skip()
    from autograder.sandbox import open_slot

    with open_slot(sandbox=True, zygote=False) as slot:
        out = slot.run_notebook([cell("a", "import os\nv = os.getuid()"), cell("b", "import os; os._exit(1)"),
                                 cell("c", "print(v == os.getuid())")], budget=120)
    assert [o.status for o in out] == ["ok", "kernel_died", "ok"]
    assert stdout(out[2]) == "True\n"
