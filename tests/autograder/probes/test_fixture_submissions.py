"""The fixture course's submissions score what tests/fixtures/course/README.md promises (in-process run of our
own fixture code; the pipeline's tests run the same notebooks in the sandbox)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from autograder.probes.local import grade_notebook_locally
from autograder.spec import load_assignment_spec

COURSE = Path(__file__).resolve().parents[2] / "fixtures" / "course"
EXPECTED = json.loads((COURSE / "submissions" / "EXPECTED.json").read_text())
CANARY = "/tmp/course-fixture-canary-unpickled"
ZERO_TESTS = {"zero/float_subclass": ("poly", "test_rms"), "zero/ndarray_subclass": ("dist", "test_dist"),
              "zero/object_array": ("dist", "test_dist"), "zero/pickle_canary": ("poly", "test_fit")}


@pytest.fixture(scope="module")
def spec():
    return load_assignment_spec(COURSE / "source", "fixture_hw")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_submission_scores(spec, case):
    Path(CANARY).unlink(missing_ok=True)  # self-contained: absent before, so its absence after means something
    got = {}
    for nb_name in ("dist", "poly"):
        nb = nbformat.read(str(COURSE / "submissions" / case / f"{nb_name}.ipynb"), as_version=4)
        verdicts = grade_notebook_locally(nb, spec.tests_for(nb_name), seed=0)
        got[nb_name] = {k: round(v.fraction, 6) for k, v in verdicts.items()}
    assert got == EXPECTED[case]
    fractions = [f for nb in got.values() for f in nb.values()]
    if case == "correct" or case.startswith("real_world/"):
        assert all(f == 1.0 for f in fractions)
    elif case == "wrong":
        assert all(f < 1.0 for f in fractions)
    else:
        nb_name, test_id = ZERO_TESTS[case]
        assert got[nb_name][test_id] == 0.0
    assert not os.path.exists(CANARY)
