"""Assignment spec: probe declarations parsed (never executed), suite hash, authoring errors."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.spec import SpecError, load_assignment_spec, parse_probes, student_source

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "course"


@pytest.fixture
def course(tmp_path) -> Path:
    shutil.copytree(FIXTURE / "source", tmp_path / "source")
    return tmp_path / "source"


def edit(course: Path, nb_name: str, grade_id: str, fn) -> None:
    path = course / "fixture_hw" / f"{nb_name}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            fn(cell)
    nbformat.write(nb, str(path))


def test_fixture_spec():
    spec = load_assignment_spec(FIXTURE / "source", "fixture_hw")
    assert set(spec.notebooks) == {"dist", "poly"}
    assert [(t.notebook, t.test_id, t.points, len(t.probes)) for t in spec.tests] == [
        ("dist", "test_dist", 1.0, 1), ("dist", "test_labels", 1.0, 2),
        ("poly", "test_fit", 2.0, 3), ("poly", "test_rms", 1.0, 1)]
    assert spec.total_points == 5.0
    probe = spec.test("poly", "test_fit").probes[1]
    assert (probe.kind, probe.target, probe.params) == ("polyfit.fit", "fit", {"data": "bishop", "M": 9})
    cell = spec.cell("dist", "test_dist")
    assert cell.is_test and cell.locked and "BEGIN HIDDEN" in cell.source and "probe(" not in cell.student_source
    assert len(spec.suite_hash) == 64
    assert spec.suite_hash == load_assignment_spec(FIXTURE / "source", "fixture_hw").suite_hash


def test_student_source_matches_nbgrader_release():
    spec = load_assignment_spec(FIXTURE / "source", "fixture_hw")
    for name, cells in spec.cells.items():
        release = nbformat.read(str(FIXTURE / "release" / "fixture_hw" / f"{name}.ipynb"), as_version=4)
        assert [c.student_source.strip() for c in cells] == [c.source.strip() for c in release.cells]


def test_hash_changes_with_a_hidden_probe(course):
    before = load_assignment_spec(course, "fixture_hw").suite_hash
    edit(course, "dist", "test_dist", lambda c: setattr(c, "source", c.source.replace("n_test=10", "n_test=11")))
    assert load_assignment_spec(course, "fixture_hw").suite_hash != before


def test_hash_changes_with_points(course):
    before = load_assignment_spec(course, "fixture_hw").suite_hash
    edit(course, "dist", "test_dist", lambda c: c.metadata["nbgrader"].update(points=2))
    assert load_assignment_spec(course, "fixture_hw").suite_hash != before


def test_hash_ignores_markdown_solutions_and_visible_asserts(course):
    before = load_assignment_spec(course, "fixture_hw").suite_hash
    edit(course, "dist", "dist_intro", lambda c: setattr(c, "source", c.source + "\nMore words."))
    edit(course, "dist", "dist_solution", lambda c: setattr(c, "source", c.source + "\n# comment"))
    edit(course, "dist", "test_dist", lambda c: setattr(c, "source", "assert True\n" + c.source))
    assert load_assignment_spec(course, "fixture_hw").suite_hash == before


@pytest.mark.parametrize("mutate, message", [
    (lambda c: setattr(c, "source", "assert True"), "declares no probe"),
    (lambda c: setattr(c, "source", c.source.replace('"compute_distances", n_train=30',
                                                     '"compute_distances", n_train=int("30")')), "literals"),
    (lambda c: setattr(c, "source", c.source.replace("### END HIDDEN", "assert 1 == 1\n### END HIDDEN")),
     "only imports and probe"),
    (lambda c: setattr(c, "source", c.source.replace("knn.distances", "knn.distancez")), "knn.distancez"),
    (lambda c: setattr(c, "source", c.source.replace("n_train=30", "n_trains=30")), "n_trains"),
    (lambda c: setattr(c, "source", c.source.replace("### END HIDDEN TESTS", "")), "never closed"),
    (lambda c: setattr(c, "source", c.source.replace("probe(", "probe(*")), "probe("),
    (lambda c: c.metadata["nbgrader"].update(points=0), "no points"),
    (lambda c: c.metadata["nbgrader"].update(grade_id="test_labels"), "used twice"),
])
def test_authoring_errors_name_notebook_and_cell(course, mutate, message):
    edit(course, "dist", "test_dist", mutate)
    with pytest.raises(SpecError) as err:
        load_assignment_spec(course, "fixture_hw")
    assert message in str(err.value) and "dist.ipynb" in str(err.value)


def test_probe_outside_a_graded_cell_is_an_error(course):
    edit(course, "dist", "dist_solution", lambda c: setattr(
        c, "source", c.source + '\n### BEGIN HIDDEN TESTS\nprobe("knn.distances", "f")\n### END HIDDEN TESTS'))
    with pytest.raises(SpecError, match="not graded"):
        load_assignment_spec(course, "fixture_hw")


def test_probe_in_a_solution_cell_is_an_error(course):
    edit(course, "dist", "dist_solution", lambda c: (c.metadata["nbgrader"].update(grade=True, points=1), setattr(
        c, "source", c.source + '\n### BEGIN HIDDEN TESTS\nprobe("knn.distances", "f")\n### END HIDDEN TESTS')))
    with pytest.raises(SpecError, match="solution cell"):
        load_assignment_spec(course, "fixture_hw")


def test_missing_assignment_and_empty_folder(tmp_path):
    with pytest.raises(SpecError, match="no assignment"):
        load_assignment_spec(tmp_path, "hw")
    (tmp_path / "hw").mkdir()
    with pytest.raises(SpecError, match="no notebooks"):
        load_assignment_spec(tmp_path, "hw")
    (tmp_path / "hw" / "a.ipynb").write_text("{not json")
    with pytest.raises(SpecError, match="not a readable notebook"):
        load_assignment_spec(tmp_path, "hw")


def test_parse_probes_never_executes(tmp_path):
    canary = tmp_path / "ran"
    src = ("### BEGIN HIDDEN TESTS\n"
           f"probe('knn.distances', 'f', n_train=__import__('pathlib').Path({str(canary)!r}).touch())\n"
           "### END HIDDEN TESTS")
    with pytest.raises(SpecError, match="literals"):
        parse_probes(src, "nb, cell 1")
    assert not canary.exists()


def test_student_source_stubs_and_strips():
    src = "x = 1\n    ### BEGIN SOLUTION\n    y = 2\n    ### END SOLUTION\nz = 3"
    assert student_source(src, "code", True, "w") == \
        "x = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\nz = 3"
    assert student_source("a = 1", "code", True, "w") == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert student_source("assert f()\n### BEGIN HIDDEN TESTS\nprobe('a', 'b')\n### END HIDDEN TESTS", "code",
                          False, "w") == "assert f()"
