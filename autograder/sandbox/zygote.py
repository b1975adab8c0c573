"""Kernel parent ("zygote"): imports torch and ipykernel once, then forks one kernel per notebook.

Runs INSIDE the slot's sandbox as the slot uid (or as a plain subprocess without a sandbox). It is a
standalone script (stdlib only at module level) because the sandbox sees no repository code but this file.
argv: PRELOAD (comma-separated modules) MODE ("sandbox" or "local") [PADDING, ignored: see _set_cmdline].

Protocol: JSON lines on stdin (commands) and stdout (events); nothing else ever writes to fd 1.
  -> {"op": "fork", "conn": PATH}   <- {"ev": "forked", "pid": N}   (child waits for "go"; pid -1: fork failed)
  -> {"op": "go", "pid": N}         child starts an IPKernelApp with connection file PATH
  -> {"op": "killall"}              <- {"ev": "killed"}  (kills every descendant; subreaper sees orphans)
  <- {"ev": "exit", "pid": N, "code": C, "signal": S}     for every kernel child that ends
  <- {"ev": "ready", "pid": N}      once, after the imports

In the sandbox a kernel must neither reach this process (it serves the next students' jobs) nor see that
it is graded. The forked child ("relay") waits for "go", then forks the init of a new PID namespace, which
mounts a /proc of its own, hides this script's folder, drops every capability and forks the kernel: no
signal, prlimit, setpriority, ptrace or pidfd of the kernel can name us. The relay ends like the kernel.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib.util
import json
import os
import random
import select
import signal
import sys

# What IPKernelApp.initialize() imports on first use: importing it in the parent saves ~60 ms per kernel.
KERNEL_WARMUP = ("ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython.core.interactiveshell",
                 "IPython.core.debugger", "IPython.core.completer", "IPython.core.completerlib",
                 "IPython.core.oinspect", "IPython.extensions.storemagic", "pdb", "pydoc", "debugpy",
                 "tornado.ioloop", "tornado.platform.asyncio", "faulthandler",
                 "matplotlib.pyplot")  # ~0.5 s per notebook that plots
# Messages with a frame over 64 KiB are sent zero-copy, which starts a pyzmq garbage-collector thread on
# first use; when the job has used up its process limit that thread cannot start and the message is lost.
KERNEL_ARGS = ("--HistoryManager.enabled=False", "--IPKernelApp.quiet=True", f"--Session.copy_threshold={1 << 62}")

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x02000000, 0x08000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
CAP_VERSION_3 = 0x20080522
MADV_HUGEPAGE, MADV_COLLAPSE, HUGE_PAGE = 14, 25, 2 << 20
_LIBC = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> int:
    return _LIBC.prctl(option, value, 0, 0, 0)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _send(event: dict) -> None:
    os.write(1, (json.dumps(event) + "\n").encode())


def _children(me: int) -> list[int]:
    """Direct children of `me` (reparented orphans included, since we are a subreaper)."""
    out = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat[stat.rfind(b")") + 2:].split()[1]) == me:  # the ppid: 2nd field after the command name
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


def _isolate_fds(keep: set[int]) -> None:
    """stdin/stdout/stderr to /dev/null, every other descriptor but `keep` closed: the control pipe must
    not be reachable from student code (it could forge events)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    kept = sorted(keep)
    for low, high in zip([3] + [fd + 1 for fd in kept], [*kept, 65536]):  # the gaps around the kept ones
        os.closerange(low, high)


def _set_cmdline(args: list[str]) -> None:
    """Rewrite what /proc/self/cmdline shows (the argv strings in place, as setproctitle does): a forked kernel
    would otherwise show this script's. The runner pads our argv to a kernel's length: nothing else remains."""
    with open("/proc/self/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rfind(b")") + 2:].split()
    start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48, 49)
    data = b"".join(a.encode() + b"\0" for a in args)[: end - start]
    ctypes.memmove(start, data.ljust(end - start, b"\0"), end - start)


def _kernel_argv(conn: str) -> list[str]:
    """The command line a kernel started by Jupyter has."""
    return [sys.executable, "-m", "ipykernel_launcher", "-f", conn]


def _run_kernel(conn: str, err: int, sandboxed: bool) -> None:
    """The kernel process itself; never returns."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # interrupts are KeyboardInterrupt
    os.setsid()
    os.chdir(os.environ.get("HOME", "/"))  # the job dir was emptied since the parent started
    _prctl(PR_SET_CHILD_SUBREAPER, 0)
    _reseed()
    if sandboxed:
        _prctl(PR_SET_DUMPABLE, 1)  # as any process: nothing of the parent is reachable from here
        _set_cmdline(_kernel_argv(conn))
        sys.orig_argv[:] = _kernel_argv(conn)
        launcher = importlib.util.find_spec("ipykernel_launcher")
        sys.argv[:] = [launcher.origin if launcher else "ipykernel_launcher", "-f", conn]
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if p != here]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", conn, *KERNEL_ARGS])
    os.close(err)
    app.start()
    os._exit(0)


def _private_proc_and_mounts() -> None:
    """New mount, IPC and cgroup namespaces (the job's cgroup shows as the root); a /proc of the new PID
    namespace; this script's folder hidden."""
    _check(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWCGROUP), "unshare(mount, ipc, cgroup)")
    _check(_LIBC.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(_LIBC.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    for sub in (b"/proc/sys", b"/proc/sysrq-trigger", b"/proc/irq", b"/proc/bus"):  # as bwrap does
        if os.path.exists(sub):
            _check(_LIBC.mount(sub, sub, None, MS_BIND | MS_REC, None), f"bind {sub!r}")
            _check(_LIBC.mount(sub, sub, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None), f"read-only {sub!r}")
    here = os.path.dirname(os.path.abspath(__file__)).encode()
    _check(_LIBC.mount(b"tmpfs", here, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=755"),
           "hide the parent's folder")


def _drop_capabilities() -> None:
    """No capability left in any set (the parent holds CAP_SYS_ADMIN in the sandbox's user namespace)."""
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(64):
        if _prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last cap
            break
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    _check(_LIBC.capset(header, (ctypes.c_uint32 * 6)()), "capset")
    with open("/proc/self/status") as f:
        caps = {k: v.strip() for k, _, v in (line.partition(":") for line in f) if k.startswith("Cap")}
    if len(caps) < 5 or any(int(v, 16) for v in caps.values()):
        raise RuntimeError(f"capabilities left after dropping them: {caps}")


def _exit_like(status: int) -> None:
    """End this process the way `status` (a wait status) says: same exit code, or same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal that does not terminate
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


def _pid_ns_init(conn: str, err: int, status_w: int) -> None:
    """PID 1 of the kernel's namespace: prepares it, forks the kernel, reaps, reports its wait status.

    As PID 1 it gets from inside the namespace only the signals it handles: none, SIGINT ignored."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_cmdline(_kernel_argv(conn))
    _private_proc_and_mounts()
    _drop_capabilities()
    kernel = os.fork()
    if kernel == 0:
        os.close(status_w)
        _run_kernel(conn, err, sandboxed=True)
    os.close(err)
    while True:  # orphans of the job are reparented to us
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(70)
        if pid == kernel:
            os.write(status_w, status.to_bytes(4, "little"))
            os._exit(0)  # the rest of the namespace dies with us


def _relay(conn: str, err: int) -> None:
    """Forked child in the sandbox: after "go", starts the kernel's PID namespace and ends like the kernel."""
    _check(_LIBC.unshare(CLONE_NEWPID), "unshare(pid)")
    status_r, status_w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(status_r)
        _pid_ns_init(conn, err, status_w)
    os.close(status_w)
    os.close(err)
    os.waitpid(init, 0)
    data = os.read(status_r, 4)
    _exit_like(int.from_bytes(data, "little") if len(data) == 4 else 71 << 8)


def _child(go_fd: int, conn: str, sandboxed: bool) -> None:
    """Runs in the forked child; never returns."""
    err = -1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_parent()
        err = os.dup(2)  # the parent's log, for start-up failures only; closed before student code
        _isolate_fds({go_fd, err})
        if os.read(go_fd, 1) != b"g":  # the runner has put us into the job's cgroup
            os._exit(70)
        os.close(go_fd)
        if sandboxed:
            _relay(conn, err)
        _run_kernel(conn, err, sandboxed=False)
    except BaseException:  # noqa: BLE001 - a child must never fall back into the parent's loop
        if err >= 0:
            import traceback

            with contextlib.suppress(OSError):
                os.write(err, traceback.format_exc().encode("utf-8", "replace"))
        os._exit(71)


def _preload(preload: list[str]) -> None:
    for name in preload:
        __import__(name)
    if "ipykernel.kernelapp" in preload:
        for name in KERNEL_WARMUP:
            with contextlib.suppress(ImportError):  # an optional speed-up only
                __import__(name)
    if "torch" in sys.modules:  # a parallel torch op before fork() makes the child hang on its first one
        sys.modules["torch"].set_num_threads(1)
    gc.collect()
    gc.freeze()  # the preloaded objects are never traced by a kernel's collector: their pages stay shared
    _huge_pages()


def _huge_pages() -> None:
    """The preloaded anonymous memory in 2 MiB pages: a fork copies one page-table entry per 2 MiB of it, not
    512 (a kernel's three forks: ~3x less CPU). Best effort: without MADV_COLLAPSE (Linux < 6.1) 4 KiB stay."""
    _LIBC.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    with open("/proc/self/maps") as f:
        for fields in (line.split() for line in f):
            if fields[1].startswith("rw") and (len(fields) < 6 or fields[5] == "[heap]"):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                start, end = -(-start // HUGE_PAGE) * HUGE_PAGE, end // HUGE_PAGE * HUGE_PAGE
                for advice in (MADV_HUGEPAGE, MADV_COLLAPSE) if end > start else ():
                    _LIBC.madvise(start, end - start, advice)


class _Parent:
    """The command loop's state: kernels alive, and those still waiting for their "go"."""

    def __init__(self, sandboxed: bool) -> None:
        self.sandboxed = sandboxed
        self.me = os.getpid()
        self.kernels: set[int] = set()
        self.waiting: dict[int, int] = {}

    def kernel_ended(self, pid: int, code: int | None, sig: int | None) -> None:
        self.kernels.discard(pid)
        fd = self.waiting.pop(pid, None)  # a child that never got its "go"
        if fd is not None:
            os.close(fd)
        _send({"ev": "exit", "pid": pid, "code": code, "signal": None if sig is None else int(sig)})

    def reap(self) -> None:
        """Reap everything: kernels and orphans alike."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.kernels:
                self.kernel_ended(pid, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                                  os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)

    def fork(self, conn: str) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:  # the uid's process limit: the runner treats it as a failed start
            os.close(r)
            os.close(w)
            _send({"ev": "forked", "pid": -1, "error": str(exc)})
            return
        if pid == 0:
            os.close(w)
            _child(r, conn, self.sandboxed)
        os.close(r)
        self.kernels.add(pid)
        self.waiting[pid] = w
        _send({"ev": "forked", "pid": pid})

    def go(self, pid: int) -> None:
        fd = self.waiting.pop(pid, None)
        if fd is not None:
            os.write(fd, b"g")
            os.close(fd)

    def killall(self) -> None:
        for _ in range(1000):
            kids = _children(self.me)
            if not kids:
                break
            for pid in kids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for pid in kids:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                if pid in self.kernels:
                    self.kernel_ended(pid, None, signal.SIGKILL)
        _send({"ev": "killed"})

    def handle(self, cmd: dict) -> None:
        {"fork": lambda: self.fork(cmd["conn"]), "go": lambda: self.go(cmd["pid"]), "killall": self.killall}[cmd["op"]]()


def main(argv: list[str]) -> int:
    preload = [m for m in (argv[0].split(",") if argv else []) if m]
    sandboxed = len(argv) > 1 and argv[1] == "sandbox"
    if sandboxed:
        _prctl(PR_SET_DUMPABLE, 0)  # defence in depth: nothing of the job can trace or read us
        _drop_editable_finders()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _die_with_parent()
    _preload(preload)
    rpipe, wpipe = os.pipe()
    os.set_blocking(wpipe, False)
    signal.set_wakeup_fd(wpipe)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    state = _Parent(sandboxed)
    _send({"ev": "ready", "pid": state.me})
    buf = b""
    while True:
        ready, _, _ = select.select([0, rpipe], [], [])
        if rpipe in ready:
            os.read(rpipe, 4096)
        state.reap()
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return 0  # the runner went away
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            state.handle(json.loads(line))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
