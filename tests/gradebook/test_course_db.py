"""The course database, on SQLite and on a private PostgreSQL cluster: nbgrader's scores read by one SQL
query equal nbgrader's own Gradebook API; the audit and receipt logs are tables written in one locked
transaction per import / collect; readers create nothing and never import nbgrader."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import subprocess
import sys
import uuid
from pathlib import Path

import gb_nbgrader
import pandas as pd
import pg_cluster
import pytest

from gradebook import audit, course_db, nbgrader_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg_server():
    if not pg_cluster.available():
        pytest.skip(f"PostgreSQL binaries not found in {pg_cluster.PG_BIN}")
    with pg_cluster.private_cluster() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'gradebook.db'}"
    return pg_cluster.new_database(request.getfixturevalue("pg_server"), f"t{uuid.uuid4().hex[:12]}")


def fast_answer(db_url: str, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    with course_db.reading(db_url) as conn:
        present = course_db.tables(conn)
        return nbgrader_db.scores(conn, names, present), nbgrader_db.students(conn, present)


def test_one_query_reads_what_nbgrader_reports(db_url):
    (Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True) if db_url.startswith("sqlite") else None)
    gb_nbgrader.build(db_url)
    scores, students = fast_answer(db_url, gb_nbgrader.ASKED)
    want_scores, want_students = gb_nbgrader.nbgrader_answer(db_url, gb_nbgrader.ASKED)
    pd.testing.assert_frame_equal(scores, want_scores, check_exact=True)
    pd.testing.assert_frame_equal(students, want_students, check_exact=True)
    # the cases the fixture is there for, spelled out
    by = scores.set_index(["item", "student_id"])
    assert list(by.index) == [("assignment1", "alice"), ("assignment1", "bob"), ("assignment2", "alice"),
                              ("assignment2", "carol"), ("assignment2", "dan")]  # no carol/dan/erin in a1
    assert by.loc[("assignment1", "bob"), "score"] == 2.5 + 0 + 1.2 + 0.3 + 0  # manual over auto, extra credit
    assert by.loc[("assignment1", "alice"), "max_score"] == 14.0  # grade cells and the task cell
    assert by.loc[("assignment2", "alice"), "score"] == pytest.approx(9.9 + 0.2 + 0.7)
    assert students.set_index("student_id").loc["bob"].tolist() == ["", "", "", ""]
    assert students.set_index("student_id").loc["alice", "id_number"] == "1001"


def test_readers_create_nothing_and_read_absent_as_empty(tmp_path):
    missing = tmp_path / "data" / "gradebook.db"
    url = f"sqlite:///{missing}"
    scores, students = fast_answer(url, gb_nbgrader.ASKED)
    assert scores.empty and students.empty and list(scores.columns) == list(nbgrader_db.SCORE_COLUMNS)
    assert audit.read_log(url).empty and audit.current_tables(url) == {}
    with course_db.reading(url) as conn:
        assert course_db.read_receipts(conn).empty
    assert not missing.parent.exists()
    missing.parent.mkdir()
    missing.touch()  # a database without any table
    scores, students = fast_answer(url, gb_nbgrader.ASKED)
    assert scores.empty and students.empty and audit.read_log(url).empty
    assert missing.stat().st_size == 0


def test_read_only_commands_do_not_import_nbgrader(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    gb_nbgrader.build(url)
    code = ("import sys; from gradebook import records, course_db, nbgrader_db, audit, commands, explain, export\n"
            f"with course_db.reading({url!r}) as c: nbgrader_db.scores(c, ['assignment1'], course_db.tables(c))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbgrader', 'nbformat', 'jsonschema')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout


def test_reading_a_sqlite_file_imports_neither_sqlalchemy_nor_nbgrader(tmp_path):
    """What `course grades` and `course explain` read (every source) comes through the standard library's
    sqlite3 for a SQLite file; SQLAlchemy is for other URLs and for writers."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    gb_nbgrader.build(url)
    audit.import_rows(url, gb_nbgrader.COURSE_ID, "roster", [{"student_id": "alice", "email": "a@uni.example"}],
                      "roster.csv")
    with course_db.writing(url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_receipts(conn, [{"assignment": "assignment1", "student_id": "alice", "version": "v",
                                       "received_at": "2022-03-10T12:00:00+00:00", "owner_uid": "0",
                                       "expected_uid": "0", "status": "accepted", "reason": "",
                                       "path": "assignment1/alice/v"}])
    code = ("import sys; from types import SimpleNamespace\n"
            "from gradebook import commands, compute, explain, export, records\n"
            "from gradebook.policy import load_policy\n"
            f"policy = load_policy({str(ROOT / 'course.toml')!r})\n"
            f"rec = records.load(SimpleNamespace(db_url={url!r}), policy)\n"
            "assert len(rec.roster) == 1 and len(rec.scores) and len(rec.receipts), rec\n"
            "compute.compute(policy, rec)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'nbgrader', 'nbformat'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_read_queries_name_the_declared_columns():
    """The readers' SQL names the columns that the tables' definitions (the DDL) declare."""
    from gradebook import course_tables

    def names(table) -> tuple[str, ...]:
        return tuple(c.name for c in table.columns)

    assert course_db.AUDIT_COLUMNS == names(course_tables.audit_event)
    assert set(course_db.REPLAY_COLUMNS) < set(course_db.AUDIT_COLUMNS)
    assert ("id", *course_db.RECEIPT_COLUMNS) == names(course_tables.receipt)
    assert course_db.WINDOW_COLUMNS == names(course_tables.speedtest_window)
    assert (course_db.AUDIT_TABLE, course_db.RECEIPT_TABLE, course_db.WINDOW_TABLE) == (
        course_tables.audit_event.name, course_tables.receipt.name, course_tables.speedtest_window.name)
    assert course_db.receipt is course_tables.receipt  # the writers' name for it, as before


def test_first_write_keeps_nbgrader_schema_first(db_url):
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_audit_events(conn, "roster", "r.csv", [
            {"key": "alice", "field": "email", "old": "", "new": "a@uni.example", "action": "set"}])
    with course_db.reading(db_url) as conn:
        present = course_db.tables(conn)
    assert {"alembic_version", "assignment", "course_audit_event", "course_receipt"} <= present
    gb_nbgrader.build(db_url)  # nbgrader still works on the database it did not create alone
    assert not fast_answer(db_url, gb_nbgrader.ASKED)[0].empty
    assert audit.current_tables(db_url)["roster"].to_dict("records") == [
        {"student_id": "alice", "first_name": "", "last_name": "", "email": "a@uni.example", "id_number": ""}]


def test_a_failed_import_writes_nothing(db_url):
    audit.import_rows(db_url, gb_nbgrader.COURSE_ID, "roster", [{"student_id": "alice", "email": "a@x"}], "r1.csv")
    before = audit.read_log(db_url)
    with pytest.raises(RuntimeError, match="disk gone"), course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_audit_events(conn, "roster", "r2.csv", [
            {"key": "bob", "field": "email", "old": "", "new": "b@x", "action": "set"}])
        raise RuntimeError("disk gone")
    assert audit.read_log(db_url).equals(before)


def _import_many(db_url: str, rows: list[dict[str, str]], source: str, start, times: int) -> None:
    start.wait()
    for _ in range(times):
        audit.import_rows(db_url, gb_nbgrader.COURSE_ID, "roster", rows, source)


def test_concurrent_imports_each_diff_against_the_state_the_other_left(db_url):
    """Two instructors import different rosters at once: every import replaces the whole table, so the
    result is one of the two files, never a mix (a diff computed outside the lock would leave both)."""
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID):
        pass  # the schema exists before the race (nbgrader's own set-up is not made for concurrent creators)
    files = {src: [{"student_id": f"{src}{i}", "email": f"{src}{i}@uni.example"} for i in range(15)]
             for src in ("a", "b")}
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_import_many, args=(db_url, rows, src, start, 4)) for src, rows in files.items()]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0, 0]
    log = audit.read_log(db_url)
    assert list(log["seq"]) == sorted(log["seq"]) and log["seq"].is_unique
    last_source = log["source"].iloc[-1]
    roster = audit.current_tables(db_url)["roster"]
    assert sorted(roster["student_id"]) == sorted(r["student_id"] for r in files[last_source])
    # and every prefix of the log that ends an import replays to exactly one of the two files
    for end in log.index[log["source"] != log["source"].shift(-1)]:
        state = sorted(audit.replay(log.loc[:end])["roster"]["student_id"])
        assert state in [sorted(r["student_id"] for r in rows) for rows in files.values()]


def test_receipts_round_trip_and_the_newest_accepted_wins(db_url):
    t0 = dt.datetime(2030, 3, 16, 21, 59, 0, 123456, tzinfo=dt.UTC)

    def rec(student, version, seconds, status="accepted"):
        return {"assignment": "assignment1", "student_id": student, "version": version,
                "received_at": (t0 + dt.timedelta(seconds=seconds)).isoformat(), "owner_uid": "1000",
                "expected_uid": "1000", "status": status, "reason": "" if status == "accepted" else "foreign owner",
                "path": f"assignment1/{student}/{version}"}

    first = [rec("alice", "v1", 0), rec("alice", "v2", 60), rec("bob", "v1", 5, "rejected")]
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_receipts(conn, first)
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        assert course_db.receipt_paths(conn) == {r["path"] for r in first}
        course_db.add_receipts(conn, [rec("alice", "v3", 30), rec("bob", "v2", 90)])
        newest = course_db.newest_accepted(conn, "assignment1", {"alice", "bob"})
    assert {s: r["version"] for s, r in newest.items()} == {"alice": "v2", "bob": "v2"}
    assert newest["alice"]["received_at"] == (t0 + dt.timedelta(seconds=60)).isoformat()  # microseconds kept
    with course_db.reading(db_url) as conn:
        log = course_db.read_receipts(conn)
    assert list(log["version"]) == ["v1", "v2", "v1", "v3", "v2"]  # the order recorded
    assert log["received_at"].iloc[0] == pd.Timestamp(t0)
    with pytest.raises(Exception, match="(?i)unique"), course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_receipts(conn, [rec("alice", "v1", 0)])  # a version is recorded once


def test_records_load_reads_every_source_from_the_one_database(db_url):
    """What `course grades` reads, on either backend: roster and manual scores replayed from the audit
    table, nbgrader's scores, and the graded receipt per submission."""
    from types import SimpleNamespace

    from gradebook.compute import compute
    from gradebook.policy import load_policy
    from gradebook.records import load

    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    gb_nbgrader.build(db_url)
    roster = [{"student_id": s, "first_name": i.get("first_name", ""), "last_name": "", "email": "",
               "id_number": ""} for s, i in gb_nbgrader.STUDENTS.items()]
    audit.import_rows(db_url, gb_nbgrader.COURSE_ID, "roster", roster, "roster.csv")
    audit.import_rows(db_url, gb_nbgrader.COURSE_ID, "scores",
                      [{"student_id": "bob", "item": "lecture", "score": "1.5"}], "scores.csv")
    at = "2022-03-10T12:00:00+00:00"
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        course_db.add_receipts(conn, [{"assignment": "assignment1", "student_id": s, "version": "v", "received_at": at,
                                       "owner_uid": "0", "expected_uid": "0", "status": "accepted", "reason": "",
                                       "path": f"assignment1/{s}/v"} for s in ("alice", "bob")])
    policy = load_policy(ROOT / "course.toml")
    rec = load(SimpleNamespace(db_url=db_url, course_id=gb_nbgrader.COURSE_ID), policy)
    assert list(rec.roster["student_id"]) == list(gb_nbgrader.STUDENTS)
    want, _ = gb_nbgrader.nbgrader_answer(db_url, policy.nbgrader_items)
    pd.testing.assert_frame_equal(rec.scores, want, check_exact=True)
    assert rec.manual.to_dict("records") == [{"student_id": "bob", "item": "lecture", "score": 1.5}]
    assert sorted(rec.receipts["student_id"]) == ["alice", "bob"]
    assert set(rec.receipts["received_at"]) == {pd.Timestamp(at)}
    grades = compute(policy, rec)
    assert grades.loc["bob", "assignment1.raw"] == 4.0 and grades.loc["bob", "assignment1.max"] == 14.0
    assert grades.loc["carol", "assignment1.status"] == "missing"


def test_speed_test_windows_round_trip(db_url):
    """A window as `course speedtest open` records it reads back the same through either connection: the
    read connection of `course grades` and the write transaction in which `open` checks for one."""
    from sqlalchemy import insert, update

    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    opened = dt.datetime(2030, 3, 9, 16, 0, 0, 250000)  # naive UTC, as it is stored
    t = course_db.speedtest_window
    with course_db.writing(db_url, gb_nbgrader.COURSE_ID) as conn:
        assert course_db.read_windows(conn) == {}
        conn.execute(insert(t), {"test": "speedtest1", "opened_at": opened, "duration_s": 300, "grace_s": 30.5})
        conn.execute(insert(t), {"test": "speedtest2", "opened_at": opened, "duration_s": 60, "grace_s": 0})
        conn.execute(update(t).where(t.c.test == "speedtest1").values(closed_at=opened + dt.timedelta(minutes=6)))
        in_transaction = course_db.read_windows(conn)
    with course_db.reading(db_url) as conn:
        read = course_db.read_windows(conn)
    utc = opened.replace(tzinfo=dt.UTC)
    assert read == in_transaction == {
        "speedtest1": {"test": "speedtest1", "opened_at": utc, "duration_s": 300.0, "grace_s": 30.5,
                       "closed_at": utc + dt.timedelta(minutes=6)},
        "speedtest2": {"test": "speedtest2", "opened_at": utc, "duration_s": 60.0, "grace_s": 0.0,
                       "closed_at": None}}
    assert all(isinstance(w["duration_s"], float) for w in read.values())
