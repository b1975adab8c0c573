"""Persist: the one writer. Each graded submission is ONE database transaction (grades, events, its key),
then its results file and autograded notebooks. The database is the source of truth: a crash after the
commit leaves the grade stored, and the next run restores the files from it."""
from __future__ import annotations

import json

from autograder.report import StudentRow, row_from_result
from autograder.results import SubmissionResult, dumps, result_path, write_atomic
from autograder.store import DatabaseError, Store, parse_timestamp


class Writer:
    """Turns each job's outcome into a StudentRow; writes nothing on a dry run (it lists the changes)."""

    def __init__(self, course, spec, store: Store, dry_run: bool = False) -> None:
        self.course, self.spec, self.store, self.dry_run = course, spec, store, dry_run

    def prepare(self) -> None:
        """The assignment's notebooks and grade cells in nbgrader's tables (idempotent)."""
        if not self.dry_run:
            _database(lambda: self.store.sync_assignment(self.spec))

    def persist(self, job, outcome: SubmissionResult | BaseException) -> StudentRow:
        received = parse_timestamp(self.course.submitted / job.student / self.spec.name)
        if isinstance(outcome, BaseException):
            return StudentRow(job.student, "infrastructure", received=received,
                              problem=f"{job.student}: {type(outcome).__name__}: {_first_line(outcome)}")
        text = dumps(outcome)
        row = row_from_result(json.loads(text), "graded", received)
        if self.dry_run:
            row.changes = self.store.diff(outcome)
            return row
        row.changes = _database(lambda: self.store.commit(outcome, text, received))
        row.written = True
        try:  # after the commit: a crash here leaves the DB graded; the next run restores the files
            self._write_files(job.student, text)
        except OSError as exc:  # e.g. a full disk: the grade is safe in the DB
            row.problem = (f"{job.student}: graded and stored, but the results file was not written ({exc}); "
                           "the next run writes it")
        return row

    def unchanged(self, student: str) -> StudentRow:
        """The stored grade; its results file restored if a crash lost it (not on a dry run)."""
        text = self.store.stored_result(self.spec.name, student)
        received = parse_timestamp(self.course.submitted / student / self.spec.name)
        if text is None:
            return StudentRow(student, "unchanged", received=received)
        path = result_path(self.course.results, self.spec.name, student)
        if not self.dry_run and (not path.is_file() or path.read_text(encoding="utf-8") != text):
            self._write_files(student, text)
        return row_from_result(json.loads(text), "unchanged", received)

    def _write_files(self, student: str, text: str) -> None:
        write_atomic(result_path(self.course.results, self.spec.name, student), text)
        write_autograded(self.course, self.spec, json.loads(text))


def write_autograded(course, spec, result: dict) -> None:
    """autograded/<student>/<assignment>/<nb>.ipynb for formgrader and nbgrader's feedback (no hidden tests)."""
    import nbformat

    from autograder.pipeline.notebook import autograded_notebook

    folder = course.autograded / result["student"] / spec.name
    for name in spec.notebooks:
        write_atomic(folder / f"{name}.ipynb", nbformat.writes(autograded_notebook(spec, name, result)))


def _database(write):
    """Run one DB write. SQLite's busy timeout already waits for the lock; a failure left after it (read-only,
    gone, full) stops the run with one line; grades committed before are kept."""
    from sqlalchemy.exc import DBAPIError

    try:
        return write()
    except DBAPIError as exc:
        detail = _first_line(getattr(exc, "orig", None) or exc)
        raise DatabaseError(f"the gradebook database cannot be written ({detail}); grades committed so far are "
                            "kept; fix the database and run the command again to resume") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
