"""Persist: the one writer. The submissions that completed since the last write go into ONE database
transaction (grades, events, each one's key; a group commit: one submission when the writer keeps up, several
when grading outpaces the disk), then their results files and autograded notebooks. The database is the source
of truth: a crash after the commit leaves the grades stored, and the next run restores the files from it; a
crash before it loses nothing stored, and the next run grades those submissions again."""
from __future__ import annotations

import json
from functools import partial
from typing import Any

from autograder.report import StudentRow, row_from_result
from autograder.results import SubmissionResult, dumps, result_path
from autograder.results import write_atomic as _write_atomic
from autograder.store import DatabaseError, Store, parse_timestamp

# The results file and autograded notebooks are copies of what the database holds, rewritten by the next run
# when a crash left them stale (Writer.unchanged): they need no fsync of their own.
write_atomic = partial(_write_atomic, durable=False)


class Writer:
    """Turns each job's outcome into a StudentRow; writes nothing on a dry run (it lists the changes)."""

    def __init__(self, course, spec, store: Store, dry_run: bool = False) -> None:
        self.course, self.spec, self.store, self.dry_run = course, spec, store, dry_run

    def prepare(self) -> None:
        """The assignment's notebooks and grade cells in nbgrader's tables (idempotent)."""
        if not self.dry_run:
            _database(lambda: self.store.sync_assignment(self.spec))

    def persist(self, job, outcome: SubmissionResult | BaseException) -> StudentRow:
        return self.persist_batch([(job, outcome)])[0]

    def persist_batch(self, done: list[tuple[Any, SubmissionResult | BaseException]]) -> list[StudentRow]:
        """A row per (job, outcome); the graded ones stored in one transaction, then their files."""
        rows: list[StudentRow] = []
        graded: list[tuple[StudentRow, SubmissionResult, str, Any]] = []
        for job, outcome in done:
            received = parse_timestamp(self.course.submitted / job.student / self.spec.name)
            if isinstance(outcome, BaseException):
                rows.append(StudentRow(job.student, "infrastructure", received=received,
                                       problem=f"{job.student}: {type(outcome).__name__}: {_first_line(outcome)}"))
                continue
            text = dumps(outcome)
            rows.append(row_from_result(json.loads(text), "graded", received))
            graded.append((rows[-1], outcome, text, received))
        if self.dry_run:
            for row, outcome, _text, _received in graded:
                row.changes = self.store.diff(outcome)
            return rows
        if graded:
            changes = _database(lambda: self.store.commit_many([(o, t, r) for _row, o, t, r in graded]))
            for (row, outcome, text, _received), changed in zip(graded, changes, strict=True):
                row.changes, row.written = changed, True
                try:  # after the commit: a crash here leaves the DB graded; the next run restores the files
                    self._write_files(outcome.student, text)
                except OSError as exc:  # e.g. a full disk: the grade is safe in the DB
                    row.problem = (f"{outcome.student}: graded and stored, but the results file was not written "
                                   f"({exc}); the next run writes it")
        return rows

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
        # the results file last: unchanged() checks only it, so a crash in between leaves it stale or missing
        # and the next run writes both again
        write_autograded(self.course, self.spec, json.loads(text))
        write_atomic(result_path(self.course.results, self.spec.name, student), text)


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
