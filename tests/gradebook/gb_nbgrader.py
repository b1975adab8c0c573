"""A real nbgrader gradebook with every case the score reader must get right, built through nbgrader's API,
and nbgrader's own answer for it (Gradebook.student_dicts / submission_dicts) to compare readers against."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

COURSE_ID = "dl-course"
ASKED = ["assignment1", "assignment2", "speedtest1"]  # speedtest1 is not in the database at all

# (assignment, notebook, cell, kind, max_score); kind: code / markdown grade cell, or task (markdown)
CELLS = [
    ("assignment1", "knn", "k1", "code", 3.0), ("assignment1", "knn", "k2", "markdown", 2.0),
    ("assignment1", "linear", "l1", "code", 5.0), ("assignment1", "linear", "task", "task", 4.0),
    ("assignment2", "polyfit", "p1", "code", 10.0), ("assignment2", "polyfit", "p2", "code", 0.7),
    ("extra_hw", "x", "x1", "code", 1.0),  # in the database, not asked for
]
STUDENTS = {
    "alice": {"first_name": "Alice", "last_name": "A", "email": "alice@uni.example", "lms_user_id": "1001"},
    "bob": {},  # no names at all: read as ''
    "carol": {"first_name": "Carol", "last_name": "C", "email": "carol@uni.example"},
    "dan": {"first_name": "Dan", "last_name": "D"},
    "erin": {"first_name": "Erin", "last_name": "E"},  # never submits
}
# (assignment, notebook, cell, student) -> (auto, manual, extra credit); unset grades stay NULL
GRADES = {
    ("assignment1", "knn", "k1", "alice"): (3.0, None, None),
    ("assignment1", "knn", "k2", "alice"): (0.1, None, None),
    ("assignment1", "linear", "l1", "alice"): (4.7, None, None),
    ("assignment1", "linear", "task", "alice"): (None, 3.3, None),
    ("assignment1", "knn", "k1", "bob"): (0.0, 2.5, None),  # a manual grade overrides the autograded one
    ("assignment1", "knn", "k2", "bob"): (None, None, None),  # neither: counts 0
    ("assignment1", "linear", "l1", "bob"): (1.2, None, 0.3),  # extra credit on top of the auto score
    ("assignment1", "linear", "task", "bob"): (None, None, 1.0),  # extra credit without a score: counts 0
    ("assignment2", "polyfit", "p1", "alice"): (7.1, 9.9, 0.2),
    ("assignment2", "polyfit", "p2", "alice"): (0.7, None, None),
    ("assignment2", "polyfit", "p1", "carol"): (0.3, None, None),  # carol did not submit assignment1
    ("assignment2", "polyfit", "p1", "dan"): (10.0, None, None),
    ("extra_hw", "x", "x1", "alice"): (1.0, None, None),
}
SUBMITTED = {("assignment1", "alice"), ("assignment1", "bob"), ("assignment2", "alice"), ("assignment2", "carol"),
             ("assignment2", "dan"), ("extra_hw", "alice")}


def nbgrader_on_path() -> None:
    """nbgrader's Gradebook runs the `alembic` command of this environment for a new database."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def build(db_url: str) -> None:
    nbgrader_on_path()
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        for a in dict.fromkeys(c[0] for c in CELLS):
            gb.add_assignment(a)
        for a, nb in dict.fromkeys((c[0], c[1]) for c in CELLS):
            gb.add_notebook(nb, a)
        for a, nb, cell, kind, mx in CELLS:
            if kind == "task":
                gb.add_task_cell(cell, nb, a, max_score=mx, cell_type="markdown")
            else:
                gb.add_grade_cell(cell, nb, a, max_score=mx, cell_type=kind)
        for sid, info in STUDENTS.items():
            gb.add_student(sid, **info)
        for a, sid in sorted(SUBMITTED):
            gb.add_submission(a, sid)
        for (a, nb, cell, sid), (auto, manual, extra) in GRADES.items():
            g = gb.find_grade(cell, nb, a, sid)
            g.auto_score, g.manual_score, g.extra_credit = auto, manual, extra
        gb.db.commit()


def nbgrader_answer(db_url: str, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, students) through nbgrader's Gradebook API: the reference the fast reader must equal."""
    nbgrader_on_path()
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        students = pd.DataFrame(
            [{"student_id": s["id"], "first_name": s.get("first_name") or "", "last_name": s.get("last_name") or "",
              "email": s.get("email") or "", "id_number": s.get("lms_user_id") or ""} for s in gb.student_dicts()])
        for name in names:
            try:
                gb.find_assignment(name)
            except MissingEntry:
                continue
            rows += [{"student_id": d["student"], "item": name, "score": float(d["score"] or 0.0),
                      "max_score": float(d["max_score"] or 0.0)} for d in gb.submission_dicts(name)]
    scores = pd.DataFrame(rows, columns=["student_id", "item", "score", "max_score"])
    return (scores.sort_values(["item", "student_id"], ignore_index=True),
            students.sort_values("student_id", ignore_index=True))
