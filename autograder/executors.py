"""Where grading jobs run: one Dask client, whatever the size, so local and distributed grading are one path.

    --workers 1 (or one job)   an in-process cluster: one worker thread in this process, nothing to start
    local (default)            a LocalCluster of N worker processes (spawned), one thread each
    dask://HOST:PORT           a running Dask scheduler; install this package on its workers

`execute` submits every job as autograder.pipeline.run_job, lets Dask retry a job that raised (RETRIES; the
failed attempt's slot is closed, so the retry gets a fresh one) and reschedule the job of a worker that died,
and yields each job's result or final exception as it completes. Each worker thread keeps ONE sandbox slot
for all its jobs; only the caller writes results.
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
    in_process = workers == 1  # one worker thread here: no process start, no pickling across processes
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=not in_process, memory_limit=0,
                      dashboard_address=None, silence_logs=logging.CRITICAL,
                      **({} if in_process else {"host": "127.0.0.1"})) as local, Client(local) as client:
        _quiet_workers()
        try:
            yield client
        finally:
            from autograder.pipeline import close_worker_slot

            client.run(close_worker_slot, True, on_error="ignore")  # a worker that died took its slot along


def _quiet_workers() -> None:
    # A job's exception is reported once, by the caller; the in-process worker would also log it.
    logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)


def execute(client, jobs: list, options, window: int | None = None) -> Iterator[tuple[Any, Any]]:
    """(job, SubmissionResult or the exception of its last attempt), in completion order.

    At most `window` jobs are submitted at a time (default: twice the worker threads), so a crash of this
    process loses only those; the others were stored as they completed."""
    from distributed import as_completed

    from autograder import pipeline

    threads = client.nthreads()  # worker address -> threads
    # Each worker pays its fixed costs (the comparators' torch, its slot's kernel parent) before its first job.
    warm = [client.submit(pipeline.warm_worker, options, workers=[w], allow_other_workers=False, pure=False,
                          key=f"warm-{uuid.uuid4().hex}") for w in threads]
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
    for fut in running:
        job = owner.pop(fut.key)
        submit_next()
        try:
            outcome = fut.result()
        except Exception as exc:  # noqa: BLE001 - any failure of the machinery is reported, never a student's 0
            outcome = exc
        fut.release()
        yield job, outcome
    for fut in warm:
        fut.release()
