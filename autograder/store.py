"""The one writer: per-submission grades into nbgrader's gradebook, in ONE transaction each.

- nbgrader's own tables hold the scores (grade.auto_score, needs_manual_grade=False), so `nbgrader export`,
  formgrader, feedback and the gradebook engineer's readers keep working; manual_score is never touched,
  so grades entered in formgrader survive re-grading (the ORM updates only the columns we change).
- Two tables of ours in the same database:
  course_graded_submission  (assignment, student) -> key (submission hash, suite hash, seed) + result JSON;
                            an unchanged key means "already graded": a re-run writes nothing;
  course_grade_event        append-only: one row per changed auto score (old -> new, source, key, time).
- SQLite: every transaction starts with BEGIN IMMEDIATE (deferred transactions fail with "database is locked"
  when two writers upgrade their read locks; immediate ones wait for the lock, up to the busy timeout).
  PostgreSQL through the same URL.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from autograder.results import SubmissionResult
from course_errors import UserError
from course_sqlite import serialise_writes

meta = MetaData()

graded_submission = Table(
    "course_graded_submission", meta,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("submission_hash", String(64), nullable=False),
    Column("suite_hash", String(64), nullable=False),
    Column("base_seed", Integer, nullable=False),
    Column("result_json", Text, nullable=False),
    Column("graded_at", DateTime, nullable=False),
)

grade_event = Table(
    "course_grade_event", meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False, index=True),
    Column("student", String(128), nullable=False, index=True),
    Column("notebook", String(128), nullable=False),
    Column("test_id", String(128), nullable=False),
    Column("old", Float, nullable=True),
    Column("new", Float, nullable=False),
    Column("source", String(32), nullable=False),
    Column("suite_hash", String(64), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("submission_hash", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
)


class DatabaseError(UserError):
    """The gradebook cannot be written (read-only, gone, full): stop cleanly, resume later."""


@dataclass(frozen=True)
class Change:
    notebook: str
    test_id: str
    old: float | None
    new: float


def make_engine(db_url: str) -> Engine:
    if db_url.startswith("sqlite"):
        return serialise_writes(create_engine(db_url, future=True))
    return create_engine(db_url, future=True, pool_pre_ping=True)


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs `alembic` for a new database: find it next to this interpreter."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def sqlite_path(db_url: str) -> Path | None:
    return Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None


class Store:
    def __init__(self, db_url: str, course_id: str, create: bool = True) -> None:
        """create=False (dry run): never creates the database or a table; a missing one reads as empty."""
        self.db_url = db_url
        self.course_id = course_id
        path = sqlite_path(db_url)
        self.exists = True
        if create:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                # instructor only (students, e-mails, hidden-test source); SQLite's journals copy this mode
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
            from nbgrader.api import Gradebook

            _alembic_on_path()
            Gradebook(db_url, course_id=course_id).close()  # nbgrader's schema, alembic stamp, course row
        elif path is not None and not path.is_file():
            self.exists = False
        self.engine = make_engine(db_url)
        if create:
            meta.create_all(self.engine)
        else:
            from sqlalchemy import inspect

            self.exists = self.exists and graded_submission.name in inspect(self.engine).get_table_names()
        self.Session = sessionmaker(bind=self.engine, future=True, autoflush=True, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self.Session()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    # -- the assignment's structure ----------------------------------------------------------------
    def gradebook(self):
        """nbgrader's Gradebook, through its public constructor; on SQLite its writes also BEGIN IMMEDIATE."""
        from nbgrader.api import Gradebook

        _alembic_on_path()
        gb = Gradebook(self.db_url, course_id=self.course_id)
        if self.db_url.startswith("sqlite"):
            serialise_writes(gb.engine)
        return gb

    def sync_assignment(self, spec) -> None:
        """Assignment, notebooks, grade/solution/source cells from the spec, via nbgrader's API (idempotent)."""
        from nbgrader.utils import compute_checksum

        gb = self.gradebook()
        try:
            gb.update_or_create_assignment(spec.name)
            for name, nb in spec.notebooks.items():
                gb.update_or_create_notebook(name, spec.name)
                for cs in spec.cells[name]:
                    if cs.grade_id is None:
                        continue
                    if cs.grade:
                        gb.update_or_create_grade_cell(cs.grade_id, name, spec.name, max_score=cs.points,
                                                       cell_type=cs.cell_type)
                    if cs.solution:
                        gb.update_or_create_solution_cell(cs.grade_id, name, spec.name)
                    if cs.grade or cs.solution or cs.locked:
                        cell = nb.cells[cs.index]
                        gb.update_or_create_source_cell(cs.grade_id, name, spec.name, source=cs.source,
                                                        cell_type=cs.cell_type, locked=cs.locked,
                                                        checksum=compute_checksum(cell))
        finally:
            gb.close()

    # -- reading -------------------------------------------------------------------------------------
    def graded(self, assignment: str) -> dict[str, tuple[str, str, int]]:
        """student -> (submission hash, suite hash, base seed) of what is stored."""
        if not self.exists:
            return {}
        with self.session() as s:
            rows = s.execute(select(graded_submission.c.student, graded_submission.c.submission_hash,
                                    graded_submission.c.suite_hash, graded_submission.c.base_seed)
                             .where(graded_submission.c.assignment == assignment)).all()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def stored_result(self, assignment: str, student: str) -> str | None:
        if not self.exists:
            return None
        with self.session() as s:
            return s.execute(select(graded_submission.c.result_json).where(
                graded_submission.c.assignment == assignment, graded_submission.c.student == student)).scalar()

    def auto_scores(self, assignment: str, student: str) -> dict[tuple[str, str], float | None]:
        """(notebook, grade cell) -> auto_score as nbgrader holds it now (empty if not submitted)."""
        if not self.exists:
            return {}
        from nbgrader.api import Assignment, BaseCell, Grade, Notebook, SubmittedAssignment, SubmittedNotebook

        with self.session() as s:
            rows = s.execute(
                select(Notebook.name, BaseCell.name, Grade.auto_score)
                .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .join(BaseCell, Grade.cell_id == BaseCell.id)
                .where(Assignment.name == assignment, SubmittedAssignment.student_id == student)).all()
        return {(nb, cell): score for nb, cell, score in rows}

    # -- writing -------------------------------------------------------------------------------------
    def diff(self, result: SubmissionResult) -> list[Change]:
        current = self.auto_scores(result.assignment, result.student)
        return [Change(t.notebook, t.test_id, current.get((t.notebook, t.test_id)), t.score)
                for t in result.tests if current.get((t.notebook, t.test_id)) != t.score]

    def commit_many(self, items: list[tuple[SubmissionResult, str, dt.datetime | None]]) -> list[list[Change]]:
        """commit() of several submissions in ONE transaction (all or none): the submissions that completed
        while the previous transaction ran. Returns each one's changes."""
        with self.session() as s:
            return [self.commit(result, text, timestamp, session=s) for result, text, timestamp in items]

    def commit(self, result: SubmissionResult, result_json: str, timestamp: dt.datetime | None = None,
               session: Session | None = None) -> list[Change]:
        """Grades + events + the graded key of one submission, atomically (or inside `session`, a transaction
        of commit_many). Returns the changes written."""
        if session is None:
            return self.commit_many([(result, result_json, timestamp)])[0]
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        s = session
        changes = _write_grades(s, result, timestamp)
        tests = {(t.notebook, t.test_id): t for t in result.tests}
        for c in changes:
            s.execute(grade_event.insert().values(
                assignment=result.assignment, student=result.student, notebook=c.notebook, test_id=c.test_id,
                old=c.old, new=c.new, source="autograde", suite_hash=result.suite_hash,
                seed=tests[(c.notebook, c.test_id)].seed, submission_hash=result.submission_hash, at=now))
        key = {"submission_hash": result.submission_hash, "suite_hash": result.suite_hash,
               "base_seed": result.base_seed, "result_json": result_json, "graded_at": now}
        updated = s.execute(graded_submission.update().where(
            graded_submission.c.assignment == result.assignment,
            graded_submission.c.student == result.student).values(**key)).rowcount
        if not updated:
            s.execute(graded_submission.insert().values(assignment=result.assignment, student=result.student,
                                                        **key))
        return changes

    def events(self, assignment: str | None = None) -> list[dict]:
        if not self.exists:
            return []
        q = select(grade_event).order_by(grade_event.c.id)
        if assignment is not None:
            q = q.where(grade_event.c.assignment == assignment)
        with self.session() as s:
            return [dict(r._mapping) for r in s.execute(q)]


def _submission(s: Session, result: SubmissionResult, timestamp: dt.datetime | None):
    """nbgrader's (assignment, submitted assignment) rows of this result, created if missing."""
    from nbgrader.api import Assignment, Student, SubmittedAssignment

    assignment = s.execute(select(Assignment).where(Assignment.name == result.assignment)).scalar_one()
    student = s.get(Student, result.student)
    if student is None:
        student = Student(id=result.student)
        s.add(student)
    sub = s.execute(select(SubmittedAssignment).where(
        SubmittedAssignment.assignment_id == assignment.id,
        SubmittedAssignment.student_id == result.student)).scalar_one_or_none()
    if sub is None:
        sub = SubmittedAssignment(assignment=assignment, student=student)
        s.add(sub)
    if timestamp is not None and sub.timestamp != timestamp:
        sub.timestamp = timestamp
    return assignment, sub


def _write_grades(s: Session, result: SubmissionResult, timestamp: dt.datetime | None) -> list[Change]:
    """Auto scores into nbgrader's grade rows (manual scores untouched); the changed ones."""
    from nbgrader.api import Comment, SubmittedNotebook

    assignment, sub = _submission(s, result, timestamp)
    tests = {(t.notebook, t.test_id): t for t in result.tests}
    changes: list[Change] = []
    for notebook in assignment.notebooks:
        snb = next((n for n in sub.notebooks if n.notebook_id == notebook.id), None)
        if snb is None:
            snb = SubmittedNotebook(notebook=notebook, assignment=sub)
            s.add(snb)
        changes += _grade_cells(s, notebook, snb, tests)
        comments = {c.cell_id for c in snb.comments}
        for cell in notebook.solution_cells:
            if cell.id not in comments:
                s.add(Comment(cell_id=cell.id, notebook=snb))
    return changes


def _grade_cells(s: Session, notebook, snb, tests: dict) -> list[Change]:
    from nbgrader.api import Grade

    changes = []
    grades = {g.cell_id: g for g in snb.grades}
    for cell in notebook.grade_cells:
        grade = grades.get(cell.id)
        if grade is None:
            grade = Grade(cell_id=cell.id, notebook=snb, needs_manual_grade=True)
            s.add(grade)
        t = tests.get((notebook.name, cell.name))
        if t is None:
            continue  # a manually graded cell: left to formgrader
        if grade.auto_score != t.score:
            changes.append(Change(t.notebook, t.test_id, grade.auto_score, t.score))
            grade.auto_score = t.score
        if grade.needs_manual_grade:
            grade.needs_manual_grade = False
    return changes


def parse_timestamp(folder: Path) -> dt.datetime | None:
    """submitted/<student>/<assignment>/timestamp.txt (written by `course collect` with the server's time)."""
    path = Path(folder) / "timestamp.txt"
    if not path.is_file():
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(path.read_text(encoding="utf-8", errors="replace")[:100].strip()).replace(tzinfo=None)
    except Exception:  # noqa: BLE001 - a garbled timestamp is no reason to skip grading
        return None
