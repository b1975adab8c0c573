"""Handlers of `course autograde` and `course feedback` (loaded only when the subcommand runs)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

RETRIES = 2  # infrastructure errors: retried this many times with backoff, then reported (nothing stored)
BACKOFF = 1.0  # seconds before the first retry, doubled each time
DB_RETRIES = 3


class UserError(RuntimeError):
    user_facing = True


@dataclass
class Summary:
    graded: int = 0
    passed: int = 0  # every test full marks
    failed: int = 0
    unchanged: int = 0
    infrastructure: list[str] = field(default_factory=list)
    changed: dict[str, list] = field(default_factory=dict)  # student -> [Change] (dry run / written)
    events: int = 0
    seconds: float = 0.0


def _students(course, assignment: str, wanted: list[str]) -> list[str]:
    root = course.submitted
    have = sorted(d.name for d in root.iterdir() if (d / assignment).is_dir()) if root.is_dir() else []
    if wanted:
        missing = [s for s in wanted if s not in have]
        if missing:
            raise ValueError(f"no submission of {assignment} for {', '.join(missing)} in {root}")
        return sorted(set(wanted))
    return have


def _gpu_requested(spec, flag: bool) -> bool:
    if flag:
        return True
    for nb in spec.notebooks.values():
        course_meta = nb.get("metadata", {}).get("course", {})
        if isinstance(course_meta, dict) and course_meta.get("gpu") is True:
            return True
    return False


def autograde(args: argparse.Namespace) -> int:
    from autograder import course_dir
    from autograder.pipeline import Options
    from autograder.spec import load_assignment_spec

    course = course_dir.load()
    spec = load_assignment_spec(course.source, args.assignment)
    students = _students(course, args.assignment, args.student)
    if not args.no_sandbox:
        from autograder.model import SandboxUnavailable
        from autograder.sandbox import check_sandbox

        try:
            check_sandbox()
        except SandboxUnavailable as exc:
            raise UserError(f"{exc} (or grade without isolation: --no-sandbox)") from None
    options = Options(sandbox=not args.no_sandbox, gpu=_gpu_requested(spec, args.gpu),
                      cell_timeout=args.cell_timeout, budget=args.budget)
    summary = run_autograde(course, spec, students, options, base_seed=args.seed, workers=args.workers,
                            executor_url=args.executor, dry_run=args.dry_run, force=args.force)
    print_summary(summary, spec.name, args.dry_run, options.sandbox)
    return 1 if summary.infrastructure else 0


def run_autograde(course, spec, students: list[str], options, base_seed: int = 0, workers: int | None = None,
                  executor_url: str = "local", dry_run: bool = False, force: bool = False,
                  progress: bool = True) -> Summary:
    from autograder.executors import InlineExecutor, make_executor
    from autograder.model import InfrastructureError
    from autograder.pipeline import job_for, run_job
    from autograder.results import dumps, result_path, write_atomic
    from autograder.store import Store, parse_timestamp

    start = time.monotonic()
    summary = Summary()
    store = Store(course.db_url, course.course_id, create=not dry_run)
    try:
        if not dry_run:
            _db_retry(lambda: store.sync_assignment(spec))
        stored = store.graded(spec.name)
        jobs = {}
        for student in students:
            job = job_for(course, spec, student, base_seed, options)
            key = (job.submission_hash, spec.suite_hash, base_seed)
            if stored.get(student) == key and not force:
                summary.unchanged += 1
                if not dry_run:  # the DB is the source of truth: restore a results file lost in a crash
                    _ensure_results_file(store, course, spec, student)
                continue
            jobs[student] = job
        if not jobs:
            summary.seconds = time.monotonic() - start
            return summary
        if options.sandbox and executor_url in ("", "local"):
            # more local workers than sandbox slots would only wait for a slot's lock
            from autograder.sandbox.config import load as sandbox_config

            workers = min(workers or os.cpu_count() or 1, sandbox_config().slots)
        executor, close = make_executor(executor_url, workers, options)
        try:
            if isinstance(executor, InlineExecutor):
                # the slot's kernel parent starts (its own process) while we import the comparators' torch
                from autograder.pipeline import prewarm_inline, warm_worker

                opener = prewarm_inline(options)
                warm_worker(options, open_slot_now=False)
                opener.join()
            elif isinstance(executor, ProcessPoolExecutor):
                # start every worker now: each opens its slot while the others do
                for _ in range(getattr(executor, "_max_workers", 1)):
                    executor.submit(time.sleep, 0)
            bar = _progress(len(jobs), progress)
            attempts = dict.fromkeys(jobs, 0)
            # a bounded number in flight: results are stored as they complete (an inline executor runs
            # each job at submit time), and a crash loses at most the jobs in flight
            queue = list(jobs)
            if isinstance(executor, InlineExecutor):
                limit = 1
            elif isinstance(executor, ProcessPoolExecutor):
                limit = 2 * (workers or os.cpu_count() or 1)
            else:  # a Dask cluster queues and balances itself
                limit = len(jobs)
            pending: dict[Future, str] = {}
            retry_at: dict[str, float] = {}
            while queue or pending or retry_at:
                for s, when in list(retry_at.items()):
                    if time.monotonic() >= when:
                        del retry_at[s]
                        queue.insert(0, s)
                while queue and len(pending) < limit:
                    s = queue.pop(0)
                    pending[executor.submit(run_job, jobs[s])] = s
                if not pending:
                    time.sleep(0.05)
                    continue
                done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    student = pending.pop(fut, None)
                    if student is None:  # from a pool already replaced after a worker died
                        continue
                    try:
                        result = fut.result()
                    except (InfrastructureError, OSError, MemoryError, EOFError) as exc:
                        _infra(summary, attempts, retry_at, student, exc)
                        continue
                    except Exception as exc:  # noqa: BLE001 - a worker crash or a bug is never the student's 0
                        if type(exc).__name__ in ("BrokenProcessPool", "KilledWorker", "CommClosedError"):
                            _infra(summary, attempts, retry_at, student, exc)
                            if type(exc).__name__ == "BrokenProcessPool":  # a worker died: new pool
                                queue[:0] = list(pending.values())
                                pending = {}
                                close()
                                executor, close = make_executor(executor_url, workers, options)
                            continue
                        _infra(summary, attempts, retry_at, student, exc)
                        continue
                    text = dumps(result)
                    if dry_run:
                        changes = store.diff(result)
                    else:
                        changes = _db_retry(lambda r=result, t=text, s=student: store.commit(
                            r, t, parse_timestamp(course.submitted / s / spec.name)))
                        # after the commit: a crash here leaves the DB graded; the next run restores the file
                        try:
                            write_atomic(result_path(course.results, spec.name, student), text)
                            write_autograded(course, spec, json.loads(text))
                        except OSError as exc:  # e.g. a full disk: the grade is safe in the DB
                            summary.infrastructure.append(
                                f"{student}: graded and stored, but the results file was not written ({exc}); "
                                "the next run writes it")
                        summary.events += len(changes)
                    if changes:
                        summary.changed[student] = changes
                    summary.graded += 1
                    if all(t.score >= t.max_score for t in result.tests):
                        summary.passed += 1
                    else:
                        summary.failed += 1
                    bar.advance()
            bar.stop()
        finally:
            close()
    finally:
        store.close()
    summary.seconds = time.monotonic() - start
    return summary


def _infra(summary: Summary, attempts: dict, retry_at: dict, student: str, exc: BaseException,
           retry: bool = True) -> None:
    attempts[student] += 1
    line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    if retry and attempts[student] <= RETRIES:
        retry_at[student] = time.monotonic() + BACKOFF * 2 ** (attempts[student] - 1)
        return
    summary.infrastructure.append(f"{student}: {type(exc).__name__}: {line}")


def _db_retry(fn):
    """Run a DB write; transient failures retried with backoff, then one clear error (nothing partial)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from autograder.store import DatabaseError

    for attempt in range(DB_RETRIES + 1):
        try:
            return fn()
        except (OperationalError, DBAPIError) as exc:
            if attempt == DB_RETRIES:
                detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise DatabaseError(f"the gradebook database cannot be written ({detail}); grades committed so "
                                    "far are kept; fix the database and run the command again to resume") from None
            time.sleep(0.5 * 2 ** attempt)


def _ensure_results_file(store, course, spec, student: str) -> None:
    from autograder.results import result_path, write_atomic

    text = store.stored_result(spec.name, student)
    path = result_path(course.results, spec.name, student)
    if text is not None and (not path.is_file() or path.read_text(encoding="utf-8") != text):
        write_atomic(path, text)
        write_autograded(course, spec, json.loads(text))


def write_autograded(course, spec, result: dict) -> None:
    """autograded/<student>/<assignment>/<nb>.ipynb for formgrader and nbgrader's feedback (no hidden tests)."""
    import nbformat

    from autograder.pipeline.notebook import autograded_notebook
    from autograder.results import write_atomic

    folder = course.autograded / result["student"] / spec.name
    for name in spec.notebooks:
        write_atomic(folder / f"{name}.ipynb", nbformat.writes(autograded_notebook(spec, name, result)))


class _NoBar:
    def advance(self) -> None: ...
    def stop(self) -> None: ...


class _Bar:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 transient=False, console=_console())
        self.task = self.progress.add_task("grading", total=total)
        self.progress.start()

    def advance(self) -> None:
        self.progress.advance(self.task)

    def stop(self) -> None:
        self.progress.stop()


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _progress(total: int, enabled: bool):
    return _Bar(total) if enabled else _NoBar()


def print_summary(summary: Summary, assignment: str, dry_run: bool, sandbox: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if dry_run:
        if not summary.changed:
            console.print(f"dry run: no score of {assignment} would change; nothing written")
        else:
            t = Table(title=f"dry run: scores of {assignment} that would change (nothing written)")
            for col in ("student", "notebook", "test", "old", "new"):
                t.add_column(col)
            for student in sorted(summary.changed):
                for c in summary.changed[student]:
                    t.add_row(student, c.notebook, c.test_id, "-" if c.old is None else f"{c.old:g}", f"{c.new:g}")
            console.print(t)
    t = Table(title=f"autograde {assignment}" + ("" if sandbox else " (NO SANDBOX)") + (" dry run" if dry_run else ""))
    for col in ("graded", "passed", "failed", "unchanged", "infrastructure errors", "grade events", "time"):
        t.add_column(col, justify="right")
    t.add_row(str(summary.graded), str(summary.passed), str(summary.failed), str(summary.unchanged),
              str(len(summary.infrastructure)), str(summary.events), f"{summary.seconds:.1f} s")
    console.print(t)
    for line in summary.infrastructure:
        print(f"infrastructure error (nothing stored; run again to retry): {line}", file=sys.stderr)


def feedback(args: argparse.Namespace) -> int:
    from autograder import course_dir
    from autograder.feedback import write_feedback

    course = course_dir.load()
    folder = course.results / args.assignment
    if not folder.is_dir():
        raise FileNotFoundError(f"no results for {args.assignment} in {folder}; run `course autograde "
                                f"{args.assignment}` first")
    students = args.student or sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))
    written = []
    for student in students:
        path = folder / f"{student}.json"
        if not path.is_file():
            raise FileNotFoundError(f"no result for {student} in {folder}")
        data = json.loads(path.read_text(encoding="utf-8"))
        written.append(write_feedback(course, data))
    print(f"course feedback: wrote {len(written)} file(s) under {course.feedback}")
    return 0
