"""End to end: nbgrader exchange -> `course collect` -> scores in a real nbgrader gradebook -> `course import`
-> `course grades` (full and Moodle) / `course explain` / `course report`, all through the `course` CLI."""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
from gb_cli_helper import course
from gb_exchange import make_course, release, submit

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "gradebook"


def _gradebook(db_url: str, scores: dict[str, float]) -> None:
    """Autograded scores the way the autograder stores them: grade cells + submissions via nbgrader's API."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # nbgrader shells out to alembic
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id="dl-course") as gb:
        gb.add_assignment("assignment1")
        gb.add_notebook("knn", "assignment1")
        gb.add_grade_cell("t1", "knn", "assignment1", max_score=6, cell_type="code")
        gb.add_grade_cell("t2", "knn", "assignment1", max_score=4, cell_type="code")
        for student, score in scores.items():
            gb.add_student(student)
            gb.add_submission("assignment1", student)
            g1 = gb.find_grade("t1", "knn", "assignment1", student)
            g2 = gb.find_grade("t2", "knn", "assignment1", student)
            g1.auto_score, g2.auto_score = min(score, 6), max(score - 6, 0)
        gb.db.commit()


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    # The shipped policy, with assignment 1 due in the future: receipts taken now are on time.
    text = (Path(__file__).resolve().parents[2] / "course.toml").read_text()
    root = make_course(tmp, text.replace("due = 2022-03-16T23:59:00+02:00", "due = 2030-03-16T23:59:00+02:00"))
    data = tmp / "data"
    release(data / "exchange", "assignment1")
    home = tmp / "home"
    submit(data / "exchange", home, "alice", "assignment1", "alice")
    submit(data / "exchange", home, "bob", "assignment1", "bob")
    p = course("collect", "assignment1", "--no-check-owner", root=root, data=data)
    assert p.returncode == 0, p.stderr
    assert "assignment1: 2 new submission(s), 0 rejected" in p.stderr
    _gradebook(f"sqlite:///{data / 'gradebook.db'}", {"alice": 8.0, "bob": 10.0})
    for kind in ("roster", "scores", "teams", "team_scores", "extensions", "accommodations"):
        p = course("import", kind, str(FIX / f"{kind}.csv"), root=root, data=data)
        assert p.returncode == 0, p.stderr
    return root, data


def test_grades_csv_has_every_roster_student(course_root, tmp_path):
    root, data = course_root
    out = tmp_path / "grades.csv"
    p = course("grades", "--to", str(out), root=root, data=data)
    assert p.returncode == 0, p.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert list(rows) == ["alice", "bob", "carol", "dan"]
    a, b = rows["alice"], rows["bob"]
    assert float(a["assignment1.raw"]) == 8 and float(a["assignment1.max"]) == 10
    assert a["assignment1.status"] == "on time" and float(a["assignment1.points"]) == pytest.approx(1.6)
    assert float(b["assignment1.points"]) == 2.0
    assert rows["carol"]["assignment1.status"] == "missing"
    assert float(a["project.raw"]) == 3.5 and float(rows["dan"]["project.raw"]) == 4.0  # team T2 overridden
    assert float(b["lecture.points"]) == 2.0 and b["lecture.capped"] == "True"
    # lab part: 1.6 of 5 -> fails; final = 1.6 + 3.5 (project) + 1.5 (lecture) = 6.6
    assert a["passed"] == "False" and float(a["final"]) == 6.6
    header = out.read_text().splitlines()[0].split(",")
    assert header[:6] == ["student_id", "first_name", "last_name", "email", "id_number", "assignment1.raw"]
    assert header[-5:] == ["total", "capped", "final", "passed", "reasons"]


def test_moodle_layout(course_root, tmp_path):
    root, data = course_root
    out = tmp_path / "moodle.csv"
    p = course("grades", "--to", str(out), "--format", "moodle", root=root, data=data)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:3] == ["Email address", "First name", "Last name"]
    assert list(rows[0])[-1] == "Final grade"
    assert rows[0]["Email address"] == "alice@uni.example" and rows[0]["Final grade"] == "6.6"
    assert rows[0]["Assignment 1 (kNN, linear classifier)"] == "1.6"
    p = course("grades", "--to", str(tmp_path / "m2.csv"), "--format", "moodle", "--moodle-id", "idnumber",
               root=root, data=data)
    assert p.returncode == 0 and (tmp_path / "m2.csv").read_text().startswith("ID number,")


def test_explain(course_root):
    root, data = course_root
    p = course("explain", "alice", root=root, data=data)
    assert p.returncode == 0, p.stderr
    assert "Assignment 1 (kNN, linear classifier): 8 of 10 raw; received" in p.stdout
    assert "on time → 1.6 of 2" in p.stdout
    assert "Project (teams of 2, poster session): team T1 score 3.5 of 5 → 3.5 of 5" in p.stdout
    assert "FAILED: Lab part" in p.stdout
    bad = course("explain", "zoe", root=root, data=data)
    assert bad.returncode == 2 and "unknown student 'zoe'" in bad.stderr


def test_report(course_root, tmp_path):
    root, data = course_root
    out = tmp_path / "report.html"
    p = course("report", "--to", str(out), root=root, data=data)
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert html.count("<svg") == 7  # 3 items + speed tests + 2 bonuses + final grade
    assert "<td>Lab part (assignments + speed tests)</td><td>0</td><td>4</td>" in html
    assert "<td>Assignment 1 (kNN, linear classifier)</td><td>2</td>" in html  # 2 on time
    assert "src=" not in html.lower()  # self-contained: nothing fetched
    assert "Submissions refused at collection" in html


def test_output_to_a_missing_folder_is_one_clear_error(course_root, tmp_path):
    root, data = course_root
    p = course("grades", "--to", str(tmp_path / "no" / "g.csv"), root=root, data=data)
    assert p.returncode == 2 and "folder" in p.stderr and "does not exist" in p.stderr
    assert p.stderr.count("\n") == 1
