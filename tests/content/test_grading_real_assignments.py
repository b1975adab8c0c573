"""The course's assignments through the real pipeline in the sandbox: the instructor's solution scores full
marks (without running the exploration cells), the released notebook scores 0 on every test without a
grader error."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.spec import load_assignment_spec

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ("assignment1", "assignment2")
pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def solved(spec, name: str) -> bytes:
    """The instructor's notebook as a student would submit it: solutions in, hidden tests out."""
    nb = nbformat.reads(nbformat.writes(spec.notebooks[name]), as_version=4)
    for cell, cs in zip(nb.cells, spec.cells[name]):
        if cs.is_test:
            cell.source = cs.student_source
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def graded():
    from grading_job import grade, sandbox_slot

    out = {}
    with sandbox_slot() as slot:
        for assignment in ASSIGNMENTS:
            spec = load_assignment_spec(ROOT / "source", assignment)
            for case in ("solved", "released"):
                files = {name: solved(spec, name) if case == "solved" else
                         (ROOT / "release" / assignment / f"{name}.ipynb").read_bytes() for name in spec.notebooks}
                out[assignment, case] = (spec, grade(spec, files, slot))
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_scores_full_marks_without_the_exploration_cells(graded, assignment):
    spec, result = graded[assignment, "solved"]
    assert {t.test_id: (t.status, t.score) for t in result.tests} == \
        {t.test_id: ("passed", t.points) for t in spec.tests}, [(t.test_id, t.message) for t in result.tests]
    assert not any("every cell" in n for n in result.notes), result.notes


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_released_notebook_scores_zero_without_a_grader_error(graded, assignment):
    _spec, result = graded[assignment, "released"]
    assert result.tests and all(t.score == 0.0 for t in result.tests)
    assert all(t.status == "error" and "NotImplementedError" in t.message for t in result.tests), \
        [(t.test_id, t.status, t.message) for t in result.tests]
