"""The trusted notebook runner: sends cells to a kernel and turns what comes back into CellOutcomes.

Semantics (issue 4 §3): one fresh kernel per notebook; per-cell timeout by interrupt message, then a
kill; a dead kernel is restarted, the earlier successful student cells are replayed silently, and the
next cell runs; the notebook budget is a hard wall-clock limit. Time is measured here, never taken
from the kernel.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import zmq

from autograder.model import CellJob, CellOutcome, InfrastructureError
from autograder.sandbox.client import KernelClient
from autograder.sandbox.guard import GuardProcess
from autograder.sandbox.limits import Limits
from autograder.sandbox.outputs import OutputCollector, clean_text
from autograder.sandbox.parent import KernelExit, ParentDied, ParentProcess

GUARD_MEMORY = 128 << 20  # plus 3 x the message cap: a legitimate maximal message fits
IDLE_GRACE = 1.0  # seconds to wait for the iopub "idle" after the reply before calling outputs lost
MAX_MSG_SLACK = 1 << 20


@dataclass
class Kernel:
    """A started kernel as the backend hands it to the runner."""

    parent: ParentProcess
    pid: int  # as the parent sees it
    ip: str  # the kernel's ipc socket prefix, as the runner's side sees it
    key: str
    guard: GuardProcess | None = None  # guard.py, between the kernel and the runner

    def guard_dead(self) -> bool:
        return self.guard is not None and self.guard.dead()

    def exit(self) -> KernelExit | None:
        self.parent.pump()
        if self.pid in self.parent.exits:
            return self.parent.exits[self.pid]
        if self.parent.dead:
            raise ParentDied(f"the kernel parent exited ({self.parent.exit_text()})")
        return None


class Backend(Protocol):
    limits: Limits
    guard_dir: Path  # private to the runner: the guard's runner-side sockets
    guard: GuardProcess | None  # owned by the runner, kept from notebook to notebook

    def begin_job(self) -> None: ...
    def start_kernel(self, deadline: float) -> Kernel: ...
    def stop_kernel(self, kernel: Kernel) -> None: ...
    def end_job(self) -> None: ...
    def oom_kills(self) -> int: ...
    def pids_limit_hits(self) -> int: ...


class _Budget(Exception):
    """The notebook's wall-clock budget ran out."""


@dataclass
class _Cell:
    """What has arrived for one execute request."""

    msg_id: str
    reply: dict | None = None
    reply_at: float = 0.0
    idle: bool = False
    disconnected: bool = False  # the guard dropped a message: outputs may be incomplete


def _reply_status(reply: object) -> tuple[str, str]:
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        reply = reply if isinstance(reply, dict) else {}
        ename = _first_line(str(reply.get("ename", "Error")), 100)
        evalue = _first_line(str(reply.get("evalue", "")))
        return "error", f"{ename}: {evalue}" if evalue else ename
    return "ok", ""


def _first_line(text: str, limit: int = 300) -> str:
    text = clean_text(text).strip()
    line = text.splitlines()[0] if text else ""
    return line[:limit]


def _fmt_seconds(value: float) -> str:
    return f"{value:g} s"


class NotebookRun:
    def __init__(self, backend: Backend, ctx: zmq.Context) -> None:
        self.backend = backend
        self.limits = backend.limits
        self.ctx = ctx
        self.kernel: Kernel | None = None
        self.client: KernelClient | None = None
        self.resync_needed = False
        self.max_msg = max(self.limits.output_bytes_per_cell, self.limits.probe_bytes_per_cell) + MAX_MSG_SLACK

    # -- kernel lifecycle -----------------------------------------------------------------------
    def _start(self, end: float) -> None:
        """Start a kernel and wait until it answers; one retry, then InfrastructureError."""
        errors = []
        for _attempt in range(2):
            if time.monotonic() >= end:
                raise _Budget()
            try:
                self._start_once(end)
                return
            except _Budget:
                raise
            except ParentDied:
                raise
            except InfrastructureError as exc:
                errors.append(str(exc))
                self._stop()
        raise InfrastructureError(f"kernel failed to start twice: {errors[-1]}")

    def _start_once(self, end: float) -> None:
        deadline = min(end, time.monotonic() + self.limits.kernel_start_timeout)
        self.kernel = self.backend.start_kernel(deadline)
        guard_ip = str(self.backend.guard_dir / Path(self.kernel.ip).name)
        self.kernel.guard = self._start_guard(self.kernel.ip, guard_ip)
        self.client = KernelClient(self.ctx, guard_ip, self.kernel.key, self.max_msg)
        got_reply = got_iopub = False
        poller = zmq.Poller()
        poller.register(self.client.shell, zmq.POLLIN)
        poller.register(self.client.iopub, zmq.POLLIN)
        poller.register(self.kernel.parent.fd, zmq.POLLIN)
        next_ping = 0.0
        while not (got_reply and got_iopub):
            now = time.monotonic()
            exited = self.kernel.exit()
            if exited is not None:
                raise InfrastructureError(f"{exited.describe()} while starting ({self.kernel.parent.log_tail()})")
            if self.kernel.guard_dead():
                raise InfrastructureError(f"the message guard exited with status {self.kernel.guard.returncode}")
            if now >= deadline:
                if now >= end:
                    raise _Budget()
                raise InfrastructureError(
                    f"kernel did not answer within {self.limits.kernel_start_timeout:g} s "
                    f"({self.kernel.parent.log_tail()})")
            if now >= next_ping and not got_iopub:
                # the iopub subscription may not be connected yet: ask again until something arrives
                self.client.send(self.client.shell, "kernel_info_request", {})
                next_ping = now + 0.05
            for sock, _ in poller.poll(max(1, int((min(deadline, next_ping) - now) * 1000))):
                if sock is self.client.shell:
                    while (msg := self.client.recv(self.client.shell)) is not None:
                        got_reply |= msg["header"]["msg_type"] == "kernel_info_reply"
                elif sock is self.client.iopub:
                    while self.client.recv(self.client.iopub) is not None:
                        got_iopub = True

    def _start_guard(self, kernel_ip: str, guard_ip: str) -> GuardProcess:
        """The slot's guard (started once, restarted after it died), pointed at this kernel."""
        guard = getattr(self.backend, "guard", None)
        for _attempt in range(2):
            if guard is None or guard.dead():
                if guard is not None:
                    guard.stop()
                try:
                    guard = GuardProcess(self.max_msg, GUARD_MEMORY + 3 * self.max_msg)
                except OSError as exc:
                    raise InfrastructureError(f"cannot start the message guard: {exc}") from exc
                self.backend.guard = guard
            if guard.connect(kernel_ip, guard_ip):
                return guard
            guard.stop()
            guard = None
        raise InfrastructureError("the message guard does not answer")

    def _resync(self, end: float) -> None:
        """Wait until iopub delivers again after lost messages (a kernel_info round trip seen on iopub)."""
        assert self.client is not None and self.kernel is not None
        client = self.client
        deadline = min(end, time.monotonic() + 5.0)
        poller = zmq.Poller()
        poller.register(client.iopub, zmq.POLLIN)
        pings: set[str] = set()
        next_ping = 0.0
        while time.monotonic() < deadline:
            if self.kernel.exit() is not None or self.kernel.guard_dead():
                break
            now = time.monotonic()
            if now >= next_ping:
                pings.add(client.send(client.shell, "kernel_info_request", {}))
                next_ping = now + 0.1
            if poller.poll(50):
                while (msg := client.recv(client.iopub, parents=pings)) is not None:
                    if msg["parent_header"].get("msg_id") in pings:
                        self.resync_needed = False
                        while client.recv(client.shell) is not None:
                            pass
                        return
        self.resync_needed = False

    def _stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.resync_needed = False
        if self.kernel is not None:
            kernel, self.kernel = self.kernel, None
            self.backend.stop_kernel(kernel)

    # -- one cell -------------------------------------------------------------------------------
    def _execute(self, job: CellJob, end: float, collector: OutputCollector, silent: bool = False
                 ) -> tuple[str, str]:
        """Run one cell; returns (status, message). The job cgroup's own records name the cause of a
        failure: its OOM kills (not which of kill and timeout came first) and its refused forks."""
        oom_before = self.backend.oom_kills()
        pids_before = self.backend.pids_limit_hits()
        status, message = self._execute_cell(job, end, collector, silent)
        if status in ("timeout", "kernel_died") and self.backend.oom_kills() > oom_before:
            status, message = "memory", f"killed: out of memory (limit {self.limits.memory_bytes / (1 << 30):g} GiB)"
        if self.backend.pids_limit_hits() > pids_before:
            cause = f"process limit reached ({self.limits.pids} processes and threads)"
            collector.notes.append(f"[{cause}: forks and new threads failed]")
            if status == "ok" and job.kind == "probe" and not collector.probe_payloads:
                status, message = "error", f"{cause}: the result could not be sent"
            else:
                message = f"{cause}; {message}" if message else cause
        return status, message

    def _execute_cell(self, job: CellJob, end: float, collector: OutputCollector, silent: bool
                      ) -> tuple[str, str]:
        """Run one cell; returns (status, message). Kills the kernel when it must."""
        assert self.kernel is not None and self.client is not None
        if self.resync_needed:
            self._resync(end)
        client, kernel = self.client, self.kernel
        cell = _Cell(client.execute(job.source, silent=silent))
        cell_deadline = time.monotonic() + job.timeout
        interrupted_at: float | None = None
        poller = zmq.Poller()
        poller.register(client.shell, zmq.POLLIN)
        poller.register(client.iopub, zmq.POLLIN)
        poller.register(kernel.parent.fd, zmq.POLLIN)
        if kernel.guard is not None:
            poller.register(kernel.guard.proc.stdout, zmq.POLLIN)  # EOF when the guard dies
        while True:
            now = time.monotonic()
            if cell.reply is not None and (cell.idle or now >= cell.reply_at + IDLE_GRACE):
                if not cell.idle or cell.disconnected:
                    collector.lost_messages += 1
                    self.resync_needed = True
                break
            if now >= end:
                self._stop()
                raise _Budget()
            if interrupted_at is None and now >= cell_deadline:
                client.send(client.control, "interrupt_request", {})
                interrupted_at = now
            if interrupted_at is not None and now >= interrupted_at + self.limits.kill_grace:
                self._stop()
                return "timeout", f"timed out after {_fmt_seconds(job.timeout)} (kernel killed)"
            if kernel.guard_dead():
                # the guard ran out of memory on a kernel message: an output bomb
                self._stop()
                return "error", "output over the message size cap (kernel restarted)"
            exited = kernel.exit()
            if exited is not None:
                self._stop()
                return "kernel_died", exited.describe()
            waits = [end, cell.reply_at + IDLE_GRACE if cell.reply is not None else end,
                     cell_deadline if interrupted_at is None else interrupted_at + self.limits.kill_grace]
            timeout_ms = max(1, int((min(waits) - now) * 1000) + 1)
            for sock, _ in poller.poll(min(timeout_ms, 1000)):
                self._receive(sock, cell, collector if not silent else None)
        if interrupted_at is not None:
            return "timeout", f"timed out after {_fmt_seconds(job.timeout)} (interrupted)"
        return _reply_status(cell.reply)

    def _receive(self, sock, cell: _Cell, collector: OutputCollector | None) -> None:
        """Everything waiting on `sock` that belongs to this cell; outputs go to `collector` (None: silent)."""
        client = self.client
        assert client is not None
        if sock is client.iopub:
            while (msg := client.recv(client.iopub, parents=(cell.msg_id,))) is not None:
                if msg["header"]["msg_type"] == "__dropped__":
                    cell.disconnected = self.resync_needed = True
                    continue
                if msg["parent_header"].get("msg_id") != cell.msg_id:
                    continue
                msg_type, content = msg["header"]["msg_type"], msg["content"]
                if msg_type == "status":
                    cell.idle = cell.idle or content.get("execution_state") == "idle"
                elif collector is not None:
                    collector.add(msg_type, content)
        elif sock is client.shell:
            while (msg := client.recv(client.shell, parents=(cell.msg_id,))) is not None:
                if msg["parent_header"].get("msg_id") == cell.msg_id and msg["header"]["msg_type"] == "execute_reply":
                    cell.reply, cell.reply_at = msg["content"], time.monotonic()

    # -- the notebook ---------------------------------------------------------------------------
    def run(self, cells: Sequence[CellJob], budget: float) -> list[CellOutcome]:
        if budget <= 0:
            raise ValueError(f"budget must be positive seconds, got {budget!r}")
        outcomes: list[CellOutcome | None] = [None] * len(cells)
        rest = "not_run"
        self.backend.begin_job()  # a parent that cannot start here is the machine's failure (retried)
        try:
            stop_reason = self._run_cells(cells, outcomes, budget)
        except ParentDied:
            # Kernels cannot reach their parent, so this job did it or the machine failed: either way the
            # questions not yet graded cost this job, never a retry; the next job gets a fresh parent.
            rest, stop_reason = "kernel_died", "kernel died: the kernel parent exited during this notebook"
        finally:
            try:
                self._stop()
            finally:
                self.backend.end_job()
        return [o if o is not None else CellOutcome(key=c.key, status=rest, message=stop_reason)
                for c, o in zip(cells, outcomes)]

    def _run_cells(self, cells: Sequence[CellJob], outcomes: list[CellOutcome | None], budget: float) -> str:
        """Fill `outcomes` in order; returns why the cells left as None did not run."""
        end = time.monotonic() + budget
        spent = f"notebook time budget ({_fmt_seconds(budget)}) spent"
        restarts = 0
        notebook_left = self.limits.output_bytes_per_notebook
        i = 0
        while i < len(cells):
            if time.monotonic() >= end:
                return spent
            if self.kernel is None:
                if i > 0:
                    if restarts >= self.limits.max_restarts:
                        return f"not run: the kernel was restarted {restarts} times"
                    restarts += 1
                try:
                    self._start(end)
                    if not self._replay(cells[:i], outcomes[:i], end):
                        continue  # died during the replay: counts as a restart
                except _Budget:
                    return spent
            job = cells[i]
            collector = OutputCollector(min(self.limits.output_bytes_per_cell, notebook_left),
                                        self.limits.probe_bytes_per_cell)
            start = time.monotonic()
            try:
                status, message = self._execute(job, end, collector)
            except _Budget:
                status, message = "timeout", spent
            outputs = collector.finish()
            notebook_left = max(0, notebook_left - collector.used)
            outcomes[i] = CellOutcome(key=job.key, status=status, outputs=outputs,
                                      probe_payloads=collector.probe_payloads,
                                      duration=time.monotonic() - start, message=message)
            i += 1
            if message == spent:
                return spent
        return ""

    def _replay(self, cells: Sequence[CellJob], outcomes: Sequence[CellOutcome | None], end: float) -> bool:
        """Silently re-run the earlier successful student cells in a new kernel; False if it died."""
        for job, outcome in zip(cells, outcomes):
            if job.kind != "student" or outcome is None or outcome.status != "ok":
                continue
            status, _ = self._execute(job, end, OutputCollector(0, 0), silent=True)
            if self.kernel is None:
                return False
            del status
        return True
