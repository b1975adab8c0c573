"""Speed-test comparators."""
from __future__ import annotations

import numpy as np
import pytest
from probe_helpers import SEEDS


def l1_l2(a, b):
    return float(np.abs(a - b).sum()), float(np.sqrt(((a - b) ** 2).sum()))


@pytest.mark.parametrize("seed", SEEDS)
def test_l1_l2(run, seed):
    assert run(l1_l2, "speed.l1_l2", {}, seed).status == "passed"
    assert run(lambda a, b: np.array(l1_l2(a, b)), "speed.l1_l2", {}, seed).status == "wrong_type"
    v = run(lambda a, b: (l1_l2(a, b)[0], l1_l2(a, b)[1] ** 2), "speed.l1_l2", {}, seed)
    assert (v.status, v.fraction) == ("failed", 0.5) and "square root" in v.message


def vote(d, labels, k):
    return int(np.argmax(np.bincount(labels[np.argsort(d)[:k]])))


@pytest.mark.parametrize("seed", SEEDS)
def test_knn_vote(run, seed):
    assert run(vote, "speed.knn_vote", {}, seed).status == "passed"
    assert run(lambda *a: np.float64(vote(*a)), "speed.knn_vote", {}, seed).status == "passed"

    def nearest_first(d, labels, k):
        near = list(labels[np.argsort(d)[:k]])
        return max(near, key=near.count)
    v = run(nearest_first, "speed.knn_vote", {}, seed)
    assert v.status == "failed" and "smaller label" in v.message


def hinge(scores, y):
    m = np.maximum(0, scores - scores[y] + 1)
    m[y] = 0
    return float(m.sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_hinge(run, seed):
    assert run(hinge, "speed.hinge", {}, seed).status == "passed"
    v = run(lambda s, y: float(np.maximum(0, s - s[y] + 1).sum()), "speed.hinge", {}, seed)
    assert v.status == "failed" and "j = y" in v.message
