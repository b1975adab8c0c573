"""`course demo` end to end, twice in the same scratch directory: the whole term with 30 student accounts.

Checks the cases the cohort plants, from the demo's own grades.csv and similarity output: the missing student
is missing, the past-cutoff one scores 0 on assignment 2, the near-copies are flagged, the hostile one is
graded 0 and the correct students around it still get full marks; the second run starts afresh and ends with
the same table."""
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


def _demo(base: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "COLUMNS": "200"}
    for var in ("COURSE_ROOT", "COURSE_DATA_DIR", "COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(var, None)
    # a window long enough for 29 students to fetch and submit on a loaded machine; graded by the server clock
    return subprocess.run([sys.executable, "-m", "course_cli", "demo", "--dir", str(base), "--window", "150"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=5400, check=False)


@pytest.fixture(scope="module")
def runs():
    if os.environ.get("COURSE_DEMO_TEST") != "1":
        pytest.skip("runs the whole term twice (10-25 min on 2 cores): opt in with COURSE_DEMO_TEST=1")
    if os.geteuid() != 0 or shutil.which("runuser") is None or shutil.which("useradd") is None:
        pytest.skip("the demo's students are real unix accounts: run as root with useradd and runuser")
    parent = Path(tempfile.mkdtemp(prefix="course-demo-test-"))
    os.chmod(parent, 0o711)
    base = parent / "demo"
    try:
        first = _demo(base)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        summary1 = (base / "out" / "summary.csv").read_text()
        second = _demo(base)
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        yield base, first, second, summary1
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _grades(base: Path) -> pd.DataFrame:
    return pd.read_csv(base / "out" / "grades.csv").set_index("student_id")


def sid(n: int) -> str:
    return f"course-demo-{n:02d}"


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_the_planted_cases(runs):
    from demo.cohort import PROFILES
    from demo.summary import autograded_max

    base, _, _, _ = runs
    g = _grades(base)
    who = {profile: sid(n) for n, profile in PROFILES.items()}
    assert g.loc[who["missing"], "assignment1.status"] == "missing"
    assert g.loc[who["missing"], "assignment2.status"] == "missing"
    assert g.loc[who["past_cutoff"], "assignment2.status"] == "past cutoff"
    assert g.loc[who["past_cutoff"], "assignment2.points"] == 0
    assert g.loc[who["past_cutoff"], "assignment2.raw"] > 0  # graded, refused by the policy only
    assert g.loc[who["late_days"], "assignment2.status"] == "late"
    assert 0 < g.loc[who["late_days"], "assignment2.penalty"] < 0.5
    assert g.loc[who["late_grace"], "assignment1.status"] == "within grace"
    assert g.loc[who["extension"], "assignment1.status"] == "on time"
    assert g.loc[who["extension"], "assignment1.extension_s"] > 0
    assert g.loc[who["speed_late"], "speedtest1.status"] == "after window"
    correct = [sid(n) for n in range(1, 31) if n not in PROFILES]
    for item in ("assignment1", "assignment2"):
        full = autograded_max(REPO / "source" / item)  # the written answers wait for manual grading
        assert g.loc[who["hostile"], f"{item}.raw"] == 0
        assert (abs(g.loc[correct, f"{item}.raw"] - full) < 1e-9).all(), item  # the hostile one hurt nobody
        assert g.loc[who["partly"], f"{item}.raw"] < full
    assert g.loc[who["numpy"], "assignment1.raw"] < autograded_max(REPO / "source" / "assignment1")
    assert (g.loc[correct, "speedtest1.status"] == "in window").all()
    flagged = (base / "out" / "flagged.txt").read_text().splitlines()
    assert flagged and all(line.startswith(f"{who['copy_a']} ~ {who['copy_b']} ") for line in flagged), flagged


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_a_second_run_starts_afresh_and_ends_alike(runs):
    base, _first, second, summary1 = runs
    assert (base / "out" / "summary.csv").read_text() == summary1
    for name in ("grades.csv", "grades-moodle.csv", "report.html", "similarity-assignment1.html"):
        assert (base / "out" / name).stat().st_size > 0
    assert "The demo term" in second.stdout and "Outputs" in second.stdout
