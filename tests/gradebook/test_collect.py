"""`course collect`: server receipt times (ctime, not timestamp.txt), owner checks, every version kept."""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from gb_exchange import make_course, release, submit

from gradebook import course_db
from gradebook.collect import collect
from gradebook.records import graded_receipts


@pytest.fixture
def course(tmp_path, monkeypatch):
    from course_dir import load

    root = make_course(tmp_path)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    c = load()
    release(c.exchange, "assignment1")
    return c


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to a foreign uid needs root")
def test_collect_uses_server_time_checks_owners_and_keeps_versions(course, tmp_path):
    home = tmp_path / "home"
    start = time.time()
    first = submit(course.exchange, home, "alice", "assignment1", "alice v1")
    # The student back-dates everything she controls: mtimes and her timestamp.txt.
    old = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
    (first / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC")
    for p in [first, *first.iterdir()]:
        os.utime(p, (old, old))
    time.sleep(0.01)
    submit(course.exchange, home, "alice", "assignment1", "alice v2")
    bob = submit(course.exchange, home, "bob", "assignment1", "bob, uploaded by someone else")
    for p in [bob, *bob.iterdir()]:
        os.chown(p, 54321, 54321)
    submit(course.exchange, home, "mallory", "assignment1", "no such account")

    uids = {"alice": os.geteuid(), "bob": os.geteuid()}
    got = collect(course, "assignment1", uid_of=uids.get)
    by = {(r.student_id, r.version): r for r in got}
    assert len(got) == 4
    alice = sorted((r for r in got if r.student_id == "alice"), key=lambda r: r.received_at)
    assert [r.status for r in alice] == ["accepted", "accepted"]
    assert all(dt.datetime.fromisoformat(r.received_at).timestamp() >= start - 1 for r in alice)
    rejected = {r.student_id: r.reason for r in got if r.status == "rejected"}
    assert set(rejected) == {"bob", "mallory"}
    assert "owned by uid 54321" in rejected["bob"] and "no system account 'mallory'" in rejected["mallory"]
    assert by[("bob", bob.name)].owner_uid == "54321"

    # submitted/ holds alice's newest version with the server's receipt time; nothing for bob or mallory
    sub = course.submitted / "alice" / "assignment1"
    assert "alice v2" in (sub / "knn.ipynb").read_text()
    stamp = dt.datetime.strptime((sub / "timestamp.txt").read_text(), "%Y-%m-%d %H:%M:%S.%f UTC")
    assert stamp.replace(tzinfo=dt.UTC).timestamp() >= start - 1
    assert not (course.submitted / "bob").exists() and not (course.submitted / "mallory").exists()
    # every version is kept, rejected ones as evidence
    versions = course.data / "gradebook" / "submissions" / "assignment1"
    assert len(list((versions / "alice").iterdir())) == 2 and len(list((versions / "bob").iterdir())) == 1

    with course_db.reading(course.db_url) as conn:
        log = course_db.read_receipts(conn)
    assert sorted(log["student_id"]) == ["alice", "alice", "bob", "mallory"]
    assert set(log["path"]) == {f"assignment1/{r.student_id}/{r.version}" for r in got}
    receipts = graded_receipts(log)
    assert list(receipts["student_id"]) == ["alice"]
    assert receipts["received_at"].iloc[0] == max(dt.datetime.fromisoformat(r.received_at) for r in alice)

    assert collect(course, "assignment1", uid_of=uids.get) == []  # idempotent
    with course_db.reading(course.db_url) as conn:
        assert course_db.read_receipts(conn).equals(log)


def test_collect_without_inbound_is_a_clear_error(course):
    import shutil

    shutil.rmtree(course.exchange)
    from course_errors import UserError

    with pytest.raises(UserError, match="no inbound directory"):
        collect(course, "assignment1")
