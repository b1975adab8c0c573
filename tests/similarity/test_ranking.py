"""Planted copies rank above every pair of independently written submissions; students who submitted the
released notebook unchanged are never paired; a malformed notebook is reported and skipped."""
from __future__ import annotations

import numpy as np
import pytest
from sim_cohort import CELLS, N_INDEPENDENT, RELEASE, student_name

from similarity import detect, pipeline


@pytest.mark.parametrize("notebook", sorted(CELLS))
def test_every_planted_copy_ranks_above_every_independent_pair(cohort, notebook):
    data, planted = cohort
    everything = pipeline.run(RELEASE, data / "submitted", "assignment1", threshold=1e-9, jobs=1)
    scores = {frozenset((p.a, p.b)): p.similarity for p in everything.pairs if p.notebook == notebook}
    copies = {frozenset(pair) for pair in planted.items()}
    assert copies <= set(scores), "every planted pair shares fingerprints"
    lowest_copy = min(scores[c] for c in copies)
    independent = {pair: s for pair, s in scores.items() if pair not in copies}
    assert len(independent) > 100  # the 25 independent students do share code: the ranking is a real test
    highest, pair = max((s, sorted(p)) for p, s in independent.items())
    assert lowest_copy > highest, f"independent pair {pair} scores {highest:.3f} >= a planted copy {lowest_copy:.3f}"


def test_copies_are_flagged_at_the_default_threshold(result, cohort):
    _, planted = cohort
    flagged = {(p.notebook, frozenset((p.a, p.b))) for p in result.pairs}
    for copier, original in planted.items():
        for notebook in CELLS:
            assert (notebook, frozenset((copier, original))) in flagged
    assert [p.similarity for p in result.pairs] == sorted((p.similarity for p in result.pairs), reverse=True)


def test_unchanged_release_is_not_a_copy(result):
    for nb in result.notebooks:
        assert {"unchanged_a", "unchanged_b"} <= set(nb.nothing_own), nb.name
    for p in result.pairs:
        assert not {p.a, p.b} & {"unchanged_a", "unchanged_b", "bad_json", "bad_shape", "bad_source"}


def test_unchanged_release_without_nbgrader_metadata_is_not_a_copy(tmp_path):
    """A student whose tool dropped the cell metadata: every code cell is read, the released code subtracted."""
    import json

    import sim_cohort

    for student in ("meta_a", "meta_b"):
        sim_cohort.write(tmp_path, student, None)
        for path in (tmp_path / student / "assignment1").glob("*.ipynb"):
            nb = json.loads(path.read_text())
            for cell in nb["cells"]:
                cell["metadata"] = {}
            path.write_text(json.dumps(nb))
    sim_cohort.write(tmp_path, student_name(0), sim_cohort.independent(0))
    result = pipeline.run(RELEASE, tmp_path, "assignment1", threshold=1e-9, jobs=1)
    assert result.pairs == []
    assert all({"meta_a", "meta_b"} <= set(nb.nothing_own) for nb in result.notebooks)


def test_malformed_notebooks_are_reported_and_skipped(result):
    skipped = {(m.student, m.notebook): m.reason for m in result.malformed}
    assert set(skipped) == {("bad_json", "knn"), ("bad_shape", "knn"), ("bad_source", "knn")}
    assert "not a readable notebook" in skipped["bad_json", "knn"]
    assert "no list of 'cells'" in skipped["bad_shape", "knn"]
    assert "'source'" in skipped["bad_source", "knn"]
    knn = next(nb for nb in result.notebooks if nb.name == "knn")
    linear = next(nb for nb in result.notebooks if nb.name == "linear_classifier")
    assert "bad_json" not in knn.docs and "bad_json" in linear.docs  # its other notebook is still compared
    assert len(knn.docs) == N_INDEPENDENT + 4 + 2


def test_histogram_values_cover_every_scored_pair(result):
    for nb in result.notebooks:
        scored = len(nb.docs) - len(nb.nothing_own)
        assert nb.similarities.size == scored * (scored - 1) // 2
        assert np.all((nb.similarities >= 0) & (nb.similarities <= 1))


def test_passages_point_at_the_copied_lines(result, cohort):
    """The side-by-side view marks the lines of the copied function on both sides, not the released text."""
    pair = next(p for p in result.pairs if {p.a, p.b} == {"copy_renamed", student_name(7)} and p.notebook == "knn")
    nb = next(n for n in result.notebooks if n.name == "knn")
    for student, passage in zip((pair.a, pair.b), pair.detail):
        doc = nb.docs[student]
        marked = [doc.cells[c].splitlines()[line - 1] for c, lines in passage.lines.items() for line in lines]
        assert any("def compute_distances" in m or "def predict_labels" in m for m in marked), student
        assert not any("YOUR CODE HERE" in m or "raise NotImplementedError" in m for m in marked), student
    assert pair.shared > detect.MIN_FINGERPRINTS
