"""`course demo` end to end, twice in the same scratch directory, with real student accounts and the sandbox.

By default the class has 21 students (`--students 21`, the smallest): the 14 planted cases (partly correct,
NumPy, hostile, near-copies, late within grace, late by days, past the cutoff, extension, missing, late
speed-test answer) and correct work.
COURSE_DEMO_FULL=1 runs the 30 students of `make demo` instead (the same cases; only the grading takes longer).
Checks each case's verdict from the demo's own grades.csv, similarity and explain outputs, then that a second
run starts afresh and ends with the same table."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SIZE = 30 if os.environ.get("COURSE_DEMO_FULL") == "1" else 21


def _demo(base: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "COLUMNS": "200"}
    for var in ("COURSE_ROOT", "COURSE_DATA_DIR", "COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(var, None)
    # a window long enough for the class to hand in on a loaded machine; graded by the server clock
    return subprocess.run([sys.executable, "-m", "course_cli", "demo", "--dir", str(base), "--window", "90",
                           "--students", str(SIZE)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False)


def _sandbox_or_skip() -> None:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("the demo's students are real unix accounts: run as root with useradd")
    try:
        check_sandbox()
    except SandboxUnavailable as exc:  # the hostile student must meet the sandbox
        pytest.skip(f"sandbox unavailable: {exc}")


@pytest.fixture(scope="module")
def runs():
    _sandbox_or_skip()
    parent = Path(tempfile.mkdtemp(prefix="course-demo-test-"))
    os.chmod(parent, 0o711)
    base = parent / "demo"
    try:
        first = _demo(base)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        summary1 = (base / "out" / "summary.csv").read_text()
        grades1 = _grades(base)
        second = _demo(base)
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        yield base, grades1, second, summary1
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _grades(base: Path) -> pd.DataFrame:
    return pd.read_csv(base / "out" / "grades.csv").set_index("student_id")


def sid(n: int) -> str:
    return f"course-demo-{n:02d}"


def who() -> dict[str, str]:
    from demo.cohort import PROFILES

    return {profile: sid(n) for n, profile in PROFILES.items()}


def correct() -> list[str]:
    from demo.cohort import PROFILES

    return [sid(n) for n in range(1, SIZE + 1) if n not in PROFILES]


pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.timeout(7200)]


def test_late_missing_and_extended_work_gets_the_policy_s_verdict(runs):
    g, w = runs[1], who()
    assert (g.loc[w["missing"], ["assignment1.status", "assignment2.status"]] == "missing").all()
    assert g.loc[w["past_cutoff"], "assignment2.status"] == "past cutoff"
    assert g.loc[w["past_cutoff"], "assignment2.points"] == 0
    assert g.loc[w["past_cutoff"], "assignment2.raw"] > 0  # graded, refused by the policy only
    assert g.loc[w["late_days"], "assignment2.status"] == "late"
    assert 0 < g.loc[w["late_days"], "assignment2.penalty"] < 0.5
    assert g.loc[w["late_days"], "assignment2.points"] < g.loc[w["late_days"], "assignment2.raw"]
    assert g.loc[w["late_grace"], "assignment1.status"] == "within grace"
    assert g.loc[w["late_grace"], "assignment1.penalty"] == 0
    assert g.loc[w["extension"], "assignment1.status"] == "on time"
    assert g.loc[w["extension"], "assignment1.extension_s"] > 0
    assert (g.loc[correct(), ["assignment1.status", "assignment2.status"]] == "on time").all(axis=None)


def test_the_late_speed_test_answer_scores_zero_with_its_reason(runs):
    g, w = runs[1], who()
    late = g.loc[w["speed_late"]]
    assert late["speedtest1.status"] == "after window"
    assert late["speedtest1.fraction"] == 0 and late["speedtest1.raw"] > 0  # right answers, too late
    assert pd.Timestamp(late["speedtest1.received"]) > pd.Timestamp(late["speedtest1.window_end"])
    assert (g.loc[correct(), "speedtest1.status"] == "in window").all()
    assert (g.loc[correct(), "speedtest1.fraction"] == 1).all()


def test_wrong_hostile_and_numpy_work_scores_less_and_harms_nobody(runs):
    from demo.summary import autograded_max

    g, w = runs[1], who()
    for item in ("assignment1", "assignment2"):
        full = autograded_max(REPO / "source" / item)  # the written answers wait for manual grading
        assert g.loc[w["hostile"], f"{item}.raw"] == 0
        assert (abs(g.loc[correct(), f"{item}.raw"] - full) < 1e-9).all(), item  # the hostile one hurt nobody
        assert g.loc[w["partly"], f"{item}.raw"] < full
    assert g.loc[w["numpy"], "assignment1.raw"] < autograded_max(REPO / "source" / "assignment1")


def test_only_the_near_copies_are_flagged(runs):
    base, w = runs[0], who()
    flagged = (base / "out" / "flagged.txt").read_text().splitlines()
    assert flagged and all(line.startswith(f"{w['copy_a']} ~ {w['copy_b']} ") for line in flagged), flagged


def test_outputs_feedback_and_the_explained_grade(runs):
    base, g, w = runs[0], runs[1], who()
    moodle = pd.read_csv(base / "out" / "grades-moodle.csv")
    assert len(moodle) == SIZE
    explained = (base / "out" / f"explain-{w['late_days']}.txt").read_text()
    assert w["late_days"] in explained and "late" in explained
    assert (base / "out" / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    for student in correct():
        assert list((base / "data" / "feedback" / student).rglob("*.html")), student
    timings = pd.read_csv(base / "out" / "timings.csv")
    assert (timings["cpu_s"] >= 0).all() and timings["stage"].nunique() >= 5
    assert set(g.index) == {sid(n) for n in range(1, SIZE + 1)}


def test_a_second_run_starts_afresh_and_ends_alike(runs):
    base, grades1, second, summary1 = runs
    assert (base / "out" / "summary.csv").read_text() == summary1
    columns = [c for c in grades1.columns if c.endswith((".raw", ".status", ".points"))]
    pd.testing.assert_frame_equal(_grades(base)[columns], grades1[columns])
    assert "The demo term" in second.stdout and "Time taken" in second.stdout and "Outputs" in second.stdout
