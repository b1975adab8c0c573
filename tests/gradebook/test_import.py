"""`course import`: CSV validation (file, line, field), the append-only audit log (in the course database)
and its replay."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from gb_cli_helper import course, course_inproc

from gradebook import audit

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "gradebook"
KINDS = ("roster", "scores", "teams", "team_scores", "extensions", "accommodations")


def db(data: Path) -> str:
    return f"sqlite:///{data / 'gradebook.db'}"  # the course's default URL (the helpers unset COURSE_DB_URL)


def log_of(data: Path) -> pd.DataFrame:
    return audit.read_log(db(data))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    for kind in KINDS:
        p = course_inproc("import", kind, str(FIX / f"{kind}.csv"), data=d)
        assert p.returncode == 0, p.stderr
    return d


def test_import_all_kinds_and_replay(data):
    tables = audit.current_tables(db(data))
    assert list(tables["roster"]["student_id"]) == ["alice", "bob", "carol", "dan"]
    scores = tables["scores"].set_index(["student_id", "item"])["score"]
    assert scores[("bob", "lecture")] == "2.5" and scores[("dan", "project")] == "4.0"
    assert tables["extensions"].set_index("student_id").loc["dan", "extra"] == "2022-04-08T23:59:00+03:00"
    assert tables["accommodations"].iloc[0].to_dict() == {"student_id": "carol", "item": "*", "extra": "2m"}


def test_reimport_appends_audit_rows_and_the_log_reproduces_each_state(data, tmp_path):
    log_before = log_of(data)
    assert len(log_before) and list(log_before["seq"]) == list(range(1, len(log_before) + 1))
    again = course_inproc("import", "scores", str(FIX / "scores.csv"), data=data)
    assert again.returncode == 0 and "0 values changed, 0 rows removed" in again.stdout
    assert log_of(data).equals(log_before)  # same file: no events

    changed = tmp_path / "scores2.csv"
    changed.write_text("student_id,item,score,comment\nbob,lecture,1.0,corrected\nbob,poster,0.5,\n"
                       "dan,project,4.0,individual override\n")
    p = course_inproc("import", "scores", str(changed), "--replace", data=data)  # alice/lecture goes
    assert p.returncode == 0, p.stderr
    assert "removed 1 row(s): alice/lecture" in p.stdout
    log = log_of(data)
    new = log[log["source"] == str(changed.resolve())]
    bob = new[(new["key"] == "bob|lecture") & (new["field"] == "score")].iloc[0]
    assert (bob["old"], bob["new"], bob["action"]) == ("2.5", "1.0", "set")
    assert bob["at"].endswith("+00:00") and bob["seq"] > log_before["seq"].max()
    gone = new[new["action"] == "delete"]
    assert list(gone["key"]) == ["alice|lecture"]
    # replaying the log up to the first import reproduces the first file, to its end the second
    first = audit.replay(log[log["seq"] < new["seq"].min()])["scores"]
    assert first[["student_id", "item", "score"]].values.tolist() == pd.read_csv(
        FIX / "scores.csv", dtype=str)[["student_id", "item", "score"]].values.tolist()
    now = audit.replay(log)["scores"]
    assert now[["student_id", "item", "score"]].values.tolist() == [
        ["bob", "lecture", "1.0"], ["bob", "poster", "0.5"], ["dan", "project", "4.0"]]
    shown = course_inproc("audit", "--student", "bob", data=data)
    assert shown.returncode == 0 and "corrected" in shown.stdout


BAD = [
    ("scores", "student_id,item,score\nalice,lecture,1\nzoe,lecture,1\n", 3, "student_id", "unknown student 'zoe'"),
    ("scores", "student_id,item,score\nalice,lecture,1\nalice,lecture,2\n", 3, "item",
     "duplicate row for alice/lecture (first on line 2)"),
    ("scores", "student_id,item,score\nalice,poster,5.5\n", 2, "score", "5.5 is outside 0..5 for item 'poster'"),
    ("scores", "student_id,item,score\nalice,poster,-1\n", 2, "score", "outside 0..5"),
    ("scores", "student_id,item,score\nalice,poster,lots\n", 2, "score", "'lots' is not a number"),
    ("scores", "student_id,item,score\nalice,assignment1,1\n", 2, "item", "'assignment1' is not a manual item"),
    ("team_scores", "team,item,score\nT1,lecture,1\n", 2, "item", "'lecture' is not a team item"),
    ("extensions", "student_id,item,extra\nbob,assignment1,2022-03-32T23:59:00+02:00\n", 2, "extra",
     "is not a date-time"),
    ("extensions", "student_id,item,extra\nbob,assignment1,2022-03-18T23:59:00\n", 2, "extra", "has no time zone"),
    ("extensions", "student_id,item,extra\nbob,project,1d\n", 2, "item", "'project' has no due date"),
    ("accommodations", "student_id,item,extra\nbob,speedtest4,2m\n", 2, "item", "'speedtest4' is not a speed test"),
    ("accommodations", "student_id,item,extra\nbob,*,two minutes\n", 2, "extra", "is not a duration"),
    ("roster", "student_id,first_name,email\nann,Ann,ann-at-uni\n", 2, "email", "is not an e-mail address"),
]


@pytest.mark.parametrize("kind, text, line, field, why", BAD)
def test_bad_csv_is_one_error_naming_file_line_field_and_changes_nothing(data, tmp_path, kind, text, line,
                                                                         field, why):
    bad = tmp_path / f"bad-{kind}.csv"
    bad.write_text(text)
    log = log_of(data)
    p = course_inproc("import", kind, str(bad), data=data)
    assert p.returncode == 2
    err = p.stderr.strip()
    assert "\n" not in err and err.startswith("course import: error: ")
    assert f"{bad} line {line}: field '{field}': " in err and why in err, err
    assert log_of(data).equals(log)


@pytest.mark.parametrize("text, why", [
    ("student_id,item,points\nalice,lecture,1\n", "line 1: unknown column 'points'"),
    ("student_id,score\nalice,1\n", "line 1: missing column 'item'"),
    ("student_id,item,score\nalice,lecture\n", "line 2: 2 fields, the header has 3"),
])
def test_bad_header_or_shape(data, tmp_path, text, why):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    log = log_of(data)
    p = course_inproc("import", "scores", str(bad), data=data)
    assert p.returncode == 2 and why in p.stderr, p.stderr
    assert log_of(data).equals(log)


def test_scores_before_a_roster_are_refused(tmp_path):
    d = tmp_path / "data"
    p = course_inproc("import", "scores", str(FIX / "scores.csv"), data=d)
    assert p.returncode == 2 and "import the roster first" in p.stderr
    assert not d.exists()


def test_missing_file(tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)
    p = course_inproc("import", "roster", str(tmp_path / "nope.csv"), data=tmp_path / "d")
    assert p.returncode == 2 and "nope.csv: no such file" in p.stderr


def test_real_cli_process_prints_one_line_and_exit_2(data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,item,score\nalice,poster,9\n")
    log = log_of(data)
    p = course("import", "scores", str(bad), data=data)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"course import: error: {bad} line 2: field 'score': 9 is outside 0..5 for item 'poster'; " \
        "fix the value (or max_raw in course.toml)\n"
    assert log_of(data).equals(log)


def test_team_larger_than_team_size(data, tmp_path):
    bad = tmp_path / "teams.csv"
    bad.write_text("team,student_id\nT1,alice\nT1,bob\nT1,carol\n")
    p = course_inproc("import", "teams", str(bad), data=data)
    assert p.returncode == 2
    assert f"{bad} line 4: field 'team': team 'T1' has more than 2 members" in p.stderr
