"""Where grading jobs run: one Dask client, whatever the size, so local and distributed grading are one path.

    local (default)            an in-process cluster: N worker threads in this process, nothing to start
    dask://HOST:PORT           a running Dask scheduler; install this package on its workers

Locally the jobs run on threads of this process: a job's own work here is the trusted runner (waiting on its
kernel's sockets) and the comparators, so one process holds the comparators' torch once, and no worker
interpreter is started, imports torch or unpickles the job. The kernels run in the sandbox as always.
`execute` submits every job as autograder.pipeline.run_job, lets Dask retry a job that raised (RETRIES; the
failed attempt's slot is closed, so the retry gets a fresh one) and reschedule the job of a worker that died,
and yields each job's result or final exception as it completes. Each worker process keeps a pool of sandbox
slots, one per thread, for all its jobs; only the caller writes results.
"""
from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from course_errors import UserError

RETRIES = 2  # a job that raised runs again this often before it is reported (nothing stored)
_ADDRESS = re.compile(r"^(?:dask|tcp)://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


class ExecutorError(UserError):
    """A bad or unreachable --executor."""


def parse_executor(url: str) -> str:
    """'local' or the scheduler's tcp:// address; ExecutorError (one line) for anything else."""
    if url in ("", "local"):
        return "local"
    m = _ADDRESS.match(url)
    if not m or not 0 < int(m.group(2)) < 65536:
        raise ExecutorError(f"--executor {url!r}: use 'local' or dask://HOST:PORT (a Dask scheduler's address)")
    return f"tcp://{m.group(1)}:{m.group(2)}"


def local_workers(requested: int | None, jobs: int, sandbox: bool) -> int:
    """Local worker count: the request (default: cores), no more than the jobs, nor the sandbox slots."""
    n = min(requested or os.cpu_count() or 1, jobs)
    if sandbox:  # more workers than sandbox slots would only wait for a slot's lock
        from autograder.sandbox.config import load as sandbox_config

        n = min(n, sandbox_config().slots)
    return max(n, 1)


@contextmanager
def cluster(url: str, workers: int = 1) -> Iterator[Any]:
    """A distributed.Client on `url` (from parse_executor); for 'local', on a cluster started here and closed
    (with its workers' slots) on exit."""
    from distributed import Client, LocalCluster

    if url != "local":
        try:
            client = Client(url, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"--executor {url}: cannot reach the Dask scheduler ({exc})") from None
        with client:
            yield client
        return
    import dask

    # worker threads here: no process start, no pickling across processes, one torch import. Dask's HTTP
    # servers (its dashboard would listen on every interface, showing the students' task names) serve
    # nothing, on loopback only; its own monitoring is off.
    quiet: dict[str, object] = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": [],
                                # no sampling of every thread's stack 100 times a second, no 20 ms ticks
                                "distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
                                "distributed.admin.system-monitor.interval": "5s"}
    with dask.config.set(quiet), \
            LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, memory_limit=0,
                         dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                         worker_dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL) as local, \
            Client(local) as client:
        _quiet_workers()
        try:
            yield client
        finally:
            from autograder.pipeline import close_worker_slots

            close_worker_slots()


def _quiet_workers() -> None:
    # A job's exception is reported once, by the caller; the in-process worker would also log it.
    logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)


def execute(client, jobs: list, options, window: int | None = None) -> Iterator[tuple[Any, Any]]:
    """(job, SubmissionResult or the exception of its last attempt), in completion order."""
    for batch in execute_batches(client, jobs, options, window):
        yield from batch


def execute_batches(client, jobs: list, options, window: int | None = None) -> Iterator[list[tuple[Any, Any]]]:
    """Lists of (job, SubmissionResult or the exception of its last attempt): every job completed since the
    previous list (the caller stores each list in one transaction), in completion order.

    At most `window` jobs are submitted at a time (default: twice the worker threads), so a crash of this
    process loses only those; the others were stored as they completed."""
    from distributed import as_completed

    from autograder import pipeline

    threads = client.nthreads()  # worker address -> threads
    # Each worker pays its fixed costs (the comparators' torch, a slot's kernel parent per thread) before its
    # first job.
    reference = any(pipeline.needs_reference(job.spec) for job in jobs[:1])
    warm = [client.submit(pipeline.warm_worker, options, n, reference, workers=[w], allow_other_workers=False,
                          pure=False, key=f"warm-{uuid.uuid4().hex}") for w, n in threads.items()]
    window = window or 2 * max(1, sum(threads.values()))
    queue = iter(jobs)
    running = as_completed()
    owner: dict[str, Any] = {}

    def submit_next() -> None:
        job = next(queue, None)
        if job is not None:
            fut = client.submit(pipeline.run_job, job, retries=RETRIES, pure=False,
                                key=f"grade-{job.student}-{uuid.uuid4().hex}")
            owner[fut.key] = job
            running.add(fut)

    for _ in range(window):
        submit_next()
    for futures in running.batches():
        batch = []
        for fut in futures:
            job = owner.pop(fut.key)
            submit_next()
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 - any failure of the machinery is reported, never a 0
                outcome = exc
            fut.release()
            batch.append((job, outcome))
        yield batch
    for fut in warm:
        fut.release()
