"""`course similarity` through the real dispatcher, and the section it adds to `course report`."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sim_cohort

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^│\s*(\d+) │ (\S+)\s*│ (\S+)\s*│ (\S+)\s*│\s*([\d.]+) │", re.MULTILINE)


def course(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_ROOT": str(ROOT), "COURSE_DATA_DIR": str(data), "PYTHONPATH": str(ROOT),
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "import sys, course_cli; sys.exit(course_cli.main(sys.argv[1:]))",
                           *args], check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def run(cohort):
    data, planted = cohort
    p = course("similarity", "assignment1", data=data)
    assert p.returncode == 0, p.stderr
    return data, planted, p


def test_prints_the_ranked_pairs_and_the_skipped_notebooks(run):
    _, planted, p = run
    rows = ROW.findall(p.stdout)
    assert rows, p.stdout
    copies = {frozenset(pair) for pair in planted.items()}
    kinds = [frozenset((a, b)) in copies for _, _, a, b, _ in rows]
    assert all(kinds[: 2 * len(planted)]), "the planted pairs come first"
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    sims = [float(r[4]) for r in rows]
    assert sims == sorted(sims, reverse=True) and min(sims) >= 0.75
    for student in ("bad_json", "bad_shape", "bad_source"):
        assert f"skipped {student}/assignment1/knn.ipynb:" in p.stdout


def test_writes_one_private_self_contained_html_report_and_a_summary(run):
    data, planted, _ = run
    html_path = data / "similarity" / "assignment1.html"
    html = html_path.read_text()
    assert stat.S_IMODE(html_path.stat().st_mode) == 0o600  # it names students
    assert html.count("<svg") == 2  # one histogram per notebook
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html) and "<link" not in html and "<script" not in html
    assert 'class="hit"' in html and "copy_renamed" in html
    assert "unchanged_a" in html  # listed as having nothing of their own
    summary = json.loads((data / "similarity" / "assignment1.json").read_text())
    assert summary["report"] == str(html_path.resolve())
    assert {frozenset((p["a"], p["b"])) for p in summary["pairs"]} >= {frozenset(x) for x in planted.items()}
    assert {m["student"] for m in summary["malformed"]} == {"bad_json", "bad_shape", "bad_source"}


def test_grade_report_lists_flagged_pairs_and_links_the_similarity_report(run):
    from gradebook import records
    from gradebook import report as grade_report
    from gradebook.compute import compute
    from gradebook.policy import load_policy

    data, planted, _ = run
    policy = load_policy(ROOT / "course.toml")
    grades = compute(policy, records.empty_records())
    html = grade_report.build(policy, grades, similarity=grade_report.similarity_results(data))
    section = html[html.index("<h2>Code similarity</h2>"):]
    assert (data / "similarity" / "assignment1.html").resolve().as_uri() in section
    for copier, original in planted.items():
        assert re.search(rf"<td>{copier}</td><td>{original}</td>|<td>{original}</td><td>{copier}</td>", section)
    empty = grade_report.build(policy, grades, similarity=grade_report.similarity_results(data / "nothing"))
    assert "No similarity run" in empty


@pytest.mark.parametrize("args, message", [
    (["--threshold", "1.5"], "--threshold 1.5: give a number above 0 and at most 1"),
    (["--threshold", "abc"], "--threshold abc: give a number"),
    (["--jobs", "-2"], "--jobs -2: give a whole number"),
    (["--to", "/nonexistent-folder/r.html"], "folder /nonexistent-folder does not exist"),
    (["--to", "/tmp"], "--to /tmp: is a folder"),
])
def test_bad_arguments_are_one_line_and_write_nothing(tmp_path, args, message):
    sim_cohort.write(tmp_path / "submitted", "s000", sim_cohort.independent(0))
    p = course("similarity", "assignment1", *args, data=tmp_path)
    assert p.returncode == 2
    assert message in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert not (tmp_path / "similarity").exists()


def test_unknown_assignment_and_no_submissions_are_one_line(tmp_path):
    p = course("similarity", "../source", data=tmp_path)
    assert p.returncode == 2 and "not in" in p.stderr and "assignment1" in p.stderr and p.stderr.count("\n") == 1
    p = course("similarity", "assignment2", data=tmp_path)
    assert p.returncode == 2 and "no submissions of assignment2" in p.stderr and p.stderr.count("\n") == 1
    assert not (tmp_path / "similarity").exists()


def test_course_help_does_not_load_the_detector():
    code = ("import sys, course_cli; course_cli.build_parser(); "
            "print(sorted(m for m in ('copydetect', 'numpy', 'similarity.pipeline') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "copydetect" not in out and "similarity.pipeline" not in out
