"""Store.commit_many: the submissions the writer stores together are one transaction, all or none."""
from __future__ import annotations

import harness
import pytest

from autograder.results import SubmissionResult
from autograder.results import TestRecord as Record  # not collected as a test class
from autograder.store import Store


def _result(spec, student: str, fraction: float, assignment: str | None = None) -> SubmissionResult:
    tests = [Record(t.test_id, t.notebook, fraction * t.points, t.points, "passed" if fraction == 1 else "failed",
                        "", 0.0, 1, spec.suite_hash) for t in spec.tests]
    return SubmissionResult(assignment=assignment or spec.name, student=student, submission_hash=f"h-{student}",
                            suite_hash=spec.suite_hash, base_seed=0, sandbox=False, tests=tests)


def test_commit_many_is_all_or_none(fixture_course):
    course, spec = harness.load_course()
    store = Store(course.db_url, course.course_id)
    try:
        store.sync_assignment(spec)
        good, other = _result(spec, "alice", 1.0), _result(spec, "bob", 0.0)
        broken = _result(spec, "carol", 1.0, assignment="no_such_assignment")  # its rows cannot be written
        with pytest.raises(Exception, match="No row was found"):
            store.commit_many([(good, "{}", None), (broken, "{}", None)])
        assert store.graded(spec.name) == {} and store.events(spec.name) == []  # alice's part rolled back too
        changes = store.commit_many([(good, "{}", None), (other, "{}", None)])
        assert [len(c) for c in changes] == [len(spec.tests), len(spec.tests)]  # from no score to one
        assert set(store.graded(spec.name)) == {"alice", "bob"}
        assert len(store.events(spec.name)) == 2 * len(spec.tests)
    finally:
        store.close()
