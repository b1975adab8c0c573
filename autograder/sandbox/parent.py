"""Trusted side of the kernel parent (zygote.py): launches it and speaks its JSON-lines protocol."""
from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from autograder.model import InfrastructureError

_LAUNCHER: tuple[int, ThreadPoolExecutor] | None = None
_LAUNCHER_LOCK = threading.Lock()


def _launcher() -> ThreadPoolExecutor:
    global _LAUNCHER
    with _LAUNCHER_LOCK:
        # a fork()ed worker inherits the executor object but not its thread: make its own
        if _LAUNCHER is None or _LAUNCHER[0] != os.getpid():
            _LAUNCHER = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="course-sandbox-launcher"))
        return _LAUNCHER[1]


class ParentDied(InfrastructureError):
    """The kernel parent exited. Before a job: an infrastructure failure. During a job the runner charges
    it to the job (the kernel died) and the next job gets a fresh parent."""


@dataclass
class KernelExit:
    code: int | None
    signal: int | None

    def describe(self) -> str:
        import signal as _signal

        if self.signal is not None:
            try:
                name = _signal.Signals(self.signal).name
            except ValueError:
                name = f"signal {self.signal}"
            return f"kernel died ({name})"
        return f"kernel died (exit code {self.code})"


class ParentProcess:
    """One running zygote. `argv` is the full command line (plain python or setpriv+bwrap+python)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str, log_path: str,
                 pass_fds: Sequence[int] = ()) -> None:
        self.log_path = log_path
        try:
            with open(log_path, "wb") as log:
                # bwrap --die-with-parent uses PR_SET_PDEATHSIG, which fires when the *thread* that
                # forked it ends: fork from one long-lived thread, not from a pool's short-lived one.
                self.proc = _launcher().submit(
                    subprocess.Popen, list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                    env=env, cwd=cwd, close_fds=True, pass_fds=tuple(pass_fds), start_new_session=True,
                ).result()
        except OSError as exc:
            raise InfrastructureError(f"cannot start the kernel parent {argv[0]}: {exc}") from exc
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self._buf = b""
        self.exits: dict[int, KernelExit] = {}
        self._events: list[dict] = []
        self.dead = False
        self.pid_inside: int | None = None

    # -- events ---------------------------------------------------------------------------------
    def pump(self) -> None:
        """Read whatever events have arrived (non-blocking)."""
        while not self.dead:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self.dead = True
                return
            self._buf += chunk
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                event = json.loads(line)
                if event.get("ev") == "exit":
                    self.exits[event["pid"]] = KernelExit(event.get("code"), event.get("signal"))
                else:
                    self._events.append(event)

    def wait_event(self, kind: str, deadline: float, accept: Callable[[dict], bool] = lambda e: True) -> dict:
        while True:
            self.pump()
            for i, event in enumerate(self._events):
                if event.get("ev") == kind and accept(event):
                    return self._events.pop(i)
            if self.dead:
                raise ParentDied(f"the kernel parent exited ({self.exit_text()})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise InfrastructureError(f"the kernel parent did not answer '{kind}' in time ({self.log_tail()})")
            select.select([self.fd], [], [], min(left, 1.0))

    def send(self, **cmd) -> None:
        try:
            self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            self.dead = True
            raise ParentDied(f"the kernel parent exited ({self.exit_text()})") from exc

    # -- commands -------------------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> None:
        event = self.wait_event("ready", time.monotonic() + timeout)
        self.pid_inside = int(event["pid"])

    def fork(self, conn_inside: str, timeout: float = 10.0) -> int:
        self.send(op="fork", conn=conn_inside)
        event = self.wait_event("forked", time.monotonic() + timeout)
        if int(event["pid"]) < 0:
            raise InfrastructureError(f"the kernel parent cannot fork: {event.get('error', 'unknown error')}")
        return int(event["pid"])

    def go(self, pid: int) -> None:
        self.send(op="go", pid=pid)

    def killall(self, timeout: float = 10.0) -> None:
        self.send(op="killall")
        self.wait_event("killed", time.monotonic() + timeout)

    def alive(self) -> bool:
        self.pump()
        return not self.dead and self.proc.poll() is None

    def exit_text(self) -> str:
        rc = self.proc.poll()
        return f"status {rc}; {self.log_tail()}" if rc is not None else self.log_tail()

    def log_tail(self, nbytes: int = 400) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - nbytes))
                text = f.read().decode("utf-8", "replace").strip()
        except OSError:
            return "no log"
        return " | ".join(text.splitlines()[-3:]) or "empty log"

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.dead = True
