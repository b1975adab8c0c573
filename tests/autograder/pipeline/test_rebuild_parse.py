"""Pure steps without a kernel: parsing untrusted files and rebuilding from the spec."""
from __future__ import annotations

import copy
import json

import attack_cases
import pytest
from fixture_course import FIXTURE_COURSE

from autograder.pipeline.parse import InvalidNotebook, parse_notebook
from autograder.pipeline.rebuild import rebuild
from autograder.spec import load_assignment_spec


@pytest.fixture(scope="module")
def spec():
    return load_assignment_spec(FIXTURE_COURSE / "source", "fixture_hw")


def plan_of(spec, nb: dict, name: str = "dist"):
    parsed = parse_notebook(json.dumps(nb).encode())
    return rebuild(spec, name, parsed, parsed.kernel_name)


@pytest.mark.parametrize("name", sorted(attack_cases.INVALID))
def test_invalid_files_raise_one_line(name):
    with pytest.raises(InvalidNotebook) as err:
        parse_notebook(attack_cases.INVALID[name])
    assert "\n" not in str(err.value) and str(err.value)


def test_bom_is_repaired():
    nb = parse_notebook(b"\xef\xbb\xbf" + json.dumps(attack_cases.load("correct", "dist")).encode())
    assert nb.repaired and nb.cells


def test_untampered_submission_has_no_notes(spec):
    rb = plan_of(spec, attack_cases.load("correct", "dist"))
    assert rb.tampered == {} and rb.notes == []
    assert [p.kind for p in rb.plan] == ["code", "code", "test", "code", "test"]


def test_tests_come_from_the_spec_not_the_submission(spec):
    nb = attack_cases.load("correct", "dist")
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_dist":
            cell["source"] = "print('all tests passed')"
    rb = plan_of(spec, nb)
    assert rb.tampered == {"test_dist": "test cell edited"}
    assert [p.test_id for p in rb.plan if p.kind == "test"] == ["test_dist", "test_labels"]
    assert all("all tests passed" not in p.source for p in rb.plan)


def test_student_helper_cells_run_after_their_anchor(spec):
    nb = attack_cases.load("correct", "dist")
    helper = attack_cases.code("def helper():\n    return 1")
    idx = next(i for i, c in enumerate(nb["cells"])
               if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "dist_imports")
    nb["cells"].insert(idx + 1, helper)
    rb = plan_of(spec, nb)
    origins = [p.origin for p in rb.plan]
    assert origins[:3] == ["dist_imports", "extra", "dist_solution"]


def test_duplicate_solution_first_copy_is_the_answer(spec):
    nb = attack_cases.load("correct", "dist")
    sol = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "dist_solution")
    dup = copy.deepcopy(sol)
    dup["source"] = "def compute_distances(X, Y):\n    return 0"
    nb["cells"].append(dup)
    rb = plan_of(spec, nb)
    assert any("duplicate grade_id dist_solution" in n for n in rb.notes)
    answer = next(p for p in rb.plan if p.origin == "dist_solution")
    assert "np.sqrt" in answer.source
