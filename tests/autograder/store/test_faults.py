"""Crash safety, DB failures, concurrency, infrastructure errors (F01–F04, F06, F07; codes in tests/CODES.md)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import harness
import pytest
from fixture_course import course_env

from autograder.results import without_volatile

REPO = Path(__file__).resolve().parents[3]
CASES = ["correct", "wrong", "real_world/float32", "real_world/matrix", "zero/float_subclass", "zero/object_array"]


# Runs compared with each other grade with one grading key (seeds are keyed with it).
KEY = b"f0" * 32


def populate(n: int) -> list[str]:
    course, _ = harness.load_course()
    key = Path(course.data) / "grading.key"
    if not key.exists():
        key.write_bytes(KEY)
        key.chmod(0o600)
    students = []
    for i in range(n):
        s = f"s{i:02d}"
        harness.submit(course, s, CASES[i % len(CASES)])
        students.append(s)
    return students


def snapshot() -> dict:
    """Everything graded, without timing: results files, nbgrader grade rows, events per (student, test)."""
    course, _ = harness.load_course()
    results = {p.stem: without_volatile(json.loads(p.read_text()))
               for p in Path(course.results, "fixture_hw").glob("*.json")}
    return {"results": results, "grades": harness.db_grades()}


def wait_for(condition, proc: subprocess.Popen | None = None, timeout: float = 600.0) -> bool:
    """Poll `condition` until it holds (True) or `proc` has exited / the generous timeout passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc is not None and proc.poll() is not None:
            return condition()
        time.sleep(0.02)
    return False


def results_written() -> int:
    course, _ = harness.load_course()
    return len(list(Path(course.results, "fixture_hw").glob("*.json")))


def course_proc(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    return subprocess.Popen([sys.executable, "-m", "course_cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """8 submissions graded in one uninterrupted sequential run (no sandbox: the DB path is what matters)."""
    with course_env(tmp_path_factory.mktemp("baseline")):
        populate(8)
        s = harness.grade(workers=1)
        assert s.graded == 8 and not s.infrastructure
        yield snapshot()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # many gradings in a row on a loaded machine
def test_f02_kill_9_then_resume_equals_baseline(fixture_course, baseline):
    populate(8)
    kills = 0
    for done in (1, 3, 5):  # killed right after the done-th submission's results file appears
        p = course_proc("autograde", "fixture_hw", "--no-sandbox", "--workers", "1")
        if wait_for(lambda n=done: results_written() >= n, proc=p) and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            kills += 1
        p.wait(timeout=600)
    assert kills >= 1 and results_written() < 8
    p = course_proc("autograde", "fixture_hw", "--no-sandbox", "--workers", "1")
    _out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err.decode()
    assert snapshot() == baseline
    rows = harness.db_grades()
    assert all(r[3] is not None for r in rows)
    ev = harness.events()
    keys = [(e["student"], e["test_id"], e["suite_hash"], e["submission_hash"]) for e in ev]
    assert len(keys) == len(set(keys)), "duplicate grade events after resume"


def test_f03_db_read_only_mid_run_stops_cleanly_and_resumes(fixture_course, monkeypatch):
    from sqlalchemy.orm import sessionmaker

    from autograder.store import DatabaseError, Store, make_engine

    course, _spec = harness.load_course()
    populate(3)
    real_commit = Store.commit
    calls = {"n": 0}

    def commit_then_break(self, *a, **k):
        out = real_commit(self, *a, **k)
        calls["n"] += 1
        if calls["n"] == 1:  # the database turns read-only after the first submission
            path = course.db_url.removeprefix("sqlite:///")
            self.engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
            self.Session = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)
        return out

    monkeypatch.setattr(Store, "commit", commit_then_break)
    with pytest.raises(DatabaseError, match="cannot be written.*run the command again"):
        harness.grade(workers=1)
    graded = {r[0] for r in harness.db_grades()}
    assert len(graded) == 1  # the first submission committed; nothing partial of the second
    assert len(list(Path(course.results, "fixture_hw").glob("*.json"))) == 1
    monkeypatch.setattr(Store, "commit", real_commit)
    s = harness.grade(workers=1)
    assert s.graded == 2 and s.unchanged == 1
    assert {r[0] for r in harness.db_grades()} == {"s00", "s01", "s02"}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # many gradings in a row on a loaded machine
def test_f04_concurrent_manual_edits_and_export(fixture_course):
    """Grading (2 workers, one writer) + 2 processes editing manual grades + nbgrader export, all at once."""
    course, _spec = harness.load_course()
    students = populate(6)
    harness.grade(workers=1)
    editor = (
        "import sys\nfrom nbgrader.api import Gradebook\n"
        "url, cid, students = sys.argv[1], sys.argv[2], sys.argv[3].split(',')\n"
        "for rnd in range(3):\n"
        "    for s in students:\n"
        "        with Gradebook(url, course_id=cid) as gb:\n"
        "            g = gb.find_grade('test_rms', 'poly', 'fixture_hw', s)\n"
        "            g.manual_score = 0.5\n"
        "            gb.db.commit()\n"
    )
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    procs = [subprocess.Popen([sys.executable, "-c", editor, course.db_url, course.course_id, ",".join(part)],
                              env=env, stderr=subprocess.PIPE) for part in (students[:3], students[3:])]
    export = subprocess.Popen([str(REPO / ".venv/bin/nbgrader"), "export", "--to",
                               str(Path(course.data) / "export.csv"), "--log-level=WARN"],
                              cwd=fixture_course, env=env, stderr=subprocess.PIPE)
    s = harness.grade(workers=2, force=True)
    errs = [p.communicate(timeout=300)[1].decode() for p in [*procs, export]]
    assert all(p.returncode == 0 for p in [*procs, export]), errs
    assert not any("locked" in e for e in errs)
    assert s.graded == 6 and not s.infrastructure
    rows = {(r[0], r[2]): r for r in harness.db_grades()}
    assert all(rows[(st, "test_rms")][4] == 0.5 for st in students)  # manual edits kept
    assert (Path(course.data) / "export.csv").read_text().count("fixture_hw") == 6


def test_f07_broken_kernel_is_infrastructure_never_a_zero(fixture_course, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_PRELOAD", "numpy,no_such_package_f07")
    course, _spec = harness.load_course()
    populate(2)
    s = harness.grade(workers=1)
    assert s.graded == 0 and len(s.infrastructure) == 2
    assert "no_such_package_f07" in " ".join(s.infrastructure)
    assert harness.db_grades() == [] and harness.events() == []
    assert not list(Path(course.results).rglob("*.json"))
    monkeypatch.delenv("COURSE_SANDBOX_PRELOAD")
    s = harness.grade(workers=1)  # the next run grades them
    assert s.graded == 2 and not s.infrastructure


def test_f07_retries_before_giving_up(fixture_course, monkeypatch, tmp_path):
    """Two infrastructure failures, then success: graded, nothing reported. One more failure than the retry
    policy allows: reported, nothing stored. (Attempts are counted in a file: the job runs in a Dask worker.)"""
    from autograder.executors import RETRIES
    from autograder.model import InfrastructureError
    from autograder.pipeline import run_job

    attempts = tmp_path / "attempts"

    def flaky(job, fail=RETRIES):
        with open(attempts, "a") as fh:
            fh.write("x")
        if attempts.stat().st_size <= fail:
            raise InfrastructureError("kernel did not answer")
        return run_job(job)

    monkeypatch.setattr("autograder.pipeline.run_job", flaky)
    populate(1)
    s = harness.grade(workers=1)
    assert attempts.read_text() == "x" * (RETRIES + 1) and s.graded == 1 and not s.infrastructure
    attempts.unlink()
    monkeypatch.setattr("autograder.pipeline.run_job", lambda job: flaky(job, fail=RETRIES + 1))
    s = harness.grade(workers=1, force=True)
    assert attempts.read_text() == "x" * (RETRIES + 1) and s.graded == 0
    assert s.infrastructure == ["s00: InfrastructureError: kernel did not answer"]


def test_results_file_lost_after_commit_is_restored(fixture_course):
    """A crash between the DB commit and the results file: the re-run restores the file from the DB."""
    course, _ = harness.load_course()
    populate(2)
    harness.grade(workers=1)
    path = Path(course.results, "fixture_hw", "s00.json")
    before = path.read_text()
    path.unlink()
    s = harness.grade(workers=1)
    assert s.graded == 0 and path.read_text() == before


@pytest.mark.slow
@pytest.mark.timeout(1800)  # many gradings in a row on a loaded machine
def test_f01_parallel_batch_equals_sequential_baseline(tmp_path):
    n = 20
    with course_env(tmp_path / "seq"):
        populate(n)
        harness.grade(workers=1)
        seq = snapshot()
    with course_env(tmp_path / "par"):
        populate(n)
        s = harness.grade(workers=2)
        assert s.graded == n and not s.infrastructure
        par = snapshot()
    assert par == seq
    assert len(par["grades"]) == n * 4


def test_sqlite_transactions_begin_immediate(fixture_course):
    """A session takes the write lock at BEGIN, before its first statement needs it: another writer that
    does not wait is refused while it is open (a deferred BEGIN would hold no lock after `SELECT 1`), and
    one that waits begins after the commit and sees the committed row."""
    from sqlalchemy import text

    from autograder.store import Store, sqlite_path

    course, _ = harness.load_course()
    a = Store(course.db_url, course.course_id)
    b = Store(course.db_url, course.course_id)
    with a.session() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS lock_order (who TEXT)"))
    impatient = sqlite3.connect(sqlite_path(course.db_url), timeout=0, isolation_level=None)
    seen = []

    def second():
        with b.session() as s:  # BEGIN IMMEDIATE: waits for a's write lock, up to the busy timeout
            seen.append(s.execute(text("SELECT who FROM lock_order")).scalars().all())

    with a.session() as s:
        s.execute(text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient.execute("BEGIN IMMEDIATE")
        t = threading.Thread(target=second)
        t.start()
        s.execute(text("INSERT INTO lock_order VALUES ('a')"))
    t.join(120)
    assert seen == [["a"]]
    impatient.execute("BEGIN IMMEDIATE")  # free again once a committed
    impatient.execute("ROLLBACK")
    impatient.close()
    a.close()
    b.close()


def test_f06_disk_full_on_results_volume(fixture_course, monkeypatch):
    """ENOSPC writing the results file: reported, grade kept in the DB, the next run writes the file."""
    import errno

    import autograder.persist

    course, _spec = harness.load_course()
    populate(1)
    real = autograder.persist.write_atomic

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(autograder.persist, "write_atomic", full)
    s = harness.grade(workers=1)
    assert s.graded == 1 and any("No space left" in line for line in s.infrastructure)
    assert {r[0] for r in harness.db_grades()} == {"s00"}
    assert not Path(course.results, "fixture_hw", "s00.json").exists()
    monkeypatch.setattr(autograder.persist, "write_atomic", real)
    s = harness.grade(workers=1)
    assert s.graded == 0 and Path(course.results, "fixture_hw", "s00.json").is_file()
