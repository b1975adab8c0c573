"""An assignment's own modules (source/<assignment>/*.py) are defined in the grading kernel from the
instructor's copy: a notebook that imports them runs as in the student's JupyterLab, and a submission
cannot replace them."""
from __future__ import annotations

import nbformat
import pytest

from autograder.spec import SpecError, load_assignment_spec

HELPER = "import dataclasses\n\n@dataclasses.dataclass\nclass Shape:\n    n: int\n\n\ndef rms(w, x, t):\n    import numpy as np\n    y = np.polyval(np.asarray(w)[::-1], x)\n    return float(np.sqrt(np.mean((y - t) ** 2)))\n"


def _course(tmp_path, helper: str = HELPER):
    folder = tmp_path / "src" / "hw"
    folder.mkdir(parents=True)
    (folder / "course_helper.py").write_text(helper)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    sol = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nfrom course_helper import rms as rms_error\n### END SOLUTION")
    sol.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": "sol",
                                "schema_version": 3}
    test = nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nprobe('polyfit.rms_error', 'rms_error')\n"
                                     "### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": "t",
                                 "points": 1, "schema_version": 3}
    nb.cells = [sol, test]
    nbformat.write(nb, str(folder / "nb.ipynb"))
    return load_assignment_spec(tmp_path / "src", "hw"), nb


def _grade(spec, nb):
    from grading_job import grade

    from autograder.sandbox import open_slot

    for cell in nb.cells:  # as released: the hidden region removed
        if cell.metadata["nbgrader"]["grade"]:
            cell.source = ""
    with open_slot(sandbox=False) as slot:
        return grade(spec, {"nb": nbformat.writes(nb).encode()}, slot, sandbox=False)


def test_support_module_is_defined_in_the_kernel(tmp_path):
    spec, nb = _course(tmp_path)
    assert set(spec.support) == {"course_helper"}
    result = _grade(spec, nb)
    assert [(t.status, t.score) for t in result.tests] == [("passed", 1.0)], result.tests
    assert all(not c.key.endswith(":prelude") for c in result.cells) and result.cells  # not shown as the student's cell


def test_support_modules_enter_the_suite_hash(tmp_path):
    a, _ = _course(tmp_path / "a")
    b, _ = _course(tmp_path / "b", HELPER + "# changed\n")
    assert a.suite_hash != b.suite_hash


def test_a_broken_support_module_is_an_authoring_error(tmp_path):
    with pytest.raises(SpecError, match="not valid Python"):
        _course(tmp_path, "def broken(:\n")
