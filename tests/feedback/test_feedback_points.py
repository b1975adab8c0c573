"""`course feedback`: the final points next to the raw scores, for a speed test (its share and the speed
tests' points) as `course explain` states them; the released name is nbgrader's own notebook hash."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import course_cli
from autograder.feedback_release import feedback_name

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "gradebook"))


def test_released_name_is_nbgraders_notebook_hash():
    from nbgrader.utils import notebook_hash

    for secret, nb in (("f00dfeed" * 4, "polyfit"), ("ünïcode-secret", "knn_classifier")):
        assert feedback_name(secret, nb) == notebook_hash(secret=secret, notebook_id=nb) + ".html"


def _gradebook(db_url: str, student: str, score: float) -> None:
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"  # nbgrader shells out to alembic
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id="dl-course") as gb:
        gb.add_assignment("speedtest1")
        gb.add_notebook("st", "speedtest1")
        gb.add_grade_cell("q1", "st", "speedtest1", max_score=2, cell_type="code")
        gb.add_student(student)
        gb.add_submission("speedtest1", student)
        gb.find_grade("q1", "st", "speedtest1", student).auto_score = score
        gb.db.commit()


def test_speed_test_feedback_shows_its_share_and_the_speed_test_points(tmp_path, monkeypatch, capsys):
    from gb_exchange import make_course, release, submit

    tz = ZoneInfo("Europe/Bucharest")
    opens = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).astimezone(tz).replace(microsecond=0)
    text = re.sub(r"opens = 2022-03-09T18:00:00\+02:00", f"opens = {opens.isoformat()}",
                  (REPO / "course.toml").read_text())
    root, data = make_course(tmp_path, text), tmp_path / "data"
    for key, value in (("COURSE_ROOT", root), ("COURSE_DATA_DIR", data)):
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    release(data / "exchange", "speedtest1")
    submit(data / "exchange", tmp_path / "home", "alice", "speedtest1", "answer")
    assert course_cli.main(["collect", "speedtest1", "--no-check-owner"]) == 0
    _gradebook(f"sqlite:///{data / 'gradebook.db'}", "alice", 1.5)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,id_number\nalice,Alice,A,a@example.org,1\n")
    assert course_cli.main(["import", "roster", str(roster)]) == 0
    result = {"assignment": "speedtest1", "student": "alice", "score": 1.5, "max_score": 2.0, "sandbox": True,
              "tests": [{"notebook": "st", "test_id": "q1", "score": 1.5, "max_score": 2.0, "status": "mismatch",
                         "message": "3 of 4 values <b>right</b>"}], "notes": [], "cells": []}
    (data / "results" / "speedtest1").mkdir(parents=True)
    (data / "results" / "speedtest1" / "alice.json").write_text(json.dumps(result))
    capsys.readouterr()
    assert course_cli.main(["explain", "alice"]) == 0
    explained = capsys.readouterr().out.splitlines()
    share = next(x for x in explained if x.startswith("speedtest1: "))
    total = next(x for x in explained if x.startswith("Speed tests: "))
    assert "1.5 of 2 raw" in share and "→ 75%" in share and "→ 0.25 of 1" in total

    assert course_cli.main(["feedback", "speedtest1"]) == 0
    html = (data / "feedback" / "alice" / "speedtest1" / "feedback.html").read_text()
    assert "Test score (raw): <b>1.5 / 2</b>" in html
    assert f"{share[len('speedtest1: '):]}; {total}" in html
    assert "3 of 4 values &lt;b&gt;right&lt;/b&gt;" in html  # escaped, as every message
