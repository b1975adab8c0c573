"""The synthetic cohort, built once per session, and one similarity run over it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sim_cohort
from sim_cohort import RELEASE

from similarity import pipeline


def write_malformed(submitted: Path) -> None:
    """Three students whose notebooks are broken in different ways (each valid otherwise)."""
    for student, text in (("bad_json", "{not json"), ("bad_shape", json.dumps({"cells": "none"})),
                          ("bad_source", json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": 42}]}))):
        folder = submitted / student / "assignment1"
        folder.mkdir(parents=True)
        (folder / "knn.ipynb").write_text(text)
        (folder / "linear_classifier.ipynb").write_text(json.dumps(sim_cohort.notebook("linear_classifier", None)))


@pytest.fixture(scope="session")
def cohort(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    data = tmp_path_factory.mktemp("similarity-data")
    planted = sim_cohort.build(data / "submitted")
    write_malformed(data / "submitted")
    return data, planted


@pytest.fixture(scope="session")
def result(cohort) -> pipeline.Result:
    data, _ = cohort
    return pipeline.run(RELEASE, data / "submitted", "assignment1", threshold=0.75, jobs=1)
