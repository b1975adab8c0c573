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

import pandas as pd
from sqlalchemy import Column, Float, MetaData, String, Table, case, func, literal_column, select, union_all
from sqlalchemy.engine import Connection

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


def _per_kind(cells: Table, cell_type: str, names: list[str]):
    sa = submitted_assignment
    joined = (sa.join(assignment, assignment.c.id == sa.c.assignment_id)
              .join(submitted_notebook, submitted_notebook.c.assignment_id == sa.c.id)
              .join(grade, grade.c.notebook_id == submitted_notebook.c.id)
              .join(cells, cells.c.id == grade.c.cell_id))
    return (select(sa.c.id.label("id"), assignment.c.name.label("item"), sa.c.student_id.label("student_id"),
                   func.sum(_grade_score()).label("score"), func.sum(cells.c.max_score).label("max_score"))
            .select_from(joined)
            .where(cells.c.cell_type == cell_type, assignment.c.name.in_(names))
            .group_by(sa.c.id, assignment.c.name, sa.c.student_id))


def scores_query(names: list[str]):
    parts = union_all(_per_kind(grade_cells, "code", names), _per_kind(grade_cells, "markdown", names),
                      _per_kind(task_cells, "markdown", names)).subquery()
    return (select(parts.c.student_id, parts.c.item, func.sum(parts.c.score), func.sum(parts.c.max_score))
            .group_by(parts.c.id, parts.c.item, parts.c.student_id)
            .order_by(parts.c.item, parts.c.student_id))


def has_schema(names: set[str]) -> bool:
    return {t.name for t in meta.sorted_tables} <= names


def scores(conn: Connection | None, names: list[str], present: set[str]) -> pd.DataFrame:
    """student_id, item, score, max_score of every graded submission of the named assignments."""
    rows = conn.execute(scores_query(names)).all() if conn is not None and names and has_schema(present) else []
    out = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return out.astype({"student_id": object, "item": object, "score": float, "max_score": float})


def students(conn: Connection | None, present: set[str]) -> pd.DataFrame:
    """nbgrader's students (id order) in the roster's columns; absent names read as ''."""
    if conn is None or student.name not in present:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STUDENT_COLUMNS})
    s = student.c
    query = select(s.id, *(func.coalesce(c, "") for c in (s.first_name, s.last_name, s.email, s.lms_user_id)))
    return pd.DataFrame(conn.execute(query.order_by(s.id)).all(), columns=list(STUDENT_COLUMNS), dtype=object)
