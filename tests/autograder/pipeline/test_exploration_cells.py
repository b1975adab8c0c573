"""Cells tagged `skip-when-grading` (plots, long training runs) are left out of the first grading run; a test
that then fails for a reason a left-out cell could explain is graded again with every cell."""
from __future__ import annotations

import nbformat
import pytest

from autograder.spec import SKIP_TAG, SpecError, load_assignment_spec

RMS = "def rms_error(w, x, t):\n    import numpy as np\n    y = np.polyval(np.asarray(w)[::-1], x)\n" \
      "    return float(np.sqrt(np.mean((y - t) ** 2))){suffix}\n"


def _cell(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True, "schema_version": 3, **nbgrader}
    return cell


def _assignment(tmp_path, explore_source: str):
    folder = tmp_path / "src" / "hw"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    explore = _cell(explore_source, grade_id="explore")
    explore.metadata["tags"] = [SKIP_TAG]
    sol = _cell("### BEGIN SOLUTION\npass\n### END SOLUTION", grade_id="sol", solution=True, locked=False)
    test = _cell("### BEGIN HIDDEN TESTS\nprobe('polyfit.rms_error', 'rms_error')\n### END HIDDEN TESTS",
                 grade_id="t", grade=True, points=1)
    nb.cells = [explore, sol, test]
    nbformat.write(nb, str(folder / "nb.ipynb"))
    return load_assignment_spec(tmp_path / "src", "hw"), nb


def _grade(spec, nb, solution: str, own_tagged_cell: str | None = None):
    from grading_job import grade

    from autograder.sandbox import open_slot

    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nb.cells[1].source = solution
    nb.cells[2].source = ""  # as released
    if own_tagged_cell is not None:  # a free cell of the student's, tagged as exploration
        extra = nbformat.v4.new_code_cell(own_tagged_cell)
        extra.metadata["tags"] = [SKIP_TAG]
        nb.cells.insert(1, extra)
    with open_slot(sandbox=False) as slot:
        return grade(spec, {"nb": nbformat.writes(nb).encode()}, slot, sandbox=False)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    plot_only, nb = _assignment(tmp / "a", "print('EXPLORATION RAN')\nSCALE = 1.0")
    return {
        "correct": _grade(plot_only, nb, RMS.format(suffix="")),
        "needs the cell": _grade(plot_only, nb, RMS.format(suffix=" * SCALE")),
        "wrong": _grade(plot_only, nb, RMS.format(suffix=" * 2")),
        "own tagged cell": _grade(plot_only, nb, RMS.format(suffix=" * OWN"), "print('OWN CELL RAN')\nOWN = 1.0"),
    }


def _ran_exploration(result) -> bool:
    return any("EXPLORATION RAN" in o.get("text", "") for c in result.cells for o in c.outputs)


def test_correct_work_is_graded_without_the_exploration_cells(results):
    r = results["correct"]
    assert [t.status for t in r.tests] == ["passed"]
    assert not _ran_exploration(r) and not any("every cell" in n for n in r.notes)


def test_a_function_that_needs_a_left_out_cell_is_graded_again_with_every_cell(results):
    r = results["needs the cell"]
    assert [(t.status, t.score) for t in r.tests] == [("passed", 1.0)], r.tests
    assert _ran_exploration(r)
    assert any("graded with every cell" in n for n in r.notes), r.notes


def test_a_free_cell_tagged_as_exploration_is_skipped_only_as_a_first_try(results):
    r = results["own tagged cell"]
    assert [(t.status, t.score) for t in r.tests] == [("passed", 1.0)], r.tests
    assert any("OWN CELL RAN" in o.get("text", "") for c in r.cells for o in c.outputs)


def test_a_wrong_value_is_not_graded_twice(results):
    r = results["wrong"]
    assert [t.status for t in r.tests] == ["failed"]
    assert not _ran_exploration(r)


def test_only_ungraded_code_cells_can_be_tagged(tmp_path):
    folder = tmp_path / "src" / "hw"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    test = _cell("### BEGIN HIDDEN TESTS\nprobe('polyfit.rms_error', 'f')\n### END HIDDEN TESTS",
                 grade_id="t", grade=True, points=1)
    test.metadata["tags"] = [SKIP_TAG]
    nb.cells = [test]
    nbformat.write(nb, str(folder / "nb.ipynb"))
    with pytest.raises(SpecError, match=SKIP_TAG):
        load_assignment_spec(tmp_path / "src", "hw")


def test_only_the_notebook_that_needs_its_left_out_cells_is_graded_again(tmp_path):
    from grading_job import grade

    from autograder.sandbox import open_slot

    folder = tmp_path / "src" / "hw"
    folder.mkdir(parents=True)
    notebooks = {}
    for name in ("first", "second"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        explore = _cell(f"print('{name.upper()} EXPLORATION RAN')\nSCALE = 1.0", grade_id=f"explore_{name}")
        explore.metadata["tags"] = [SKIP_TAG]
        sol = _cell("### BEGIN SOLUTION\npass\n### END SOLUTION", grade_id=f"sol_{name}", solution=True,
                    locked=False)
        test = _cell("### BEGIN HIDDEN TESTS\nprobe('polyfit.rms_error', 'rms_error')\n### END HIDDEN TESTS",
                     grade_id=f"t_{name}", grade=True, points=1)
        nb.cells = [explore, sol, test]
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
        notebooks[name] = nb
    spec = load_assignment_spec(tmp_path / "src", "hw")
    files = {}
    for name, suffix in (("first", " * SCALE"), ("second", "")):  # only the first needs its exploration cell
        nb = nbformat.reads(nbformat.writes(notebooks[name]), as_version=4)
        nb.cells[1].source = RMS.format(suffix=suffix)
        nb.cells[2].source = ""
        files[name] = nbformat.writes(nb).encode()
    with open_slot(sandbox=False) as slot:
        r = grade(spec, files, slot, sandbox=False)
    assert [(t.notebook, t.status, t.score) for t in r.tests] == [("first", "passed", 1.0), ("second", "passed", 1.0)]
    printed = "".join(o.get("text", "") for c in r.cells for o in c.outputs)
    assert "FIRST EXPLORATION RAN" in printed and "SECOND EXPLORATION RAN" not in printed
    assert [n for n in r.notes if "every cell" in n] == [
        "first: graded with every cell: the run without its 1 exploration cell(s) did not pass t_first"]
