"""Scores and students read straight from nbgrader's tables: one SQL query each.

nbgrader's `Gradebook.submission_dicts` runs one query of several correlated subqueries per assignment
through the ORM, and importing nbgrader pulls in nbformat and jsonschema: minutes for 10 000 students
where this reads the same rows in about a second. The sums follow nbgrader's own definitions (nbgrader.api
Grade.score and Gradebook.submission_dicts) so the numbers are the same:
- a grade's score is the manual score if set, else the auto score, else 0, plus extra credit if a score is set;
- a submission's score and max_score are summed per cell kind (code grade cells, markdown grade cells,
  markdown task cells), then together; max_score counts the cells the submission has grades for;
- only submissions with at least one such grade are listed; a missing submission is no row.
The queries are plain SQL text, run by gradebook.course_db.rows on either driver (sqlite3 or SQLAlchemy);
nbgrader owns the schema and creates it. The database is nbgrader's and trusted: rows are not validated.
"""
from __future__ import annotations

import pandas as pd

from gradebook.course_db import Reader, frame, in_list, rows

# every table the score query reads (a database without nbgrader's schema reads as no scores)
TABLES = frozenset({"assignment", "submitted_assignment", "submitted_notebook", "grade", "grade_cells",
                    "task_cells", "student"})
SCORE_COLUMNS = ("student_id", "item", "score", "max_score")
STUDENT_COLUMNS = ("student_id", "first_name", "last_name", "email", "id_number")

# Grades summed per submission and cell kind in one pass (grouped by submission before any other join),
# then the kinds added in nbgrader's order (code, markdown, task) so the sums come out as nbgrader's do.
_GRADE_SCORE = ("CASE WHEN manual_score IS NOT NULL THEN manual_score + COALESCE(extra_credit, 0.0) "
                "WHEN auto_score IS NOT NULL THEN auto_score + COALESCE(extra_credit, 0.0) ELSE 0.0 END")
_KINDS = (("gc", "code"), ("gc", "markdown"), ("tc", "markdown"))  # (grade_cells | task_cells, cell_type)
_SUMS = ",\n".join(f"SUM(CASE WHEN {t}.cell_type = '{kind}' THEN g.score END) AS s{i}, "
                   f"SUM(CASE WHEN {t}.cell_type = '{kind}' THEN {t}.max_score END) AS m{i}"
                   for i, (t, kind) in enumerate(_KINDS))
SCORES_SQL = f"""
SELECT sa.student_id, a.name,
       COALESCE(p.s0, 0.0) + COALESCE(p.s1, 0.0) + COALESCE(p.s2, 0.0),
       COALESCE(p.m0, 0.0) + COALESCE(p.m1, 0.0) + COALESCE(p.m2, 0.0)
FROM (SELECT sn.assignment_id AS submission,
             {_SUMS},
             COUNT(CASE WHEN gc.cell_type IN ('code', 'markdown') OR tc.cell_type = 'markdown' THEN 1 END) AS n
      FROM (SELECT notebook_id, cell_id, {_GRADE_SCORE} AS score FROM grade) AS g
      JOIN submitted_notebook AS sn ON sn.id = g.notebook_id
      LEFT OUTER JOIN grade_cells AS gc ON gc.id = g.cell_id
      LEFT OUTER JOIN task_cells AS tc ON tc.id = g.cell_id
      GROUP BY sn.assignment_id) AS p
JOIN submitted_assignment AS sa ON sa.id = p.submission
JOIN assignment AS a ON a.id = sa.assignment_id
WHERE a.name IN {{names}} AND p.n > 0
ORDER BY a.name, sa.student_id
"""
STUDENTS_SQL = """
SELECT id, COALESCE(first_name, ''), COALESCE(last_name, ''), COALESCE(email, ''), COALESCE(lms_user_id, '')
FROM student ORDER BY id
"""


def has_schema(names: set[str]) -> bool:
    return TABLES <= names


def scores(conn: Reader | None, names: list[str], present: set[str]) -> pd.DataFrame:
    """student_id, item, score, max_score of every graded submission of the named assignments."""
    found: list = []
    if conn is not None and names and has_schema(present):
        listed, params = in_list("name", names)
        found = rows(conn, SCORES_SQL.format(names=listed), params)
    out = frame(found, SCORE_COLUMNS)
    return out.astype({"score": float, "max_score": float})


def students(conn: Reader | None, present: set[str]) -> pd.DataFrame:
    """nbgrader's students (id order) in the roster's columns; absent names read as ''."""
    if conn is None or "student" not in present:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STUDENT_COLUMNS})
    return frame(rows(conn, STUDENTS_SQL), STUDENT_COLUMNS)
