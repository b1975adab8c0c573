"""PostgreSQL through COURSE_DB_URL and a Dask cluster as executor, against real servers on loopback."""
from __future__ import annotations

import json
from pathlib import Path

import harness
import pg_cluster
import pytest
from fixture_course import course_env

from autograder.results import without_volatile


def same_key(course) -> None:
    """Both runs grade with one grading key (seeds are keyed with it), so their results can be compared."""
    key = Path(course.data) / "grading.key"
    key.write_bytes(b"d1" * 32)
    key.chmod(0o600)


def _results() -> dict:
    course, _ = harness.load_course()
    return {p.stem: without_volatile(json.loads(p.read_text()))
            for p in Path(course.results, "fixture_hw").glob("*.json")}


@pytest.fixture(scope="module")
def postgres():
    if not pg_cluster.available():
        pytest.skip(f"PostgreSQL binaries not found in {pg_cluster.PG_BIN}")
    with pg_cluster.private_cluster() as server:
        yield f"{server}/postgres"


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_gradebook(tmp_path, postgres):
    from nbgrader.api import Gradebook

    with course_env(tmp_path, db_url=postgres):
        course, spec = harness.load_course()
        assert course.db_url == postgres
        harness.submit(course, "alice", "correct")
        harness.submit(course, "bob", "wrong")
        s = harness.grade(workers=1)
        assert s.graded == 2 and not s.infrastructure
        assert harness.scores("alice") == {t.test_id: t.points for t in spec.tests}
        with Gradebook(postgres, course_id=course.course_id) as gb:
            by = {d["student"]: d["score"] for d in gb.submission_dicts("fixture_hw")}
        assert by["alice"] == spec.total_points and by["bob"] < spec.total_points
        assert len(harness.events()) > 0
        again = harness.grade(workers=1)
        assert again.graded == 0 and again.unchanged == 2 and again.events == 0


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.dask
@pytest.mark.slow
def test_dask_executor_equals_local(tmp_path, dask_cluster):
    cases = ["correct", "wrong", "real_world/matrix", "zero/float_subclass"]
    with course_env(tmp_path / "local"):
        course, _ = harness.load_course()
        same_key(course)
        for i, c in enumerate(cases):
            harness.submit(course, f"s{i}", c)
        harness.grade(workers=1)
        local = _results()
    with course_env(tmp_path / "dask"):
        course, _ = harness.load_course()
        same_key(course)
        for i, c in enumerate(cases):
            harness.submit(course, f"s{i}", c)
        url = "dask://" + dask_cluster.removeprefix("tcp://")
        s = harness.grade(executor_url=url)
        assert s.graded == len(cases) and not s.infrastructure
        remote = _results()
    assert remote == local
