"""`course term --first-week`: a new term's dates from week 1, comments kept, nothing written on error;
`date_warnings` / `course collect`: dates of an earlier term are reported."""
from __future__ import annotations

import datetime as dt
import shutil
import sys
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import course_cli
from gradebook.policy import load_policy
from gradebook.term import date_warnings

REPO = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/Bucharest")
sys.path.insert(0, str(REPO / "tests" / "gradebook"))


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "course.toml"
    shutil.copy(REPO / "course.toml", path)
    return path


def _dates(path: Path) -> dict[str, dt.datetime]:
    data = tomllib.loads(path.read_text())
    out = {f"items.{n}.{k}": v for n, i in data["items"].items() for k, v in i.items() if isinstance(v, dt.datetime)}
    out |= {f"speedtests.tests.{n}.opens": t["opens"] for n, t in data["speedtests"]["tests"].items()}
    return out


def _comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]


def test_new_term_moves_every_date_by_the_plan_and_keeps_comments(policy_file, capsys):
    before_text, before = policy_file.read_text(), _dates(policy_file)
    # 2025: the switch to summer time (30 March) falls after week 7's Wednesday, in 2022 it fell before it
    assert course_cli.main(["term", "--first-week", "2025-02-12", "--policy", str(policy_file)]) == 0
    out = capsys.readouterr().out
    after = _dates(policy_file)
    assert set(after) == set(before) and len(after) == 7
    for key, old in before.items():
        new = after[key]
        old_local, new_local = old.astimezone(TZ), new.astimezone(TZ)
        # same week of the plan, weekday and wall-clock time; the offset is the zone's on the new date
        assert (new_local.date() - dt.date(2025, 2, 12)).days == (old_local.date() - dt.date(2022, 2, 16)).days
        assert new_local.time() == old_local.time()
        assert new.utcoffset() == new_local.utcoffset()
        assert f"{key:33}" in out and old.isoformat() in out and new.isoformat() in out
    assert after["speedtests.tests.speedtest2.opens"].isoformat() == "2025-03-26T18:00:00+02:00"  # +03:00 in 2022
    assert after["items.assignment2.due"].isoformat() == "2025-04-02T23:59:00+03:00"
    text = policy_file.read_text()
    assert _comments(text) == [c.replace("week 1 = 2022-02-16", "week 1 = 2025-02-12") for c in _comments(before_text)]
    assert len(text.splitlines()) == len(before_text.splitlines())
    load_policy(policy_file)  # valid, and a second run from the new week 1 is the identity
    assert course_cli.main(["term", "--first-week", "2025-02-12", "--policy", str(policy_file)]) == 0
    assert policy_file.read_text() == text


def test_dry_run_prints_the_table_and_writes_nothing(policy_file, capsys):
    before = policy_file.read_bytes()
    assert course_cli.main(["term", "--first-week", "2027-02-17", "--policy", str(policy_file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2022-03-16T23:59:00+02:00" in out and "2027-03-17T23:59:00+02:00" in out and "nothing written" in out
    assert policy_file.read_bytes() == before


@pytest.mark.parametrize("argv, message", [
    (["--first-week", "2027-02-16"], "a Tuesday, but the lecture plan's weeks start on a Wednesday"),
    (["--first-week", "17.02.2027"], "not a date; write it as YYYY-MM-DD"),
])
def test_bad_argument_is_one_line_and_changes_nothing(policy_file, capsys, argv, message):
    before = policy_file.read_bytes()
    assert course_cli.main(["term", *argv, "--policy", str(policy_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert policy_file.read_bytes() == before


def test_a_time_skipped_by_the_clock_change_is_refused(policy_file, capsys):
    # 03:30 on the Sunday before week 7 exists in 2022 (the switch was a week earlier), not on 2025-03-30
    text = policy_file.read_text().replace("due = 2022-04-06T23:59:00+03:00", "due = 2022-04-03T03:30:00+03:00")
    policy_file.write_text(text)
    assert course_cli.main(["term", "--first-week", "2025-02-12", "--policy", str(policy_file)]) == 2
    err = capsys.readouterr().err
    assert "[items.assignment2.due]: 2025-03-30 03:30 does not exist in Europe/Bucharest" in err
    assert policy_file.read_text() == text


def test_a_file_without_its_week_1_or_invalid_is_refused(policy_file, capsys):
    text = policy_file.read_text().replace("week 1 = 2022-02-16", "first week in February")
    policy_file.write_text(text)
    assert course_cli.main(["term", "--first-week", "2025-02-12", "--policy", str(policy_file)]) == 2
    assert "no `week 1 = YYYY-MM-DD` comment" in capsys.readouterr().err
    bad = text.replace("week 1 = ", "").replace('per = "day"', 'per = "week"')
    policy_file.write_text(bad + "\n# week 1 = 2022-02-16\n")
    assert course_cli.main(["term", "--first-week", "2025-02-12", "--policy", str(policy_file)]) == 2
    assert "[late.assignments.per]: expected one of 'day', 'hour'" in capsys.readouterr().err
    assert policy_file.read_text() == bad + "\n# week 1 = 2022-02-16\n"


def test_date_warnings_name_what_has_passed(policy_file):
    policy = load_policy(policy_file)  # the 2022 dates
    at = dt.datetime(2022, 3, 17, 12, 0, tzinfo=dt.UTC)  # a day after assignment 1's due date
    lines = date_warnings(policy, at)
    assert [line.split(":")[0] for line in lines] == ["assignment1", "speedtest1"]
    assert "submissions received then are late: −10% per started day" in lines[0]
    assert "course term --first-week" in lines[0] and "answers received then score 0" in lines[1]
    assert date_warnings(policy, at, ["assignment2", "speedtest2"]) == []
    late = date_warnings(policy, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ["assignment2"])
    assert len(late) == 1 and "past the 7 days hard cutoff and score 0" in late[0]
    assert date_warnings(policy, dt.datetime(2022, 3, 1, tzinfo=dt.UTC)) == []
    assert date_warnings(policy, at, only_zero=True) == ["speedtest1" + lines[1][len("speedtest1"):]]


def test_course_collect_warns_when_the_dates_are_of_an_earlier_term(tmp_path, monkeypatch, capsys):
    from gb_exchange import make_course, release, submit

    root = make_course(tmp_path)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    exchange = tmp_path / "data" / "exchange"
    release(exchange, "assignment1")
    submit(exchange, tmp_path / "home", "alice", "assignment1", "alice")
    assert course_cli.main(["collect", "assignment1", "--no-check-owner"]) == 0
    err = capsys.readouterr().err
    assert "warning: assignment1: due 2022-03-16 23:59 EET (Wed)" in err
    assert "past the 7 days hard cutoff and score 0" in err and "course term --first-week" in err

    # this term's dates, due in the future: collecting says nothing about them
    week1 = dt.date.today() + dt.timedelta(days=(2 - dt.date.today().weekday()) % 7)
    assert course_cli.main(["term", "--first-week", week1.isoformat()]) == 0
    capsys.readouterr()
    submit(exchange, tmp_path / "home", "alice", "assignment1", "alice again")
    assert course_cli.main(["collect", "assignment1", "--no-check-owner"]) == 0
    assert "warning" not in capsys.readouterr().err
