"""The grading pipeline: GradingJob -> SubmissionResult, a pure function run by any executor.

    from autograder.pipeline import grade_submission, run_job
    result = grade_submission(job, slot_factory)   # explicit slot
    result = run_job(job)                           # worker entry point: this process's cached slot

`run_job` is what autograder.executors ships to the Dask workers (threads of this process, or remote machines):
a worker process keeps its open slots in a pool; each job takes one, and gives it back when it ends, so the slot's
pre-imported kernel parent serves job after job (one fork per notebook, no interpreter start, no torch import).
"""
from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from autograder.pipeline.job import (
    GradingJob,
    NotebookFile,
    Options,
    derive_seed,
    read_submission,
    submission_hash,
)
from autograder.pipeline.steps import DEFAULT_STEPS, Context, run_steps
from autograder.results import SubmissionResult

__all__ = ["GradingJob", "NotebookFile", "Options", "derive_seed", "grade_submission", "read_submission",
           "run_job", "submission_hash"]

def grade_submission(job: GradingJob, slot_factory: Callable[[], Any], steps=DEFAULT_STEPS) -> SubmissionResult:
    start = time.monotonic()
    ctx = run_steps(Context(job=job, slot_factory=slot_factory), steps)
    return SubmissionResult(
        assignment=job.assignment, student=job.student, submission_hash=job.submission_hash,
        suite_hash=job.spec.suite_hash, base_seed=job.base_seed, sandbox=job.options.sandbox,
        tests=ctx.tests, notes=ctx.notes, cells=ctx.cells, wall_time=round(time.monotonic() - start, 3),
        host=socket.gethostname(), graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


# Open slots of this process, idle between jobs: a worker (a Dask worker's threads, or this process's own
# threads) takes one per job and gives it back, so a slot's kernel parent serves job after job.
_IDLE: dict[tuple, list[Any]] = {}
_PENDING: dict[tuple, int] = {}  # slots being opened by warm_worker, promised to the jobs that wait for them
_POOL = threading.Condition()


def _key(options: Options) -> tuple:
    return (options.sandbox, options.gpu)


def _take_slot(options: Options) -> Any:
    """An idle slot of this process (or one warm_worker is opening), else a newly opened one."""
    key = _key(options)
    with _POOL:
        while not _IDLE.get(key) and _PENDING.get(key):
            _POOL.wait()
        if _IDLE.get(key):
            return _IDLE[key].pop()
    from autograder.sandbox import open_slot

    return open_slot(sandbox=options.sandbox, gpu=options.gpu)


def _give_back(options: Options, slot: Any) -> None:
    with _POOL:
        _IDLE.setdefault(_key(options), []).append(slot)
        _POOL.notify_all()


def warm_worker(options: Options, count: int = 1, reference: bool = True) -> None:
    """Pay a worker's fixed costs before its first job: `count` slots start their kernel parents (each opened
    from a helper thread; a parent imports in its own process) while this thread imports the comparators'
    torch (if `reference`: a speed test's comparators need none). Jobs that start meanwhile wait for these
    slots instead of opening more."""
    key = _key(options)
    with _POOL:
        count = max(0, count - len(_IDLE.get(key, ())))
        _PENDING[key] = _PENDING.get(key, 0) + count
    openers = [threading.Thread(target=_open_warm, args=(options,), name="slot-prewarm", daemon=True)
               for _ in range(count)]
    for t in openers:
        t.start()
    if reference:
        with contextlib.suppress(Exception):  # a failure here shows up, classified, in the first job
            from reference_impl import knn, linear, polyfit  # noqa: F401
    for t in openers:
        t.join()


def _start_kernel_parent(slot: Any) -> None:
    """A slot starts its kernel parent (the pre-imported zygote) on its first notebook: run an empty one."""
    from autograder.model import CellJob

    slot.run_notebook([CellJob(key="warm-up", source="pass", kind="student", timeout=30.0)], budget=60.0)


def _open_warm(options: Options) -> None:
    """Open a slot and start its kernel parent; into the pool if that worked (the first job that needs one
    opens, and reports, it otherwise)."""
    from autograder.sandbox import open_slot

    slot = None
    try:
        slot = open_slot(sandbox=options.sandbox, gpu=options.gpu)
        _start_kernel_parent(slot)
    except Exception:  # noqa: BLE001 - a broken slot is not kept; the first job reports the cause
        if slot is not None:
            slot.close()
        slot = None
    key = _key(options)
    with _POOL:
        _PENDING[key] -= 1
        if slot is not None:
            _IDLE.setdefault(key, []).append(slot)
        _POOL.notify_all()


def close_worker_slots() -> None:
    """Close this process's idle slots (a job's slot is back in the pool once its job has ended)."""
    with _POOL:
        held = [slot for slots in _IDLE.values() for slot in slots]
        _IDLE.clear()
    for slot in held:
        slot.close()


atexit.register(close_worker_slots)


def run_job(job: GradingJob) -> SubmissionResult:
    """Worker entry point: grades on a slot of this process's pool. After any failure the slot is closed,
    so the retry gets a fresh one."""
    taken: list[Any] = []

    def slot() -> Any:
        if not taken:
            taken.append(_take_slot(job.options))
        return taken[0]

    try:
        result = grade_submission(job, slot)
    except BaseException:
        for s in taken:
            s.close()
        raise
    for s in taken:
        _give_back(job.options, s)
    return result


def needs_reference(spec) -> bool:
    """Whether a comparator of `spec` calls reference_impl (torch)."""
    from autograder.probes import KINDS

    return any(KINDS[p.kind].reference for t in spec.tests for p in t.probes)


def job_for(course, spec, student: str, base_seed: int, options: Options) -> GradingJob:
    """The job of one collected submission: submitted/<student>/<assignment>/<notebook>.ipynb."""
    folder = course.submitted / student / spec.name
    from autograder import grading_key

    files = read_submission(folder, sorted(spec.notebooks))
    return GradingJob(assignment=spec.name, student=student, files=files, spec=spec, base_seed=base_seed,
                      options=options, submission_hash=submission_hash(files),
                      seed_key=grading_key.load_or_create(course.data))
