"""Kernel parent ("zygote"): imports torch and ipykernel once, then forks one kernel per notebook.

Runs INSIDE the slot's sandbox as the slot uid (or as a plain subprocess without a sandbox). It is a
standalone script (stdlib only at module level) because the sandbox sees no repository code but this file.

Protocol: JSON lines on stdin (commands) and stdout (events); nothing else ever writes to fd 1.
  -> {"op": "fork", "conn": PATH}   <- {"ev": "forked", "pid": N}   (child waits for "go")
  -> {"op": "go", "pid": N}         child starts an IPKernelApp with connection file PATH
  -> {"op": "killall"}              <- {"ev": "killed"}  (kills every descendant; subreaper sees orphans)
  <- {"ev": "exit", "pid": N, "code": C, "signal": S}     for every kernel child that ends
  <- {"ev": "ready", "pid": N}      once, after the imports
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys

# What IPKernelApp.initialize() imports on first use: importing it in the parent saves ~60 ms per kernel.
KERNEL_WARMUP = ("ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython.core.interactiveshell",
                 "IPython.core.debugger", "IPython.core.completer", "IPython.core.completerlib",
                 "IPython.core.oinspect", "IPython.extensions.storemagic", "pdb", "pydoc", "debugpy",
                 "tornado.ioloop", "tornado.platform.asyncio", "faulthandler",
                 "matplotlib.pyplot",  # ~0.5 s per notebook that plots
                 "course_probe", "course_inputs")  # the probe helpers (kernel_side, on PYTHONPATH)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _send(event: dict) -> None:
    os.write(1, (json.dumps(event) + "\n").encode())


def _children(me: int) -> list[int]:
    """Direct children of `me` (reparented orphans included, since we are a subreaper)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the ppid is the 2nd field after the ")" that closes the command name
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[1]) == me:
            out.append(int(name))
    return out


def _drop_editable_finders() -> None:
    """Forget the venv's editable-install finders: they would map `reference_impl` etc. to repo paths
    (absent in the sandbox, but a namespace-package mapping still imports as an empty module)."""
    def editable(obj) -> bool:
        return str(getattr(obj, "__module__", "") or getattr(type(obj), "__module__", "")).startswith("__editable__")

    sys.meta_path[:] = [f for f in sys.meta_path if not editable(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not editable(h)]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p]
    sys.path_importer_cache.clear()
    for name in [m for m in sys.modules if m.startswith("__editable__")]:
        del sys.modules[name]


def _reseed() -> None:
    # Children of one parent would otherwise draw identical random numbers.
    seed = int.from_bytes(os.urandom(4), "little")
    import random

    random.seed(os.urandom(16))
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _die_with_parent() -> None:
    """Without a sandbox nothing else ends us when the runner is killed (kill -9): the kernel would
    outlive it as an orphan holding a torch import's worth of memory. The flag is not inherited by fork."""
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the flag was set
        os._exit(0)


def _child(go_fd: int, conn: str) -> None:
    """Runs in the forked child; never returns."""
    err = -1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_parent()
        # The control pipe must not be reachable from student code (it could forge events).
        err = os.dup(2)  # the parent's log, for start-up failures only; closed before student code
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        keep = sorted({go_fd, err})
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 65536)
        if os.read(go_fd, 1) != b"g":  # the runner has put us into the job's cgroup
            os._exit(70)
        os.close(go_fd)
        os.setsid()
        os.chdir(os.environ.get("HOME", "/"))  # the job dir was emptied since the parent started
        _prctl(PR_SET_CHILD_SUBREAPER, 0)
        _reseed()
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", conn, "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"])
        os.close(err)
        err = -1
        app.start()
    except BaseException:  # noqa: BLE001 - a child must never fall back into the parent's loop
        if err >= 0:
            import traceback

            os.write(err, traceback.format_exc().encode("utf-8", "replace"))
        os._exit(71)
    os._exit(0)


def main(argv: list[str]) -> int:
    preload = [m for m in (argv[0].split(",") if argv else []) if m]
    if os.environ.get("COURSE_ZYGOTE_SANDBOXED") == "1":
        # A same-uid child must not ptrace us or read /proc/<us>/mem.
        _prctl(PR_SET_DUMPABLE, 0)
        _drop_editable_finders()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _die_with_parent()
    for name in preload:
        __import__(name)
    if "ipykernel.kernelapp" in preload:
        for name in KERNEL_WARMUP:
            try:
                __import__(name)
            except ImportError:
                pass  # an optional speed-up only
    if "torch" in sys.modules:
        # A parallel torch op before fork() makes the child hang on its first parallel op.
        sys.modules["torch"].set_num_threads(1)
    rpipe, wpipe = os.pipe()
    os.set_blocking(wpipe, False)
    signal.set_wakeup_fd(wpipe)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    me = os.getpid()
    kernels: set[int] = set()
    waiting: dict[int, int] = {}

    def kernel_ended(pid: int, code: int | None, sig: int | None) -> None:
        kernels.discard(pid)
        fd = waiting.pop(pid, None)  # a child that never got its "go"
        if fd is not None:
            os.close(fd)
        _send({"ev": "exit", "pid": pid, "code": code, "signal": None if sig is None else int(sig)})

    _send({"ev": "ready", "pid": me})
    buf = b""
    while True:
        ready, _, _ = select.select([0, rpipe], [], [])
        if rpipe in ready:
            os.read(rpipe, 4096)
        while True:  # reap everything: kernels and orphans alike
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in kernels:
                kernel_ended(pid, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                             os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return 0  # the runner went away
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd = json.loads(line)
            op = cmd["op"]
            if op == "fork":
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(w)
                    _child(r, cmd["conn"])
                os.close(r)
                kernels.add(pid)
                waiting[pid] = w
                _send({"ev": "forked", "pid": pid})
            elif op == "go":
                fd = waiting.pop(cmd["pid"], None)
                if fd is not None:
                    os.write(fd, b"g")
                    os.close(fd)
            elif op == "killall":
                for _ in range(1000):
                    kids = _children(me)
                    if not kids:
                        break
                    for pid in kids:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    for pid in kids:
                        try:
                            os.waitpid(pid, 0)
                        except ChildProcessError:
                            pass
                        if pid in kernels:
                            kernel_ended(pid, None, signal.SIGKILL)
                _send({"ev": "killed"})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
