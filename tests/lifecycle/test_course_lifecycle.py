"""One assignment through the whole course, with the real tools at every step:
nbgrader generate/release -> students submit through the exchange -> course collect -> course autograde
-> course grades / explain. Checks that each step reads what the previous one wrote."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from exchange_student import nbgrader_submit

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "assignment2"
NOTEBOOK = "polyfit.ipynb"


def _sandbox_flag() -> list[str]:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
        return []
    except SandboxUnavailable:
        return ["--no-sandbox"]


@pytest.mark.slow
def test_assignment_from_release_to_final_grades(tmp_path: Path):
    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    data = tmp_path / "data"
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("COURSE_DB_URL", None)

    def run(*argv: str) -> str:
        proc = subprocess.run(list(argv), cwd=root, env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        assert proc.returncode == 0, f"{argv}: {proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    course = [sys.executable, "-m", "course_cli"]
    run("nbgrader", "generate_assignment", ASSIGNMENT, "--log-level=WARN")
    run("nbgrader", "release_assignment", ASSIGNMENT, "--log-level=WARN")
    released = root / "release" / ASSIGNMENT / NOTEBOOK
    assert released.is_file() and "BEGIN HIDDEN TESTS" not in released.read_text()

    # alice hands in the instructor's solution, bob the untouched release (every function raises)
    exchange = data / "exchange"
    homes = tmp_path / "home"
    for student, nb in (("alice", root / "source" / ASSIGNMENT / NOTEBOOK), ("bob", released)):
        nbgrader_submit(exchange, homes, "dl-course", student, ASSIGNMENT, {NOTEBOOK: nb.read_bytes()})

    run(*course, "collect", ASSIGNMENT, "--no-check-owner")
    for student in ("alice", "bob"):
        assert (data / "submitted" / student / ASSIGNMENT / NOTEBOOK).is_file()

    run(*course, "autograde", ASSIGNMENT, "--workers", "1", *_sandbox_flag())
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,id_number\n"
                      "alice,Alice,A,alice@example.org,1\nbob,Bob,B,bob@example.org,2\n")
    run(*course, "import", "roster", str(roster))
    out = tmp_path / "grades.csv"
    run(*course, "grades", "--to", str(out))
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    from autograder.spec import load_assignment_spec

    # every autograded point; the written answer (a manually graded cell) waits for the instructor
    autograded = load_assignment_spec(root / "source", ASSIGNMENT).total_points
    assert float(rows["alice"]["assignment2.raw"]) == pytest.approx(autograded) and autograded > 0
    assert float(rows["alice"]["assignment2.max"]) > autograded
    assert float(rows["bob"]["assignment2.raw"]) == 0
    # the receipt is the server's collect time: years after the policy's 2022 due date, so past the cutoff
    assert float(rows["alice"]["assignment2.points"]) == 0
    assert "alice" in run(*course, "explain", "alice")
