"""Handlers of `course autograde` and `course feedback` (loaded only when the subcommand runs).

autograde is plan -> execute -> persist: plan (autograder.plan) picks the submissions whose key changed,
execute (autograder.executors) runs them on a Dask cluster with its retry policy, and the one writer
(autograder.persist) stores each as it completes. autograder.report shows progress, the per-student table
and the summary.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import ExitStack

from course_errors import UserError


def _students(course, assignment: str, wanted: list[str]) -> list[str]:
    root = course.submitted
    have = sorted(d.name for d in root.iterdir() if (d / assignment).is_dir()) if root.is_dir() else []
    if wanted:
        missing = [s for s in wanted if s not in have]
        if missing:
            raise UserError(f"no submission of {assignment} for {', '.join(missing)} in {root}")
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
    """Every argument is checked before anything is written."""
    import course_dir
    from autograder.executors import parse_executor
    from autograder.pipeline import Options
    from autograder.report import print_report
    from autograder.spec import load_assignment_spec

    executor = parse_executor(args.executor)
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
                            executor_url=executor, dry_run=args.dry_run, force=args.force)
    print_report(summary, spec.name, args.dry_run, options.sandbox, due=_due(course, spec.name))
    return 1 if summary.infrastructure else 0


def run_autograde(course, spec, students: list[str], options, base_seed: int = 0, workers: int | None = None,
                  executor_url: str = "local", dry_run: bool = False, force: bool = False,
                  progress: bool = True):
    """Grade `students`' submissions of `spec`; returns the report's Summary. Idempotent, crash-safe: each
    submission is committed as it completes, and a re-run grades only what changed."""
    from autograder.executors import cluster, execute_batches, local_workers, parse_executor
    from autograder.persist import Writer
    from autograder.plan import plan
    from autograder.report import Progress, Summary
    from autograder.store import Store

    start = time.monotonic()
    url = parse_executor(executor_url)
    summary = Summary()
    with ExitStack() as stack:
        # a remote scheduler is reached before anything is written; a local cluster starts only for work
        client = None if url == "local" else stack.enter_context(cluster(url))
        reader = Store(course.db_url, course.course_id, create=False)  # reads only: creates nothing
        stack.callback(reader.close)
        work = plan(course, spec, students, options, base_seed, reader.graded(spec.name), force)
        for student in work.unchanged:
            summary.add(Writer(course, spec, reader, dry_run).unchanged(student))
        if work.jobs:
            client = client or stack.enter_context(cluster(url, local_workers(workers, len(work.jobs),
                                                                                options.sandbox)))
            store = reader if dry_run else Store(course.db_url, course.course_id)
            stack.callback(store.close)
            writer = Writer(course, spec, store, dry_run)
            writer.prepare()
            with Progress(len(work.jobs), progress) as bar:
                for done in execute_batches(client, work.jobs, options):
                    for row in writer.persist_batch(done):  # one transaction for what completed meanwhile
                        summary.add(row)
                        bar.advance(row)
    summary.seconds = time.monotonic() - start
    return summary


def _due(course, assignment: str):
    """The assignment's due date from course.toml, for the table's late? column (None if it has none)."""
    if not course.policy_file.is_file():
        return None
    from gradebook.policy import load_policy

    try:
        item = load_policy(course.policy_file).items.get(assignment)
    except UserError:  # a bad policy is `course grades`' error to report; grading does not need it
        return None
    return getattr(item, "due", None)


def feedback(args: argparse.Namespace) -> int:
    import course_dir
    from autograder.feedback import write_feedback
    from autograder.feedback_release import final_lines, release

    course = course_dir.load()
    folder = course.results / args.assignment
    if not folder.is_dir():
        raise UserError(f"no results for {args.assignment} in {folder}; run `course autograde "
                                f"{args.assignment}` first")
    students = args.student or sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))
    missing = [s for s in students if not (folder / f"{s}.json").is_file()]
    if missing:
        raise UserError(f"no result for {', '.join(missing)} in {folder}")
    final = final_lines(args.assignment, students) if course.policy_file.is_file() else {}
    if args.release:
        from autograder.spec import load_assignment_spec

        notebooks = sorted(load_assignment_spec(course.source, args.assignment).notebooks)
    written, released = [], 0
    for student in students:
        data = json.loads((folder / f"{student}.json").read_text(encoding="utf-8"))
        written.append(write_feedback(course, data, final.get(student, "")))
        if args.release:
            out = release(course, student, args.assignment, written[-1].read_text(encoding="utf-8"),
                          data.get("submission_hash", ""), notebooks)
            if isinstance(out, str):
                print(f"warning: {student}: feedback not released: {out}", file=sys.stderr)
            else:
                released += 1
    print(f"course feedback: wrote {len(written)} file(s) under {course.feedback}")
    if args.release:
        print(f"released to {released} student(s) in {course.exchange / course.course_id / 'feedback'}: "
              "JupyterLab -> Assignments -> Fetch Feedback, or `nbgrader fetch_feedback ASSIGNMENT`")
    return 0
