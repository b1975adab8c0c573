"""A whole speed test in a lecture with a shortened window, through the real exchange: `course speedtest open`
records the window and releases; a re-run after a crash keeps the window; one student submits inside the
window, one after it; the first command after the window closes the test (collect, grade in the sandbox) and
`course grades` judges by the recorded window, not by course.toml's `opens` (a date in 2022)."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
import time
from pathlib import Path

import pytest
from exchange_student import nbgrader_submit
from speedtest_course import make_course, sandbox_flag

TEST = "speedtest1"
NOTEBOOK = "speedtest1.ipynb"
DURATION_S = 90  # long enough for the in-window submit on a loaded machine; the test waits for its end


def _window(db_url: str) -> dict:
    from gradebook import course_db

    with course_db.reading(db_url) as conn:
        return course_db.read_windows(conn)[TEST]


def _wait_until(when: dt.datetime, deadline_s: float = 600) -> None:
    """Poll the clock until `when` (the window's end): the event waited for is the clock passing it."""
    limit = time.monotonic() + deadline_s
    while dt.datetime.now(dt.UTC) <= when:
        assert time.monotonic() < limit, f"the clock never passed {when}"
        time.sleep(0.5)


def _newest_ctime(folder: Path) -> dt.datetime:
    times = [p.lstat().st_ctime for p in [folder, *folder.rglob("*")]]
    return dt.datetime.fromtimestamp(max(times), dt.UTC)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two gradings in the sandbox and a window to wait out, on a loaded machine
def test_speed_test_in_a_lecture(tmp_path: Path):
    import nbgrader.exchange.default.submit  # noqa: F401  (seconds to import: not inside the window)

    c = make_course(tmp_path, (TEST,), lambda t: t.replace('grace = "30s"', 'grace = "1s"'))
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,id_number\n"
                      "alice,Alice,A,a@example.org,1\nbob,Bob,B,b@example.org,2\ncarol,Carol,C,c@example.org,3\n")
    acc = tmp_path / "accommodations.csv"
    acc.write_text("student_id,item,extra\ncarol,speedtest1,7s\n")
    c.course("import", "roster", str(roster))
    c.course("import", "accommodations", str(acc))

    opened = c.course("speedtest", "open", TEST, "--duration", f"{DURATION_S}s").stdout
    first = _window(c.db_url)
    assert first["duration_s"] == DURATION_S and first["grace_s"] == 1.0 and first["closed_at"] is None
    outbound = c.exchange / "dl-course" / "outbound" / TEST
    assert (outbound / NOTEBOOK).is_file()
    assert "carol" in opened and "7 s" in opened, opened  # the accommodation's extended time is shown

    # alice answers inside the window (the instructor's solution; her numbers are rebuilt from her id)
    answer = (c.root / "source" / TEST / NOTEBOOK).read_bytes()
    homes = tmp_path / "home"
    folder = nbgrader_submit(c.exchange, homes, "dl-course", "alice", TEST, {NOTEBOOK: answer})
    end = first["opened_at"] + dt.timedelta(seconds=DURATION_S + 1)
    assert _newest_ctime(folder) < end, "the machine was too slow to submit within the window"

    # a crash between recording and releasing, then `open` again with another duration: window unchanged
    shutil.rmtree(outbound)
    again = c.course("speedtest", "open", TEST, "--duration", "10m").stdout
    assert _window(c.db_url) == first
    assert (outbound / NOTEBOOK).is_file() and "ignored" in again
    status = c.course("speedtest", "status", TEST, "--once").stdout
    assert "1 submitted" in status, status

    # bob answers after the window (and after carol's extended time): scored 0
    _wait_until(end + dt.timedelta(seconds=7))
    nbgrader_submit(c.exchange, homes, "dl-course", "bob", TEST, {NOTEBOOK: answer})

    closed = c.course("speedtest", "status", TEST, "--once", "--no-check-owner", "--workers", "1",
                   *sandbox_flag()).stdout
    assert _window(c.db_url)["closed_at"] is not None
    sections = {name: closed.split(f"{TEST}: {name}")[1].split(f"{TEST}:")[0]
                for name in ("in time (1)", "late (1)", "not at all (1)")}
    assert "alice" in sections["in time (1)"]
    assert "bob" in sections["late (1)"] and "after the window closed" in sections["late (1)"]
    assert "carol" in sections["not at all (1)"]

    out = tmp_path / "grades.csv"
    c.course("grades", "--to", str(out))
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert rows["alice"][f"{TEST}.status"] == "in window"
    assert float(rows["alice"][f"{TEST}.fraction"]) == 1.0
    assert rows["bob"][f"{TEST}.status"] == "after window" and float(rows["bob"][f"{TEST}.fraction"]) == 0
    assert float(rows["bob"][f"{TEST}.raw"]) > 0  # graded full marks, zeroed only by the window
    assert rows["carol"][f"{TEST}.status"] == "missing"
    assert float(rows["carol"][f"{TEST}.extra_s"]) == 7
