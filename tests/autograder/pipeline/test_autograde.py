"""`course autograde` end to end on the fixture course: scores, results JSON, gradebook, idempotence."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import harness
import pytest

from autograder.model import STATUSES, SandboxUnavailable

REPO = Path(__file__).resolve().parents[3]


def sandbox_or_skip() -> None:
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")


def course_cmd(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "course_cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600, check=False)


@pytest.mark.sandbox
@pytest.mark.slow
def test_correct_and_wrong_sandboxed(fixture_course):
    sandbox_or_skip()
    course, spec = harness.load_course()
    harness.submit(course, "alice", "correct")
    harness.submit(course, "bob", "wrong")
    summary = harness.grade(sandbox=True)
    assert summary.graded == 2 and not summary.infrastructure
    ok = harness.result("alice")
    assert {t["test_id"]: t["score"] for t in ok["tests"]} == {t.test_id: t.points for t in spec.tests}
    assert all(t["status"] == "passed" for t in ok["tests"])
    assert ok["sandbox"] is True and ok["no_sandbox"] is False and ok["suite_hash"] == spec.suite_hash
    bad = harness.result("bob")
    assert harness.scores("bob") == harness.expected_scores("bob", "wrong")
    assert bad["tests"][0]["score"] == 0 and bad["tests"][0]["status"] == "failed"
    for t in ok["tests"] + bad["tests"]:
        assert t["status"] in STATUSES and isinstance(t["seed"], int) and t["duration"] >= 0
    # grades are in nbgrader's own tables: one row per (student, test), no NULL auto score, nothing manual
    rows = harness.db_grades()
    assert len(rows) == 2 * len(spec.tests)
    assert all(r[3] is not None and not r[5] for r in rows)


def test_no_sandbox_is_written_into_every_result(fixture_course):
    course, spec = harness.load_course()
    harness.submit(course, "alice", "correct")
    harness.submit(course, "bob", "wrong")
    harness.grade(sandbox=False)
    for s in ("alice", "bob"):
        r = harness.result(s)
        assert r["sandbox"] is False and r["no_sandbox"] is True
    assert harness.scores("alice") == {t.test_id: t.points for t in spec.tests}
    assert harness.scores("bob") == harness.expected_scores("bob", "wrong")


def test_regrade_unchanged_writes_nothing_and_manual_grades_survive(fixture_course):
    from nbgrader.api import Gradebook

    course, spec = harness.load_course()
    harness.submit(course, "alice", "correct")
    harness.submit(course, "bob", "wrong")
    first = harness.grade()
    assert first.events == 2 * len(spec.tests) - sum(1 for v in harness.expected_scores("bob", "wrong").values()
                                                     if v is None)
    n_events = len(harness.events())
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        g = gb.find_grade("test_dist", "dist", "fixture_hw", "bob")
        g.manual_score = 0.75
        gb.db.commit()
    mtime = harness.result("bob")["graded_at"]
    second = harness.grade()
    assert second.graded == 0 and second.unchanged == 2 and second.events == 0
    assert len(harness.events()) == n_events
    assert harness.result("bob")["graded_at"] == mtime
    third = harness.grade(force=True)  # graded again: same scores, no events, manual grade kept
    assert third.graded == 2 and third.events == 0
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        assert gb.find_grade("test_dist", "dist", "fixture_hw", "bob").manual_score == 0.75


def test_changed_submission_is_regraded_with_events(fixture_course):
    course, spec = harness.load_course()
    harness.submit(course, "bob", "wrong")
    harness.grade()
    before = len(harness.events())
    harness.submit(course, "bob", "correct")  # a newer version chosen by collect's policy (F09)
    s = harness.grade()
    assert s.graded == 1
    assert harness.scores("bob") == {t.test_id: t.points for t in spec.tests}
    new = harness.events()[before:]
    changed = {e["test_id"] for e in new}
    assert changed and all(e["new"] > (e["old"] or 0) for e in new)
    assert all(e["source"] == "autograde" and e["suite_hash"] == spec.suite_hash for e in new)


def _edit_hidden_test(course_root: Path) -> None:
    """Change one hidden probe (n_test 10 -> 12) in the course source: a new suite hash."""
    path = course_root / "source" / "fixture_hw" / "dist.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if 'probe("knn.distances"' in src:
            cell["source"] = src.replace("n_test=10", "n_test=12")
    path.write_text(json.dumps(nb, indent=1))


def test_dry_run_lists_exact_changes_and_writes_nothing(fixture_course):
    """F05: after a hidden-test change, --dry-run names the affected students/tests; no file or row changes."""
    course, spec = harness.load_course()
    harness.submit(course, "alice", "correct")
    harness.submit(course, "bob", "wrong")
    harness.grade()
    db = Path(course.db_url.removeprefix("sqlite:///"))
    snapshot = {p: p.read_bytes() for p in [db, *Path(course.results).rglob("*")] if p.is_file()}
    # the wrong student's distances stay wrong under the new probe; nothing changes for anyone
    _edit_hidden_test(fixture_course)
    s = harness.grade(dry_run=True)
    assert s.graded == 2 and s.changed == {}
    # swap bob to the correct solution: exactly bob's failing tests would change
    harness.submit(course, "bob", "correct")
    s = harness.grade(dry_run=True)
    expected = {tid for tid, v in harness.expected_scores("bob", "wrong").items()
                if v != next(t.points for t in spec.tests if t.test_id == tid)}
    assert set(s.changed) == {"bob"}
    assert {c.test_id for c in s.changed["bob"]} == expected
    after = {p: p.read_bytes() for p in [db, *Path(course.results).rglob("*")] if p.is_file()}
    assert after == snapshot


def test_invalid_notebooks_score_zero_and_others_unaffected(fixture_course):
    """A22: each broken dist.ipynb -> dist tests 0 invalid_notebook; poly still graded; controls fine."""
    import attack_cases

    course, spec = harness.load_course()
    harness.submit(course, "ctrl_ok", "correct")
    harness.submit(course, "ctrl_bad", "wrong")
    correct_poly = (harness.SUBMISSIONS / "correct" / "poly.ipynb").read_bytes()
    for name, data in attack_cases.INVALID.items():
        harness.submit(course, f"inv_{name}", {"dist": data, "poly": correct_poly})
    harness.submit(course, "inv_missing", {"poly": correct_poly})
    big = harness.submit(course, "inv_huge", {"poly": correct_poly})
    with open(big / "dist.ipynb", "wb") as fh:  # 200 MB sparse file: never read
        fh.truncate(200 << 20)
    harness.submit(course, "inv_bom", attack_cases.bom("correct"))
    s = harness.grade()
    assert not s.infrastructure
    for student in [f"inv_{n}" for n in attack_cases.INVALID] + ["inv_missing", "inv_huge"]:
        r = harness.result(student)
        by = {t["test_id"]: t for t in r["tests"]}
        for tid in ("test_dist", "test_labels"):
            assert by[tid]["score"] == 0 and by[tid]["status"] == "invalid_notebook", (student, by[tid])
            assert by[tid]["message"]
        assert by["test_fit"]["score"] == 2 and by["test_rms"]["score"] == 1, student
    assert harness.scores("inv_bom") == {t.test_id: t.points for t in spec.tests}
    assert any("byte-order mark" in n for n in harness.result("inv_bom")["notes"])
    assert harness.scores("ctrl_ok") == {t.test_id: t.points for t in spec.tests}
    assert harness.scores("ctrl_bad") == harness.expected_scores("ctrl_bad", "wrong")


def test_seeds_are_deterministic_per_student_and_test():
    """Pinned values: a seed must not change between processes, machines or releases (results name it)."""
    from autograder.pipeline import derive_seed

    assert [derive_seed(0, "hw", "alice", "t1"), derive_seed(0, "hw", "bob", "t1"),
            derive_seed(0, "hw", "alice", "t2"), derive_seed(1, "hw", "alice", "t1")] == [
        948210503, 1806025704, 378911880, 817012684]


def test_feedback_html_has_messages_and_own_cells(fixture_course):
    course, _spec = harness.load_course()
    harness.submit(course, "bob", "wrong")
    harness.grade()
    r = course_cmd("feedback", "fixture_hw")
    assert r.returncode == 0, r.stderr
    html = (Path(course.feedback) / "bob" / "fixture_hw" / "feedback.html").read_text()
    assert "compute_distances" in html and "failed" in html
    assert "BEGIN HIDDEN TESTS" not in html and "probe(" not in html and "course_probe" not in html


@pytest.mark.parametrize("args, needle", [
    (["autograde", "no_such_assignment", "--no-sandbox"], "no assignment 'no_such_assignment'"),
    (["autograde", "fixture_hw", "--student", "nobody", "--no-sandbox"], "no submission of fixture_hw for nobody"),
    (["autograde", "fixture_hw", "--executor", "ftp://x", "--no-sandbox"], "--executor 'ftp://x': use 'local'"),
    (["autograde", "fixture_hw", "--executor", "dask://host-without-port", "--no-sandbox"], "dask://HOST:PORT"),
    (["autograde", "fixture_hw", "--executor", "dask://127.0.0.1:1", "--no-sandbox"], "cannot reach the Dask"),
    (["feedback", "fixture_hw"], "no results for fixture_hw"),
])
def test_bad_input_gives_one_line_error_and_writes_nothing(fixture_course, args, needle):
    course, _ = harness.load_course()
    harness.submit(course, "alice", "correct")
    before = sorted(p for p in Path(course.data).rglob("*"))
    r = course_cmd(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert sorted(p for p in Path(course.data).rglob("*")) == before  # no database, no results, no folders


def test_table_has_a_row_per_student_with_notes(fixture_course):
    """After grading: score, max, late?, and why a notebook was not graded, per student; one summary line."""
    course, spec = harness.load_course()
    correct_poly = (harness.SUBMISSIONS / "correct" / "poly.ipynb").read_bytes()
    harness.submit(course, "alice", "correct")
    harness.submit(course, "bob", {"poly": correct_poly})
    harness.submit(course, "carol", {"dist": b'{"cells": [', "poly": correct_poly})
    r = course_cmd("autograde", "fixture_hw", "--no-sandbox", "--workers", "1", env_extra={"COLUMNS": "250"})
    assert r.returncode == 0, r.stderr
    cells = [[c.strip() for c in ln.split("│")[1:-1]] for ln in r.stdout.splitlines() if ln.count("│") == 6]
    rows = {c[0]: c[1:] for c in cells}  # student -> score, max, late?, notes
    total, poly = f"{spec.total_points:g}", f"{sum(t.points for t in spec.tests_for('poly')):g}"
    assert rows["alice"] == [total, total, "-", ""]
    assert rows["bob"][:3] == [poly, total, "-"] and "dist.ipynb was not submitted" in rows["bob"][3]
    assert rows["carol"][:3] == [poly, total, "-"] and "dist.ipynb: not valid JSON" in rows["carol"][3]
    assert "autograde fixture_hw: 3 graded (1 full marks, 2 not), 0 unchanged, 0 infrastructure" in r.stdout
    # not a terminal: progress as plain lines on stderr, one per submission
    assert sorted(ln.split(": ")[1].split()[0] for ln in r.stderr.splitlines() if ln.startswith("graded ")) == [
        "alice", "bob", "carol"]
    again = course_cmd("autograde", "fixture_hw", "--no-sandbox", env_extra={"COLUMNS": "250"})
    assert "0 graded" in again.stdout and "3 unchanged" in again.stdout
    assert "dist.ipynb was not submitted" in again.stdout  # the stored result's notes, not a re-grade


def test_late_column_counts_from_the_due_date():
    import datetime as dt

    from autograder.report import late_text

    due = dt.datetime(2026, 3, 18, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    utc = due.astimezone(dt.UTC).replace(tzinfo=None)  # receipt times are naive UTC
    assert late_text(utc, due) == "no"
    assert late_text(utc + dt.timedelta(days=1, hours=2, minutes=5), due) == "yes, 1 d 2 h"
    assert late_text(utc + dt.timedelta(minutes=7), due) == "yes, 7 min"
    assert late_text(utc + dt.timedelta(seconds=20), due) == "yes, under 1 min"
    assert late_text(None, due) == late_text(utc, None) == "-"


def test_bad_worker_count_is_an_argparse_error(fixture_course):
    r = course_cmd("autograde", "fixture_hw", "--workers", "0")
    assert r.returncode == 2 and "positive integer" in r.stderr


@pytest.mark.gpu
def test_gpu_kernels_requested():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: open_slot(gpu=True) cannot be exercised")
    from autograder.sandbox import open_slot

    with open_slot(sandbox=True, gpu=True) as slot:
        from autograder.model import CellJob

        out = slot.run_notebook([CellJob("g", "import torch; assert torch.cuda.is_available()", "student", 60)], 120)
    assert out[0].status == "ok"


def test_nbgrader_generate_feedback_and_autograded_notebooks_have_no_hidden_tests(fixture_course):
    """formgrader/nbgrader feedback read autograded/<student>/<a>/*.ipynb: written by us, hidden regions absent."""
    import nbformat

    course, spec = harness.load_course()
    harness.submit(course, "bob", "wrong")
    harness.grade()
    folder = Path(course.autograded) / "bob" / "fixture_hw"
    for name in spec.notebooks:
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        text = nbformat.writes(nb)
        assert "BEGIN HIDDEN TESTS" not in text and "probe(" not in text
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in
                  {t.test_id for t in spec.tests_for(name)}]
        assert graded and all("points" in c.outputs[0]["text"] for c in graded)
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    r = subprocess.run([str(REPO / ".venv/bin/nbgrader"), "generate_feedback", "fixture_hw", "--log-level=WARN"],
                       cwd=fixture_course, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert r.returncode == 0, r.stderr
    html = (Path(course.feedback) / "bob" / "fixture_hw" / "dist.html").read_text()
    assert "compute_distances" in html and "BEGIN HIDDEN TESTS" not in html and "course_probe" not in html
