"""Speed tests 1–3: each student's own numbers, shown in the notebook and rebuilt by the grader.

- the numbers a student sees (their login name in their JupyterLab) are the ones the grader rebuilds;
- the instructor's solution scores full marks for every student, graded through the real pipeline in the
  sandbox with the submission's student id;
- answers worked out on another student's numbers score 0, even from a notebook that claims that student's id;
- the released notebook scores 0 without an error in the grader.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.spec import load_assignment_spec

ROOT = Path(__file__).resolve().parents[2]
SPEEDTESTS = ("speedtest1", "speedtest2", "speedtest3")
STUDENTS = ("alice", "bob", "s1234567")


def _spec(name):
    return load_assignment_spec(ROOT / "source", name)


def _numbers_seen_by(student: str, folder: Path, env_name: str) -> str:
    """What the notebook's first code cell computes when `student` runs it (their own environment)."""
    nb = nbformat.read(str(next(folder.glob("*.ipynb"))), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    code = first.source + "\nimport json\nprint('@@' + json.dumps(q, sort_keys=True))\n"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent", env_name: student}
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("@@", 1)[1].strip()


@pytest.mark.parametrize("name", SPEEDTESTS)
@pytest.mark.parametrize("env_name", ["USER", "JUPYTERHUB_USER"])
def test_the_numbers_a_student_sees_are_the_graders(name, env_name):
    import json

    from autograder.probes.variant import student_variant

    spec = _spec(name)
    seen = {s: _numbers_seen_by(s, ROOT / "release" / name, env_name) for s in STUDENTS}
    for student, text in seen.items():
        assert json.loads(text) == json.loads(json.dumps(student_variant(spec.support, student)))
    assert len(set(seen.values())) == len(STUDENTS), "two students got the same numbers"


def _answers_for(spec, student: str) -> str:
    """The instructor's solution cells run on `student`'s numbers, as literal assignments."""
    from autograder.probes.variant import student_variant

    nb = spec.notebooks[next(iter(spec.notebooks))]
    first = next(c for c in nb.cells if c.cell_type == "code")
    ns: dict = {}
    sys.modules.pop("my_numbers", None)
    sys.path.insert(0, str(spec.path))
    try:
        exec(first.source.replace("student_id()", repr(student)), ns)  # noqa: S102 - the instructor's notebook
    finally:
        sys.path.remove(str(spec.path))
        sys.modules.pop("my_numbers", None)
    assert ns["q"] == student_variant(spec.support, student)
    names = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, ns)  # noqa: S102
            names += [ln.split("=")[0].strip() for ln in cell.source.splitlines() if ln.startswith("answer_")]
    return "".join(f"{n} = {ns[n]!r}\n" for n in names)


def _submission(spec, answers: str | None) -> bytes:
    """The released notebook with every solution cell replaced (None: the instructor's solution)."""
    nb = nbformat.reads(nbformat.writes(spec.notebooks[next(iter(spec.notebooks))]), as_version=4)
    cells = spec.cells[next(iter(spec.notebooks))]
    first = True
    for cell, cs in zip(nb.cells, cells):
        if cs.is_test:
            cell.source = cs.student_source
        elif cs.solution and answers is not None:
            cell.source = answers if first else "pass"
            first = False
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def graded():
    from grading_job import grade, sandbox_slot

    out = {}
    with sandbox_slot() as slot:
        for name in SPEEDTESTS:
            spec = _spec(name)
            alice = _answers_for(spec, "alice")
            claims = "import os\nos.environ['JUPYTERHUB_USER'] = 'alice'\n" + alice
            cases = {("alice", "solution"): None, ("bob", "solution"): None, ("bob", "alice's answers"): alice,
                     ("bob", "claims to be alice"): claims, ("carol", "released"): "released"}
            for (student, case), answers in cases.items():
                data = (nbformat.writes(nbformat.read(str(ROOT / "release" / name / f"{name}.ipynb"), as_version=4))
                        .encode() if answers == "released" else _submission(spec, answers))
                out[name, student, case] = grade(spec, {name: data}, slot, student=student)
    return out


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("name", SPEEDTESTS)
def test_the_solution_scores_full_marks_for_every_student(graded, name):
    for student in ("alice", "bob"):
        result = graded[name, student, "solution"]
        assert result.tests and all(t.status == "passed" for t in result.tests), \
            [(t.test_id, t.status, t.message) for t in result.tests]


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("name", SPEEDTESTS)
@pytest.mark.parametrize("case", ["alice's answers", "claims to be alice"])
def test_answers_for_another_students_numbers_score_zero(graded, name, case):
    result = graded[name, "bob", case]
    assert [t.score for t in result.tests] == [0.0] * len(result.tests), \
        [(t.test_id, t.status, t.message) for t in result.tests]
    assert all(t.status == "failed" for t in result.tests)


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("name", SPEEDTESTS)
def test_the_released_notebook_scores_zero_without_a_grader_error(graded, name):
    result = graded[name, "carol", "released"]
    assert all(t.score == 0.0 and t.status == "error" for t in result.tests)
    assert all("is not defined" in t.message for t in result.tests), [t.message for t in result.tests]
