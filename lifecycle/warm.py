"""Warm grading for a speed test: `course speedtest open` starts a server that keeps the grading ready until
the test is closed, and `course speedtest close` hands the close to it.

A cold close pays, before its first verdict, for an interpreter, the grader's imports, the assignment's spec
and one kernel parent per slot (a sandboxed interpreter that imports torch and ipykernel: seconds of CPU each).
The server pays all of it while the window is open: it holds the worker slots with their kernel parents
started, the spec loaded and the modules of a close imported, and waits. `close` (also when `status` or `open`
closes an ended test) connects, and the server runs the same close in its own process, sending the output
back; nothing about grading changes: every kernel is still forked fresh for one notebook from a parent no
kernel can reach, checked before each job (autograder/sandbox).

    socket  <lock dir>/warm-<key>.sock   (the sandbox's lock dir: root only, 0700), peer uid checked
    log     <lock dir>/warm-<key>.log
    key     hash of the course's data dir, database URL, course id and the test

Only with the sandbox (the server holds its slots, root's): `--no-sandbox` closes in the calling process.
One server per machine (a second `open` starts none while one runs). A server ends after its close, when the
test was closed without it, when the course's folders are gone, or LINGER_S after the window ended.
COURSE_SPEEDTEST_WARM=0 (or `open --no-warm`) starts none.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, cast

LINGER_S = 120.0  # after the window (accommodations included), an unasked server waits this long for close
POLL_S = 1.0  # seconds between looks at the socket
CHECK_S = 10.0  # seconds between looks at the window and the course's folders
ENV = "COURSE_SPEEDTEST_WARM"


LOCK_WAIT_S = 120  # how long a new warm grader waits for the machine's previous one to end

def _lock_dir() -> Path:
    from autograder.sandbox.config import load

    return load().lock_dir


def _key(course, test: str) -> str:
    ident = f"{course.data}\0{course.db_url}\0{course.course_id}\0{test}"
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def socket_path(course, test: str) -> Path:
    return _lock_dir() / f"warm-{_key(course, test)}.sock"


def state(course, test: str) -> str:
    """"ready", "starting" (the server is warming up) or "" (none), for `speedtest status`."""
    try:
        path = socket_path(course, test)
        if not path.exists():
            return ""
        return "ready" if path.with_suffix(".ready").exists() else "starting"
    except OSError:  # the lock dir is root's: another user sees no server
        return ""


def wanted(args: argparse.Namespace) -> bool:
    """A warm server for this command line: sandboxed grading (root's slots), not switched off."""
    return (os.environ.get(ENV, "1") != "0" and not getattr(args, "no_warm", False)
            and not getattr(args, "no_sandbox", False) and os.geteuid() == 0)


def start(course, test: str, args: argparse.Namespace) -> Path | None:
    """Start the server in the background (its own session; it outlives this command); its log file."""
    if not wanted(args):
        return None
    lock_dir = _lock_dir()
    try:
        lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    log = lock_dir / f"warm-{_key(course, test)}.log"
    argv = [sys.executable, "-m", "course_cli", "speedtest", "warm", test]
    if getattr(args, "workers", None):
        argv += ["--workers", str(args.workers)]
    with open(log, "ab") as out:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=course.root,
                         start_new_session=True, close_fds=True)
    return log


# -- client --------------------------------------------------------------------------------------------------
def delegate(course, test: str, args: argparse.Namespace) -> int | None:
    """Close `test` on its warm server, printing what it prints; its exit status, or None when no server
    answers (the caller closes by itself)."""
    if not wanted(args):
        return None
    path = socket_path(course, test)
    try:
        if not path.exists():
            return None
    except OSError:
        return None
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    request = {"op": "close", "test": test, "no_check_owner": bool(getattr(args, "no_check_owner", False)),
               "workers": getattr(args, "workers", None), "width": console.width, "tty": console.is_terminal,
               "color": console.color_system}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.settimeout(5.0)
            sock.connect(str(path))
            sock.settimeout(None)
            sock.sendall((json.dumps(request) + "\n").encode())
        except OSError:
            return None  # a stale socket: the server is gone
        for line in sock.makefile("rb"):
            msg = json.loads(line)
            for name, stream in (("out", sys.stdout), ("err", sys.stderr)):
                if name in msg:
                    stream.write(msg[name])
                    stream.flush()
            if "rc" in msg:
                return int(msg["rc"])
    print(f"course speedtest: the warm grader of {test} ended without an answer; closing here", file=sys.stderr)
    return None


# -- server --------------------------------------------------------------------------------------------------
class _Frames(io.TextIOBase):
    """A text stream sent to the client as JSON lines {name: text}; a client that went away is not fatal (the
    close goes on: what it commits is kept)."""

    def __init__(self, conn: socket.socket, name: str) -> None:
        super().__init__()
        self.conn, self.name, self.gone = conn, name, False

    def write(self, text: str) -> int:
        if text and not self.gone:
            try:
                self.conn.sendall((json.dumps({self.name: text}) + "\n").encode())
            except OSError:
                self.gone = True
        return len(text)

    def writable(self) -> bool:
        return True


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _listen(path: Path) -> socket.socket | None:
    """The server's socket, or None if another server answers on it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
            return None
        except OSError:
            pass
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(8)
    sock.settimeout(POLL_S)
    return sock


def _warm_up(course, test: str, workers: int | None) -> Any:
    """Everything a close would start or import, done now; returns the spec."""
    import importlib

    from autograder.executors import local_workers
    from autograder.pipeline import Options, needs_reference, warm_worker
    from autograder.spec import load_assignment_spec

    for module in ("lifecycle.grading", "lifecycle.status", "autograder.commands", "autograder.persist",
                   "autograder.report", "autograder.store", "gradebook.collect", "distributed"):
        importlib.import_module(module)  # here, not at close

    spec = load_assignment_spec(course.source, test)
    warm_worker(Options(sandbox=True), local_workers(workers, 1 << 30, True), needs_reference(spec))
    return spec


def _policy(course):
    """course.toml as it is now (the instructor may have changed it since `open`)."""
    from gradebook.policy import load_policy

    return load_policy(course.policy_file)


def _should_end(course, test: str) -> str:
    """Why the server should end now, or ""."""
    from course_errors import UserError
    from lifecycle import speedtest as st

    if not (course.root.is_dir() and course.data.is_dir()):
        return "the course's folders are gone"
    try:
        w = st.window(course, _policy(course), test)
    except UserError as exc:
        return f"the course cannot be read ({exc})"
    if w is None:
        return "the test has no window"
    if w.closed_at is not None:
        return "the test was closed"
    if (st.now() - w.last).total_seconds() > LINGER_S:
        return f"nobody closed the test within {LINGER_S:g} s of its end"
    return ""


def _answer(conn: socket.socket, course, test: str) -> None:
    """Run one close for the client on `conn`."""
    from rich.console import Console

    from course_errors import UserError
    from lifecycle import speedtest as st

    req = json.loads(conn.makefile("rb").readline() or b"{}")
    out, err = _Frames(conn, "out"), _Frames(conn, "err")
    rc = 0
    if req.get("op") != "close" or req.get("test") != test:
        err.write(f"course speedtest: the warm grader serves only `close {test}`\n")
        rc = 2
    else:
        args = argparse.Namespace(test=test, no_check_owner=bool(req.get("no_check_owner")), no_sandbox=False,
                                  workers=req.get("workers"))
        console = Console(file=cast(IO[str], out), width=int(req.get("width") or 80), force_terminal=bool(req.get("tty")),
                          color_system=req.get("color") if req.get("tty") else None, highlight=False,
                          soft_wrap=True)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                st.close(course, _policy(course), test, console, args)
            except UserError as exc:
                err.write(f"course speedtest: error: {exc}\n")
                rc = 2
            except Exception:  # noqa: BLE001 - a bug: its traceback, as the command line would show it
                import traceback

                err.write(traceback.format_exc())
                rc = 1
    with contextlib.suppress(OSError):  # a client that went away gets no status
        conn.sendall((json.dumps({"rc": rc}) + "\n").encode())


def serve(course, test: str, workers: int | None) -> int:
    """The server's life: warm up, wait for the close (or a reason to end), run it, end."""
    import fcntl

    lock_dir = _lock_dir()
    lock = os.open(lock_dir / "warm.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    # a grader that has just handed back its close ends within seconds: wait for it, not for one that serves
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                print(f"{test}: another warm grader runs on this machine; none started")
                return 0
            time.sleep(0.5)
    path = socket_path(course, test)
    sock = _listen(path)
    if sock is None:
        print(f"{test}: a warm grader already serves it")
        return 0
    ready = path.with_suffix(".ready")
    try:
        started = time.monotonic()
        _warm_up(course, test, workers)
        ready.touch(mode=0o600)
        print(f"{test}: warm after {time.monotonic() - started:.1f} s; waiting for close", flush=True)
        return _wait(sock, course, test)
    finally:
        sock.close()
        for done in (ready, path):
            with contextlib.suppress(FileNotFoundError):
                done.unlink()
        from autograder.pipeline import close_worker_slots

        close_worker_slots()


def _wait(sock: socket.socket, course, test: str) -> int:
    checked = time.monotonic()
    while True:
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            if time.monotonic() - checked >= CHECK_S:
                checked = time.monotonic()
                why = _should_end(course, test)
                if why:
                    print(f"{test}: {why}; the warm grader ends", flush=True)
                    return 0
            continue
        with conn:
            if _peer_uid(conn) != os.geteuid():
                continue  # the socket's folder admits root only; anyone else is not the instructor
            conn.settimeout(None)
            _answer(conn, course, test)
            print(f"{test}: closed for the client; the warm grader ends", flush=True)
            return 0
