"""Every source notebook's own solution scores full marks through the comparators; wrong code does not.

The notebooks' code runs in this (trusted) process via autograder.probes.local; exploration cells without
nbgrader metadata are skipped to keep this cheap.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from autograder.probes.local import grade_notebook_locally
from autograder.spec import load_assignment_spec

ROOT = Path(__file__).resolve().parents[3]
ASSIGNMENTS = ("assignment1", "assignment2")  # speed tests (each student's own numbers): tests/content/test_speedtests.py


@pytest.fixture(scope="module")
def specs():
    return {a: load_assignment_spec(ROOT / "source", a) for a in ASSIGNMENTS}


def _notebooks(specs):
    return [(a, name) for a in ASSIGNMENTS for name in specs[a].notebooks]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_score_full_marks(specs, assignment):
    spec = specs[assignment]
    assert spec.tests, f"{assignment} has no graded tests"
    for name, nb in spec.notebooks.items():
        verdicts = grade_notebook_locally(nb, spec.tests_for(name), seed=2024, run_visible_tests=True,
                                          skip_free_cells=True)
        bad = {k: v for k, v in verdicts.items() if v.status != "passed"}
        assert not bad, f"{assignment}/{name}: {bad}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_stubs_score_zero(specs, assignment):
    spec = specs[assignment]
    for name, nb in spec.notebooks.items():
        stub = copy.deepcopy(nb)
        for cell, cs in zip(stub.cells, spec.cells[name]):
            cell.source = cs.student_source  # as released: NotImplementedError in every solution
        verdicts = grade_notebook_locally(stub, spec.tests_for(name), seed=1, skip_free_cells=True)
        assert all(v.fraction == 0.0 and v.status == "error" for v in verdicts.values()), verdicts
        assert all("NotImplementedError" in v.message for v in verdicts.values())


# (assignment, notebook, solution grade_id, old, new, test_id, expected fraction)
WRONG = [
    ("assignment1", "knn", "knn_dist_solution", "torch.sqrt(torch.clamp(d2, min=0.0))", "torch.clamp(d2, min=0.0)",
     "test_knn_dist", 0.0),
    ("assignment1", "knn", "knn_l1_solution", "(Y - X[i]).abs().sum(dim=1)", "((Y - X[i]) ** 2).sum(dim=1).sqrt()",
     "test_knn_l1", 0.0),
    ("assignment1", "knn", "knn_labels_solution", "return torch.argmax(counts, dim=1)",
     "return num_classes - 1 - torch.argmax(counts.flip(1), dim=1)", "test_knn_labels", 0.0),
    ("assignment1", "linear_classifier", "svm_vectorized_solution", "/ N + 2 * reg * W", "/ N + reg * W",
     "test_svm_vectorized", 0.5),
    ("assignment1", "linear_classifier", "svm_vectorized_solution", "/ N + reg * torch.sum(W * W)",
     "/ N + 0.5 * reg * torch.sum(W * W)", "test_svm_vectorized", 0.5),
    ("assignment1", "linear_classifier", "softmax_vectorized_solution",
     "    scores = scores - scores.max(dim=1, keepdim=True).values\n", "", "test_softmax_vectorized", 2 / 3),
    ("assignment2", "polyfit", "fit_solution", "math.sqrt(lam)", "math.sqrt(lam / 2)", "test_fit", 3 / 7),
    ("assignment2", "polyfit", "rms_solution", "torch.sqrt(torch.mean(", "(torch.mean(", "test_rms_error", 0.0),
]


@pytest.mark.parametrize("assignment, nb_name, grade_id, old, new, test_id, expected", WRONG,
                         ids=[f"{w[0]}-{w[2]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_solutions_lose_points(specs, assignment, nb_name, grade_id, old, new, test_id, expected):
    spec = specs[assignment]
    nb = copy.deepcopy(spec.notebooks[nb_name])
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            assert old in cell.source, f"{grade_id} no longer contains {old!r}: update this test"
            cell.source = cell.source.replace(old, new)
    import numpy as np

    with np.errstate(all="ignore"):
        verdicts = grade_notebook_locally(nb, (spec.test(nb_name, test_id),), seed=3, skip_free_cells=True)
    v = verdicts[test_id]
    assert v.status != "passed" and v.fraction == pytest.approx(expected), v
