"""Assignment 2 (polynomial curve fitting) as teaching material: it runs, draws what it promises, reproduces
Bishop's Table 1.1, its points add up to the course policy, and its visible checks agree with the hidden
probes on every convention the notebook states.
"""
from __future__ import annotations

import copy
import re
import tomllib

import pytest
from notebook_run import RESULT_TAG, ROOT, errors, execute, figure_cells, last_result, traceback_text

from autograder.probes.local import exec_cells, grade_notebook_locally
from autograder.spec import SKIP_TAG, load_assignment_spec, student_source
from reference_impl.polyfit import BISHOP_TABLE_1_1

ASSIGNMENT, NOTEBOOK = "assignment2", "polyfit"
SOURCE = ROOT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
EXPECTED_FIGURES = 6  # data, M = 0/1/3/9, E_RMS vs M, N = 15/100, ln λ = -18/0, E_RMS vs ln λ

DUMP_TABLE = f"import json\nprint({RESULT_TAG!r} + json.dumps({{c: table_1_1[c].dropna().tolist() " \
             "for c in table_1_1.columns}))"


@pytest.fixture(scope="module")
def spec():
    return load_assignment_spec(ROOT / "source", ASSIGNMENT)


@pytest.fixture(scope="module")
def executed_source(tmp_path_factory):
    return execute(SOURCE, tmp_path_factory.mktemp("source"), extra_source=DUMP_TABLE)


@pytest.fixture(scope="module")
def executed_release(tmp_path_factory):
    return execute(RELEASE, tmp_path_factory.mktemp("release"), allow_errors=True)


# ------------------------------------------------------------------------------------ the notebook runs
@pytest.mark.slow
def test_source_runs_without_error(executed_source):
    assert errors(executed_source) == [], [f"cell {i}: {o.ename}: {o.evalue}" for i, o in errors(executed_source)]


@pytest.mark.slow
def test_every_promised_figure_is_drawn(executed_source):
    promised, drawn = figure_cells(executed_source)
    assert len(promised) == EXPECTED_FIGURES, f"the text promises {len(promised)} figures, expected {EXPECTED_FIGURES}"
    assert promised == drawn, f"figures promised after cells {promised}, images found in cells {drawn}"


@pytest.mark.slow
def test_table_1_1_matches_bishop(executed_source):
    table = last_result(executed_source)
    assert list(table) == ["M = 0", "M = 1", "M = 3", "M = 9"]
    for M, book in BISHOP_TABLE_1_1.items():
        ours = table[f"M = {M}"]
        assert len(ours) == len(book) == M + 1
        if M < 9:
            assert max(abs(a - b) for a, b in zip(ours, book)) <= 0.01, (M, ours, book)
        else:  # targets known to 3 decimals, condition number 1.5e7: 0.1 % on coefficients up to 1e6
            assert max(abs(a - b) / abs(b) for a, b in zip(ours, book)) <= 2e-3, (ours, book)


@pytest.mark.slow
def test_released_notebook_fails_only_in_the_stubs(executed_release):
    nb = executed_release
    found = errors(nb)
    assert found, "the released notebook ran without a single NotImplementedError: are the solutions stripped?"
    assert {o.ename for _, o in found} == {"NotImplementedError"}, \
        [f"cell {i}: {o.ename}: {o.evalue}" for i, o in found]
    for i, out in found:  # raised by a stub, i.e. from inside a solution cell's function
        assert "raise NotImplementedError()" in traceback_text(out), f"cell {i}: {traceback_text(out)[-300:]}"
    first_solution = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    assert all(i > first_solution for i, _ in found), "cells before the first exercise must run cleanly"
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            assert not [o for o in cell.outputs if o.output_type == "error"], f"solution cell {i} fails when defined"
    promised, drawn = figure_cells(nb)
    assert drawn == promised[:1], "only the data figure can be drawn before any function is written"


# ------------------------------------------------------------------------------------------- the points
def test_points_add_up_to_course_policy(spec):
    policy = tomllib.loads((ROOT / "course.toml").read_text())
    manual = [c for c in spec.cells[NOTEBOOK] if c.grade and c.solution]
    assert [c.cell_type for c in manual] == ["markdown"], "one manually graded written answer"
    total = spec.total_points + sum(c.points for c in manual)
    assert total == pytest.approx(policy["items"][ASSIGNMENT]["points"])


def test_rubric_sums_to_the_answer_points_and_stays_in_source(spec):
    (answer,) = [c for c in spec.cells[NOTEBOOK] if c.grade and c.solution]
    items = [float(p) for p in re.findall(r"^- \*\*(\d+(?:\.\d+)?) \(question \d\)\.\*\*", answer.source, re.MULTILINE)]
    assert len(items) == 3 and sum(items) == pytest.approx(answer.points), items
    released = RELEASE.read_text()
    assert "Rubric" not in released and "Model answer" not in released and "YOUR ANSWER HERE" in released


# -------------------------------------------------------- visible checks and hidden probes agree (mutants)
# (solution grade_id, old, new, graded test, expected hidden fraction, fragment of the visible check's message)
WRONG = [
    ("fit_solution", "math.sqrt(lam)", "math.sqrt(lam / 2)", "test_fit", 3 / 7, "fit for lam/2"),
    ("fit_solution", "math.sqrt(lam)", "math.sqrt(2 * lam)", "test_fit", 3 / 7, "fit for 2*lam"),
    ("fit_solution", "math.sqrt(lam) * torch.eye(M + 1, dtype=dtype, device=device)",
     "math.sqrt(lam) * torch.diag(torch.tensor([0.0] + [1.0] * M, dtype=dtype, device=device))",
     "test_fit", 4 / 7, "w_0 is not penalised"),
    ("fit_solution", "torch.linalg.lstsq(A, b[:, None])", "torch.linalg.lstsq(A.float(), b[:, None].float())",
     "test_fit", 5 / 7, "use float64"),
    ("rms_solution", "torch.sqrt(torch.mean(residual ** 2))", "torch.mean(residual ** 2)", "test_rms_error", 0.0,
     "square root is missing"),
    ("rms_solution", "torch.sqrt(torch.mean(residual ** 2))", "torch.sqrt(0.5 * torch.mean(residual ** 2))",
     "test_rms_error", 0.0, "factor 2 is missing"),
    ("rms_solution", "torch.sqrt(torch.mean(residual ** 2))", "0.5 * torch.sum(residual ** 2)", "test_rms_error",
     0.0, "E(w) itself"),
    ("predict_solution", "@ w\n", "@ w.flip(0)\n", "test_predict", 0.0, "read backwards"),
    ("design_matrix_solution", "x[:, None] ** powers", "x[:, None] ** powers.flip(0)", "test_design_matrix",
     1 / 3, "columns are reversed"),
]

# Correct in other ways than the solution: full marks, and the visible checks pass.
RIGHT = [
    ("fit_solution", "torch.linalg.lstsq(A, b[:, None]).solution[:, 0]", "torch.linalg.solve(A.T @ A, A.T @ b)",
     "test_fit"),  # the normal equations in float64: fit the data to 1e-4, which is all that is graded
    ("fit_solution", "return torch.linalg.lstsq(A, b[:, None]).solution[:, 0]",
     "import numpy as np\n    return np.linalg.lstsq(A.cpu().numpy(), b.cpu().numpy(), rcond=None)[0]",
     "test_fit"),  # a NumPy answer
    ("predict_solution", "return design_matrix(x, len(w) - 1) @ w",
     "y = torch.zeros_like(x)\n    for c in w.flip(0):\n        y = y * x + c\n    return y", "test_predict"),
    ("rms_solution", "return torch.sqrt(torch.mean(residual ** 2))",
     "E = 0.5 * torch.sum(residual ** 2)\n    return float(torch.sqrt(2 * E / len(t)))", "test_rms_error"),
    ("design_matrix_solution", "return x[:, None] ** powers", "return torch.vander(x, M + 1, increasing=True)",
     "test_design_matrix"),
]


def _mutated(spec, grade_id: str, old: str, new: str):
    nb = copy.deepcopy(spec.notebooks[NOTEBOOK])
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert old in cell.source, f"{grade_id} no longer contains {old!r}: update this test"
    cell.source = cell.source.replace(old, new)
    return nb


def _visible_checks(nb) -> AssertionError | None:
    """Run the setup, solution and visible test cells (hidden regions removed) as a student would."""
    sources = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or "grade_id" not in meta or SKIP_TAG in cell.metadata.get("tags", []):
            continue  # free and exploration cells (figures, tables) are not checks
        sources.append(student_source(cell.source, "code", False, meta["grade_id"]) if meta.get("grade")
                       else cell.source)
    try:
        exec_cells(sources)
    except AssertionError as exc:
        return exc
    return None


@pytest.mark.parametrize("grade_id, old, new, test_id, fraction, message", WRONG,
                         ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_each_convention_violation_fails_visible_and_hidden(spec, grade_id, old, new, test_id, fraction, message):
    nb = _mutated(spec, grade_id, old, new)
    failure = _visible_checks(nb)
    assert failure is not None and message in str(failure), f"visible checks: {failure!r}"
    for seed in (3, 4242):  # the same mistake costs every student the same
        verdict = grade_notebook_locally(nb, (spec.test(NOTEBOOK, test_id),), seed=seed, skip_free_cells=True)
        assert verdict[test_id].fraction == pytest.approx(fraction), verdict[test_id]


@pytest.mark.parametrize("grade_id, old, new, test_id", RIGHT, ids=[f"{r[0]}-{i}" for i, r in enumerate(RIGHT)])
def test_other_correct_solutions_pass_visible_and_hidden(spec, grade_id, old, new, test_id):
    nb = _mutated(spec, grade_id, old, new)
    assert _visible_checks(nb) is None
    verdict = grade_notebook_locally(nb, (spec.test(NOTEBOOK, test_id),), seed=5, skip_free_cells=True)
    assert verdict[test_id].fraction == 1.0, verdict[test_id]
