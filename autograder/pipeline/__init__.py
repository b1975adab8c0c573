"""The grading pipeline: GradingJob -> SubmissionResult, a pure function run by any executor.

    from autograder.pipeline import grade_submission, run_job
    result = grade_submission(job, slot_factory)   # explicit slot
    result = run_job(job)                           # worker entry point: this process's cached slot

`run_job` is what autograder.executors ships to the Dask workers (in this process, local processes or remote
machines): each worker thread opens ONE slot lazily and keeps it in a module-level table for all its jobs.
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


# One slot per worker thread (a Dask worker runs its jobs on its own thread(s); one thread each, locally).
_SLOTS: dict[int, tuple[tuple, Any]] = {}
_LOCK = threading.Lock()


def _worker_slot(options: Options) -> Any:
    """This thread's slot, opened on first use and kept (reopened if the options change)."""
    key = (options.sandbox, options.gpu)
    ident = threading.get_ident()
    with _LOCK:
        held = _SLOTS.get(ident)
    if held is not None and held[0] != key:
        close_worker_slot()
        held = None
    if held is None:
        from autograder.sandbox import open_slot

        held = (key, open_slot(sandbox=options.sandbox, gpu=options.gpu))
        with _LOCK:
            _SLOTS[ident] = held
    return held[1]


def warm_worker(options: Options) -> None:
    """Pay a worker thread's fixed costs before its first job: its slot's kernel parent starts (in a helper
    thread; the parent imports in its own process) while this thread imports the comparators' torch."""
    opener = _open_in_background(options)
    with contextlib.suppress(Exception):  # a failure here shows up, classified, in the first job
        from reference_impl import knn, linear, polyfit  # noqa: F401
    opener.join()


def _start_kernel_parent(slot: Any) -> None:
    """A slot starts its kernel parent (the pre-imported zygote) on its first notebook: run an empty one."""
    from autograder.model import CellJob

    slot.run_notebook([CellJob(key="warm-up", source="pass", kind="student", timeout=30.0)], budget=60.0)


def _open_in_background(options: Options) -> threading.Thread:
    """Open the calling thread's slot from a helper thread (kept only if the caller has none by then)."""
    ident = threading.get_ident()
    key = (options.sandbox, options.gpu)

    def open_for_caller() -> None:
        from autograder.sandbox import open_slot

        with _LOCK:
            if _SLOTS.get(ident, (None,))[0] == key:
                return
        try:
            slot = open_slot(sandbox=options.sandbox, gpu=options.gpu)
        except Exception:  # noqa: BLE001 - the first job opens (and reports) it otherwise
            return
        try:
            _start_kernel_parent(slot)
        except Exception:  # noqa: BLE001 - a broken slot is not kept; the first job reports the cause
            slot.close()
            return
        with _LOCK:
            taken = ident in _SLOTS
            if not taken:
                _SLOTS[ident] = (key, slot)
        if taken:
            slot.close()

    t = threading.Thread(target=open_for_caller, name="slot-prewarm", daemon=True)
    t.start()
    return t


def close_worker_slot(all_threads: bool = False) -> None:
    with _LOCK:
        idents = list(_SLOTS) if all_threads else [threading.get_ident()]
        held = [_SLOTS.pop(i) for i in idents if i in _SLOTS]
    for _key, slot in held:
        slot.close()


atexit.register(lambda: close_worker_slot(all_threads=True))


def run_job(job: GradingJob) -> SubmissionResult:
    """Worker entry point. After any failure the slot is closed so the retry gets a fresh one."""
    try:
        return grade_submission(job, lambda: _worker_slot(job.options))
    except BaseException:
        close_worker_slot()
        raise


def job_for(course, spec, student: str, base_seed: int, options: Options) -> GradingJob:
    """The job of one collected submission: submitted/<student>/<assignment>/<notebook>.ipynb."""
    folder = course.submitted / student / spec.name
    from autograder import grading_key

    files = read_submission(folder, sorted(spec.notebooks))
    return GradingJob(assignment=spec.name, student=student, files=files, spec=spec, base_seed=base_seed,
                      options=options, submission_hash=submission_hash(files),
                      seed_key=grading_key.load_or_create(course.data))
