"""`course release` and `course status` on a scratch course with the real nbgrader and exchange."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from exchange_student import nbgrader_submit
from speedtest_course import make_course

A = "assignment2"
NOTEBOOK = "polyfit.ipynb"


@pytest.mark.slow
def test_release_refuses_a_stale_release_then_force_regenerates(tmp_path: Path):
    c = make_course(tmp_path, (A,))
    out = c.course("release", A).stdout
    outbound = c.exchange / "dl-course" / "outbound" / A
    assert (outbound / NOTEBOOK).is_file()
    assert "release/ is current" in out and "every student of the course" in out
    assert "before now" in out  # course.toml's 2022 due date is in the past: warned
    assert "already released, unchanged" in c.course("release", A).stdout

    # the instructor edits a released notebook by hand: refused, one line naming it, nothing changed
    released = c.root / "release" / A / NOTEBOOK
    nb = json.loads(released.read_text())
    nb["cells"][0]["source"] = "edited by hand\n"
    released.write_text(json.dumps(nb))
    before = released.read_bytes()
    p = c.course("release", A, ok=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert NOTEBOOK in p.stderr and "--force" in p.stderr
    assert released.read_bytes() == before

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,id_number\nalice,Alice,A,a@example.org,1\n")
    c.course("import", "roster", str(roster))
    out = c.course("release", A, "--force").stdout
    assert "regenerated release/" in out and "the 1 student(s) of the roster" in out
    assert "edited by hand" not in released.read_text()

    p = c.course("release", "no_such_assignment", ok=False)
    assert p.returncode == 2 and "no_such_assignment" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_status_shows_server_times_collected_and_pending(tmp_path: Path):
    c = make_course(tmp_path, (A,))
    c.course("release", A)
    homes = tmp_path / "home"
    nb = (c.root / "release" / A / NOTEBOOK).read_bytes()
    nbgrader_submit(c.exchange, homes, "dl-course", "alice", A, {NOTEBOOK: nb})
    c.course("collect", A, "--no-check-owner")
    pending = nbgrader_submit(c.exchange, homes, "dl-course", "bob", A, {NOTEBOOK: nb})
    # bob's own clock says 2022 (timestamp.txt): the status must show the server's time, not his
    (pending / "timestamp.txt").write_text("2022-03-01 10:00:00.000000 UTC")
    os.utime(pending / "timestamp.txt", (0, 0))  # mtime can be set back; ctime cannot
    year = time.gmtime().tm_year
    out = c.course("status", A).stdout
    lines = {ln.split("│")[1].strip(): ln for ln in out.splitlines() if ln.count("│") > 3}
    assert "collected" in lines["alice"] and "in the exchange" in lines["bob"], out
    assert str(year) in lines["bob"] and "2022" not in lines["bob"]
    assert "past cutoff" in lines["alice"]  # due 2022 by course.toml: the policy's verdict
    assert "fetched: not known" in out
    p = c.course("status", "nope", ok=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
