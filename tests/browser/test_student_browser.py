"""The student's flow in a real browser, against the real course server.

A real student account runs JupyterLab with the nbgrader extension; Debian's Chromium, driven by Playwright,
opens the Assignments tab, fetches, fills in solution cells (the instructor's solutions, looked up by grade_id
at run time), validates, submits. The instructor collects and autogrades (`course collect`, `course autograde`)
and the test checks the score; the student then fetches the feedback and the test reads it. The speed test
also checks that the numbers the student sees are the ones the grader rebuilds for that student.
"""
from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.spec import load_assignment_spec

pytestmark = pytest.mark.slow
ASSIGNMENT = "assignment1"
SPEEDTEST = "speedtest1"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
FLOW_TIMEOUT = 1800  # seconds, set-up included: generate, release, JupyterLab and kernels on a loaded machine


def _jupyter(*argv: str) -> str:
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter"), *argv], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # drop the colours


def test_nbgrader_lab_and_server_extensions_are_enabled_in_the_venv():
    labext = _jupyter("labextension", "list")
    assert re.search(r"@jupyter/nbgrader v\S+ enabled\s+OK", labext), labext
    server = _jupyter("server", "extension", "list")
    for name in ("assignment_list", "validate_assignment", "course_list"):
        assert re.search(rf"nbgrader\.server_extensions\.{name} enabled", server), server


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _solutions(source_nb: Path) -> dict[str, str]:
    """grade_id -> the instructor's solution (marker lines dropped) of every solution cell, code or text."""
    nb = nbformat.read(str(source_nb), as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in MARKERS]
            out[_grade_id(cell)] = "\n".join(lines)
    return out


def _to_fill(course, assignment: str, notebook: str) -> dict[int, tuple[str, str]]:
    """Cell index in the released notebook -> (cell type, the solution to type there)."""
    solutions = _solutions(course.root / "source" / assignment / f"{notebook}.ipynb")
    released = nbformat.read(str(course.root / "release" / assignment / f"{notebook}.ipynb"), as_version=4)
    fill = {i: (c.cell_type, solutions[_grade_id(c)]) for i, c in enumerate(released.cells)
            if _grade_id(c) in solutions}
    assert fill, f"{assignment}/{notebook}.ipynb: no solution cell shared by source/ and release/"
    return fill


def _smallest_notebook(course, assignment: str) -> str:
    """The notebook of the assignment with the least solution code to type (any notebook would do)."""
    stems = sorted(p.stem for p in (course.root / "release" / assignment).glob("*.ipynb"))
    return min(stems, key=lambda s: sum(len(code) for _, code in _to_fill(course, assignment, s).values()))


def _solve(lab_page, course, student_home: Path, assignment: str, notebook: str) -> None:
    """Type the solutions into the open notebook, check they reached the file, Validate: must pass."""
    fill = _to_fill(course, assignment, notebook)
    for index, (cell_type, code) in fill.items():
        lab_page.fill_cell(index, code, markdown=cell_type == "markdown")
    lab_page.shot(f"solved-{notebook}")
    kind, message = lab_page.validate(notebook)
    saved = nbformat.read(str(student_home / assignment / f"{notebook}.ipynb"), as_version=4)
    for index, (_, code) in fill.items():
        assert saved.cells[index].source.strip() == code.strip(), f"cell {index} was not saved as typed"
    assert kind == "success", f"Validate reported a failure for the instructor's solution:\n{message}"
    assert "passed" in message.lower() or "success" in message.lower(), message


def _collect_and_grade(course, assignment: str, student: str) -> dict:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    course.course("collect", assignment)
    assert (course.data / "submitted" / student / assignment).is_dir()
    try:
        check_sandbox()
        flags = []
    except SandboxUnavailable:
        flags = ["--no-sandbox"]
    course.course("autograde", assignment, "--workers", "1", *flags)
    return course.result(assignment, student)


def _final_points(course, assignment: str, student: str) -> float:
    out = course.root.parent / "grades.csv"
    course.course("grades", "--to", str(out))
    row = {r["student_id"]: r for r in csv.DictReader(out.open())}[student]
    # an assignment has points of its own; a speed test counts through the speed tests' points
    return float(row.get(f"{assignment}.points", row["speedtests.points"]))


def _feedback_step(lab_page, course, lab, assignment: str, student: str, result: dict) -> None:
    """`course feedback --release`, then the student's Fetch Feedback; the feedback names the verdicts and
    the final points as `course grades` computes them."""
    helptext = course.course("feedback", "--help", check=False).stdout
    if "--release" not in helptext:
        pytest.skip("`course feedback ASSIGNMENT --release` does not exist yet: Fetch Feedback has nothing to fetch")
    course.course("feedback", assignment, "--release")
    lab_page.fetch_feedback(assignment)
    pages = sorted((lab.home / assignment / "feedback").glob("*/*.html"))
    assert pages, f"Fetch Feedback put no feedback under {lab.home / assignment / 'feedback'}"
    text = "\n".join(lab_page.read_file_page(str(p.relative_to(lab.home)), f"feedback-{p.stem}") for p in pages)
    assert student in text
    for test in result["tests"]:
        if test["message"]:
            assert test["message"] in text, f"verdict message {test['message']!r} missing from the feedback"
    final = _final_points(course, assignment, student)
    shown = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)]
    assert any(abs(x - final) < 0.005 for x in shown), f"final points {final:g} not shown in the feedback"


@pytest.mark.timeout(FLOW_TIMEOUT)
def test_student_fetches_solves_validates_submits_and_reads_feedback(server, lab_page):
    course, lab = server
    notebook = _smallest_notebook(course, ASSIGNMENT)
    lab_page.open_assignments()
    lab_page.fetch(ASSIGNMENT)
    assert (lab.home / ASSIGNMENT / f"{notebook}.ipynb").is_file()
    lab_page.open_notebook(ASSIGNMENT, notebook)
    _solve(lab_page, course, lab.home, ASSIGNMENT, notebook)
    lab_page.submit(ASSIGNMENT)

    result = _collect_and_grade(course, ASSIGNMENT, lab.student)
    spec = load_assignment_spec(course.root / "source", ASSIGNMENT)
    solved = [t for t in spec.tests if t.notebook == notebook]
    assert solved, f"{notebook}.ipynb has no graded tests"
    by_id = {(t["notebook"], t["test_id"]): t for t in result["tests"]}
    failed = [by_id[notebook, t.test_id] for t in solved if by_id[notebook, t.test_id]["status"] != "passed"]
    assert not failed, f"the instructor's solution typed into {notebook}.ipynb did not pass: {failed}"
    # the other notebooks were submitted as released: their tests score nothing
    assert result["score"] == pytest.approx(sum(t.points for t in solved))
    assert result["max_score"] == pytest.approx(spec.total_points)

    _feedback_step(lab_page, course, lab, ASSIGNMENT, lab.student, result)


def _numbers(text: str) -> list[float]:
    """The numbers inside the printed arrays ([...]), in order."""
    inner = re.findall(r"\[([^\[\]]*)\]", text)
    return [float(x) for group in inner for x in re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", group)]


def _flatten(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    return [float(value)]


@pytest.mark.timeout(FLOW_TIMEOUT)
def test_speed_test_shows_the_students_own_numbers_and_grades_them(server, lab_page):
    from autograder.probes.variant import student_variant

    course, lab = server
    spec = load_assignment_spec(course.root / "source", SPEEDTEST)
    notebook = next(iter(spec.notebooks))
    lab_page.open_assignments()
    lab_page.fetch(SPEEDTEST)
    lab_page.open_notebook(SPEEDTEST, notebook)
    released = nbformat.read(str(course.root / "release" / SPEEDTEST / f"{notebook}.ipynb"), as_version=4)
    first = next(i for i, c in enumerate(released.cells) if c.cell_type == "code")
    shown = lab_page.run_cell(first)
    lab_page.shot("own-numbers")
    assert re.search(rf"(?<![\w-]){re.escape(lab.student)}(?![\w-])", shown), shown
    expected = _flatten(student_variant(spec.support, lab.student))
    seen = _numbers(shown)
    assert len(seen) == len(expected) and np.allclose(seen, expected, atol=1e-6), (
        f"the notebook shows\n{shown}\nbut the grader's numbers for {lab.student} are {expected}")
    assert _flatten(student_variant(spec.support, lab.student + "-x")) != expected  # the numbers are per student

    _solve(lab_page, course, lab.home, SPEEDTEST, notebook)
    lab_page.submit(SPEEDTEST)
    result = _collect_and_grade(course, SPEEDTEST, lab.student)
    assert all(t["status"] == "passed" for t in result["tests"]), result["tests"]
    assert spec.total_points > 0 and result["score"] == pytest.approx(spec.total_points)

    _feedback_step(lab_page, course, lab, SPEEDTEST, lab.student, result)
