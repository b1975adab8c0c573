"""Scores and students read straight from nbgrader's tables: one SQL query each, SQLAlchemy Core.

nbgrader's `Gradebook.submission_dicts` runs one query of several correlated subqueries per assignment
through the ORM, and importing nbgrader pulls in nbformat and jsonschema: minutes for 10 000 students
where this reads the same rows in about a second. The sums follow nbgrader's own definitions (nbgrader.api
Grade.score and Gradebook.submission_dicts) so the numbers are the same:
- a grade's score is the manual score if set, else the auto score, else 0, plus extra credit if a score is set;
- a submission's score and max_score are summed per cell kind (code grade cells, markdown grade cells,
  markdown task cells), then together; max_score counts the cells the submission has grades for;
- only submissions with at least one such grade are listed; a missing submission is no row.
Only the columns read here are declared; nbgrader owns the schema and creates it.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    MetaData,
    String,
    Table,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from gradebook.course_db import frame

meta = MetaData()
_id = "id"
assignment = Table("assignment", meta, Column(_id, String), Column("name", String))
submitted_assignment = Table("submitted_assignment", meta, Column(_id, String), Column("assignment_id", String),
                             Column("student_id", String))
submitted_notebook = Table("submitted_notebook", meta, Column(_id, String), Column("assignment_id", String))
grade = Table("grade", meta, Column(_id, String), Column("notebook_id", String), Column("cell_id", String),
              Column("auto_score", Float), Column("manual_score", Float), Column("extra_credit", Float))
grade_cells = Table("grade_cells", meta, Column(_id, String), Column("max_score", Float), Column("cell_type", String))
task_cells = Table("task_cells", meta, Column(_id, String), Column("max_score", Float), Column("cell_type", String))
student = Table("student", meta, Column(_id, String), Column("first_name", String), Column("last_name", String),
                Column("email", String), Column("lms_user_id", String))

SCORE_COLUMNS = ("student_id", "item", "score", "max_score")
STUDENT_COLUMNS = ("student_id", "first_name", "last_name", "email", "id_number")


def _grade_score():
    g = grade.c
    extra = case((g.extra_credit.is_not(None), g.extra_credit), else_=literal_column("0.0"))
    return case((g.manual_score.is_not(None), g.manual_score + extra),
                (g.auto_score.is_not(None), g.auto_score + extra), else_=literal_column("0.0"))


def scores_query(names: list[str]):
    """Grades summed per submission and cell kind in one pass (grouped by submission before any other join),
    then the kinds added in nbgrader's order (code, markdown, task) so the sums come out as nbgrader's do."""
    sn, sa, gc, tc = submitted_notebook, submitted_assignment, grade_cells, task_cells
    g = select(grade.c.notebook_id, grade.c.cell_id, _grade_score().label("score")).subquery()
    sums = []
    for i, (cells, kind) in enumerate([(gc, "code"), (gc, "markdown"), (tc, "markdown")]):
        hit = cells.c.cell_type == kind
        sums += [func.sum(case((hit, g.c.score))).label(f"s{i}"), func.sum(case((hit, cells.c.max_score))).label(f"m{i}")]
    counted = func.count(case((or_(gc.c.cell_type.in_(["code", "markdown"]), tc.c.cell_type == "markdown"), 1)))
    per = (select(sn.c.assignment_id.label("submission"), *sums, counted.label("n"))
           .select_from(g.join(sn, sn.c.id == g.c.notebook_id).outerjoin(gc, gc.c.id == g.c.cell_id)
                        .outerjoin(tc, tc.c.id == g.c.cell_id))
           .group_by(sn.c.assignment_id).subquery())
    zero: ColumnElement[Any] = literal_column("0.0")
    score, max_score = (sum_in_order([func.coalesce(per.c[f"{p}{i}"], zero) for i in range(3)]) for p in "sm")
    return (select(sa.c.student_id, assignment.c.name, score, max_score)
            .select_from(per.join(sa, sa.c.id == per.c.submission)
                         .join(assignment, assignment.c.id == sa.c.assignment_id))
            .where(assignment.c.name.in_(names), per.c.n > 0)
            .order_by(assignment.c.name, sa.c.student_id))


def sum_in_order(terms: list):
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def has_schema(names: set[str]) -> bool:
    return {t.name for t in meta.sorted_tables} <= names


def scores(conn: Connection | None, names: list[str], present: set[str]) -> pd.DataFrame:
    """student_id, item, score, max_score of every graded submission of the named assignments."""
    rows = conn.execute(scores_query(names)).all() if conn is not None and names and has_schema(present) else []
    out = frame(rows, SCORE_COLUMNS)
    return out.astype({"score": float, "max_score": float})


def students(conn: Connection | None, present: set[str]) -> pd.DataFrame:
    """nbgrader's students (id order) in the roster's columns; absent names read as ''."""
    if conn is None or student.name not in present:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STUDENT_COLUMNS})
    s = student.c
    query = select(s.id, *(func.coalesce(c, "") for c in (s.first_name, s.last_name, s.email, s.lms_user_id)))
    return frame(conn.execute(query.order_by(s.id)).all(), STUDENT_COLUMNS)
