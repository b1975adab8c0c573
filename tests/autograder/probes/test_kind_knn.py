"""kNN comparators: fair to real students' correct forms, strict on real bugs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from probe_helpers import SEEDS

from autograder.probes._ref import acceptable_votes
from autograder.probes.inputs import make_inputs


def l2_no_loops(X, Y):
    d2 = np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None, :] - 2 * X @ Y.T
    return np.sqrt(np.maximum(d2, 0))


def l2_unclamped(X, Y):  # exact on integer pixels in float64: only values="standardised" can see it (below)
    return np.sqrt(np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None, :] - 2 * X @ Y.T)


def l1(X, Y):
    return np.abs(X[:, None, :] - Y[None, :, :]).sum(-1)


def vote(dists, y_train, k, order=None):
    out = np.zeros(dists.shape[0])  # float64 labels, as the skeleton's np.zeros
    for i, row in enumerate(dists):
        idx = np.argsort(row, kind="stable")[:k] if order is None else order(row)[:k]
        out[i] = np.argmax(np.bincount(y_train[idx]))
    return out


# ---------------------------------------------------------------------------------------- distances
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", [l2_no_loops, l2_unclamped], ids=["clamped", "unclamped"])
def test_l2_correct_forms_pass_on_integer_pixels(run, fn, seed):
    assert run(fn, "knn.distances", {}, seed).status == "passed"


# ------------------------------------------------------ standardised values: the clamp at 0 is visible
STANDARDISED = {"values": "standardised", "n_train": 300, "n_test": 240}  # as the notebook's hidden tests
STANDARDISED_WIDE = {"values": "standardised", "n_train": 32, "n_test": 96, "dim": 3072}


def _torch_sq(X, Y):
    return (X**2).sum(1)[:, None] + (Y**2).sum(1)[None] - 2 * X @ Y.T


def _torch_addmm(X, Y):
    return torch.addmm((X * X).sum(1, keepdim=True) + (Y * Y).sum(1)[None], X, Y.T, beta=1.0, alpha=-2.0)


# (name, torch inputs?, squared distances of the (possibly converted) inputs): no-loop forms students write
SQUARED_FORMS = [
    ("numpy float64", False, lambda X, Y: np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None, :] - 2 * X @ Y.T),
    ("numpy float32", False, lambda X, Y: _np32(X, Y)),
    ("numpy einsum", False, lambda X, Y: np.einsum("ij,ij->i", X, X)[:, None] + np.einsum("ij,ij->i", Y, Y)
     - 2 * X.dot(Y.T)),
    ("torch float64", True, _torch_sq),
    ("torch float32", True, lambda X, Y: _torch_sq(X.float(), Y.float())),
    ("torch addmm", True, _torch_addmm),
    ("torch addmm float32", True, lambda X, Y: _torch_addmm(X.float(), Y.float())),
    ("torch Gram diagonal", True,
     lambda X, Y: torch.diag(X @ X.T)[:, None] + torch.diag(Y @ Y.T)[None] - 2 * X @ Y.T),
]


def _np32(X, Y):
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    return np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None, :] - 2 * X @ Y.T


def _sqrt(d2, clamp: bool):
    if isinstance(d2, torch.Tensor):
        return torch.sqrt(torch.clamp(d2, min=0.0) if clamp else d2)
    with np.errstate(invalid="ignore"):  # the NaN is the point
        return np.sqrt(np.maximum(d2, 0) if clamp else d2)


def test_standardised_inputs_are_non_integer_and_every_test_row_has_close_training_rows():
    inputs = make_inputs("knn.distances", 3, STANDARDISED)
    X, Y = inputs["X"], inputs["Y"]
    assert X.shape == (240, 48) and Y.shape == (300, 48) and not np.all(Y == np.round(Y))
    assert abs(Y.mean()) < 0.1 and 0.8 < Y.std() < 1.2
    D = l1(X, Y)
    close = D < 1e-3 * np.median(D)
    assert np.all(close.sum(axis=1) == 2), "each test row: its training row and that row's copy"
    def identical(A, B):
        return np.array([np.any(np.all(a == B, axis=1)) for a in A])
    exact, exact32 = identical(X, Y), identical(X.astype(np.float32), Y.astype(np.float32))
    # in turn: identical; nearly identical in float64, (almost always) identical in float32; nearly identical
    assert exact[::3].all() and not exact[1::3].any() and not exact[2::3].any()
    assert exact32[1::3].mean() > 0.9 and not exact32[2::3].any()
    with pytest.raises(ValueError, match="values must be 'integer' or 'standardised'"):
        make_inputs("knn.distances", 0, {"values": "normalised"})


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("params", [STANDARDISED, STANDARDISED_WIDE], ids=["dim48", "dim3072"])
@pytest.mark.parametrize("name, as_torch, sq", SQUARED_FORMS, ids=[f[0] for f in SQUARED_FORMS])
def test_standardised_duplicates_fail_unclamped_code_and_pass_clamped_code(run, name, as_torch, sq, params,
                                                                          seed):
    params = {**params, "torch": as_torch}
    v = run(lambda X, Y: _sqrt(sq(X, Y), clamp=False), "knn.distances", params, seed)
    assert (v.status, v.fraction) == ("failed", 0.0) and "clamp at 0" in v.message, v
    v = run(lambda X, Y: _sqrt(sq(X, Y), clamp=True), "knn.distances", params, seed)
    assert (v.status, v.fraction) == ("passed", 1.0), v.message


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [STANDARDISED, STANDARDISED_WIDE], ids=["dim48", "dim3072"])
def test_standardised_duplicates_pass_direct_differences(run, dtype, params):
    def fn(X, Y):
        X, Y = X.astype(dtype), Y.astype(dtype)
        return np.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    v = run(fn, "knn.distances", params, 5)
    assert (v.status, v.fraction) == ("passed", 1.0), v.message


@pytest.mark.parametrize("form", ["float32", "matrix", "tensor", "tensor32", "float32_direct"])
def test_l2_real_world_forms_pass(run, form):
    def fn(X, Y):
        if form == "float32":
            return l2_no_loops(X.astype(np.float32), Y.astype(np.float32))
        if form == "float32_direct":
            Xf, Yf = X.astype(np.float32), Y.astype(np.float32)
            return np.sqrt(((Xf[:, None] - Yf[None]) ** 2).sum(-1))
        if form == "matrix":
            return np.matrix(l2_no_loops(X, Y))
        return torch.cdist(torch.tensor(X, dtype=torch.float32 if form == "tensor32" else torch.float64),
                           torch.tensor(Y, dtype=torch.float32 if form == "tensor32" else torch.float64))
    v = run(fn, "knn.distances", {"n_train": 60, "n_test": 20, "dim": 256})
    assert (v.status, v.fraction) == ("passed", 1.0), v.message


def test_l1_exact_and_float32_pass(run):
    assert run(l1, "knn.distances", {"metric": "l1"}).status == "passed"
    assert run(lambda X, Y: l1(X, Y).astype(np.float32), "knn.distances", {"metric": "l1"}).status == "passed"


def test_missing_sqrt_fails_with_hint(run):
    v = run(lambda X, Y: l2_no_loops(X, Y) ** 2, "knn.distances")
    assert (v.status, v.fraction) == ("failed", 0.0)
    assert "square root" in v.message and "entries" in v.message


def test_l2_for_l1_fails_with_hint(run):
    v = run(l2_no_loops, "knn.distances", {"metric": "l1"})
    assert v.status == "failed" and "L1" in v.message


def test_transposed_distances_name_the_orientation(run):
    v = run(lambda X, Y: l2_no_loops(X, Y).T, "knn.distances")
    assert v.status == "failed" and "D[i, j]" in v.message


def test_nan_from_negative_squares_is_reported(run):
    def fn(X, Y):
        d = l2_no_loops(X, Y)
        d[d == 0] = np.nan  # what unclamped code gives on non-integer duplicates
        return d
    v = run(fn, "knn.distances")
    assert v.status == "failed" and "NaN" in v.message and "clamp" in v.message


def test_small_float64_error_fails(run):
    v = run(lambda X, Y: l2_no_loops(X, Y) + 1e-3, "knn.distances")
    assert v.status == "failed"


@pytest.mark.parametrize("bad, status", [
    (lambda X, Y: l2_no_loops(X, Y).tolist(), "wrong_type"),
    (lambda X, Y: l2_no_loops(X, Y).astype(object), "wrong_type"),
    (lambda X, Y: l2_no_loops(X, Y)[:, :5], "failed"),
    (lambda X, Y: None, "wrong_type"),
])
def test_wrong_forms(run, bad, status):
    v = run(bad, "knn.distances")
    assert v.status == status and v.fraction == 0.0, v


def test_ndarray_subclass_is_wrong_type_and_its_methods_are_not_called(run):
    calls = []

    class Sneaky(np.ndarray):
        def __eq__(self, other):
            calls.append("eq")
            return np.ones(np.shape(other), bool)

        def __array_finalize__(self, obj):
            calls.append("finalize")

    def fn(X, Y):
        out = l2_no_loops(X, Y).view(Sneaky)
        calls.clear()
        return out
    v = run(fn, "knn.distances")
    assert v.status == "wrong_type" and "Sneaky" in v.message
    assert calls == []


# ------------------------------------------------------------------------------------ predict_labels
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", ["vote", "distance", "none"])
def test_vote_correct_forms_pass(run, ties, seed):
    assert run(vote, "knn.predict_labels", {"ties": ties, "k": 5}, seed).status == "passed"
    int_labels = lambda d, y, k: vote(d, y, k).astype(np.int64)
    assert run(int_labels, "knn.predict_labels", {"ties": ties, "k": 4}, seed).status == "passed"


@pytest.mark.parametrize("seed", SEEDS)
def test_any_order_among_tied_distances_passes(run, seed):
    rng = np.random.default_rng(99)

    def shuffled_ties(row):  # random order among equal distances, as unstable argsort may give
        return np.lexsort((rng.random(row.shape[0]), row))
    reverse = lambda row: np.lexsort((-np.arange(row.shape[0]), row))
    for order in (shuffled_ties, reverse):
        fn = lambda d, y, k, o=order: vote(d, y, k, o)
        assert run(fn, "knn.predict_labels", {"ties": "distance", "k": 3}, seed).status == "passed"


def nearest_tied_wins(dists, y_train, k):
    out = np.zeros(dists.shape[0])
    for i, row in enumerate(dists):
        near = list(y_train[np.argsort(row, kind="stable")[:k]])
        out[i] = max(near, key=near.count)
    return out


def set_order(dists, y_train, k):
    out = np.zeros(dists.shape[0])
    for i, row in enumerate(dists):
        near = list(y_train[np.argsort(row, kind="stable")[:k]])
        out[i] = max(set(near), key=near.count)
    return out


@pytest.mark.parametrize("bug", [nearest_tied_wins, set_order])
@pytest.mark.parametrize("seed", SEEDS)
def test_wrong_vote_tie_rules_fail(run, bug, seed):
    v = run(bug, "knn.predict_labels", {"ties": "vote", "k": 4}, seed)
    assert (v.status, v.fraction) == ("failed", 0.0)
    assert "smaller label" in v.message


def test_non_integer_labels_fail(run):
    v = run(lambda d, y, k: vote(d, y, k) + 0.5, "knn.predict_labels")
    assert v.status == "failed" and "whole numbers" in v.message


def test_boolean_labels_are_wrong_type(run):
    assert run(lambda d, y, k: vote(d, y, k) > 3, "knn.predict_labels").status == "wrong_type"


def test_acceptable_votes_by_hand():
    y = np.array([1, 2, 2, 3, 0])
    # k=2: nearest is label 1 (d=1); the 2nd place ties between idx 1 (2), 3 (3), 4 (0): votes 1:1 + one of them
    d = np.array([[1.0, 2.0, 9.0, 2.0, 2.0]])
    assert acceptable_votes(d, y, 2) == [{0, 1}]  # {1,2}->1, {1,3}->1, {1,0}->0
    # no ties: plain majority, smaller label on a count tie
    d = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    assert acceptable_votes(d, y, 3) == [{2}]
    assert acceptable_votes(d, y, 2) == [{1}]
    # all tied, k=1: every label present can be chosen
    assert acceptable_votes(np.zeros((1, 5)), y, 1) == [{0, 1, 2, 3}]


# ------------------------------------------------------------------------------ classifier and CV
class KNN:
    def train(self, X, y):
        self.X, self.y = X, y

    def predict(self, X, k=1, num_loops=0):
        return vote(l2_no_loops(X, self.X), self.y, k)


class KNN32(KNN):
    def predict(self, X, k=1, num_loops=0):
        return vote(l2_no_loops(X.astype(np.float32), self.X.astype(np.float32)), self.y, k)


class KNNBadVote(KNN):
    def predict(self, X, k=1, num_loops=0):
        return nearest_tied_wins(l2_no_loops(X, self.X), self.y, 1)  # ignores k


@pytest.mark.parametrize("seed", SEEDS)
def test_classifier(run, seed):
    assert run(KNN, "knn.classifier", {}, seed).status == "passed"
    assert run(KNN32, "knn.classifier", {}, seed).status == "passed"
    v = run(KNNBadVote, "knn.classifier", {"k": 7}, seed)
    assert v.status == "failed" and v.fraction == 0.0


def test_classifier_raising_in_train_is_an_error(run):
    class Broken(KNN):
        def train(self, X, y):
            raise SystemExit(0)
    v = run(Broken, "knn.classifier")
    assert v.status == "error" and "SystemExit" in v.message


def cv(X, y, k_choices, num_folds, fn=l2_no_loops):
    Xf, yf = np.array_split(X, num_folds), np.array_split(y, num_folds)
    acc = np.zeros((len(k_choices), num_folds))
    for f in range(num_folds):
        Xtr = np.concatenate([Xf[i] for i in range(num_folds) if i != f])
        ytr = np.concatenate([yf[i] for i in range(num_folds) if i != f])
        d = fn(Xf[f], Xtr)
        for i, k in enumerate(k_choices):
            acc[i, f] = np.mean(vote(d, ytr, k) == yf[f])
    return acc


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_validation(run, seed):
    assert run(cv, "knn.cross_validate", {}, seed).status == "passed"
    v = run(lambda *a: 100 * cv(*a), "knn.cross_validate", {}, seed)
    assert v.status == "failed" and "percentages" in v.message

    def leaky(X, y, k_choices, num_folds):  # trains on all data: validation points are their own neighbours
        acc = np.zeros((len(k_choices), num_folds))
        for f, (Xv, yv) in enumerate(zip(np.array_split(X, num_folds), np.array_split(y, num_folds))):
            for i, k in enumerate(k_choices):
                acc[i, f] = np.mean(vote(l2_no_loops(Xv, X), y, k) == yv)
        return acc
    v = run(leaky, "knn.cross_validate", {}, seed)
    assert v.status == "failed" and v.fraction == 0.0


def test_cross_validation_wrong_shape(run):
    v = run(lambda *a: cv(*a).T, "knn.cross_validate")
    assert v.status == "failed" and "one row per k" in v.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("eps", [1e-10, 1e-8, 1e-6])
def test_an_epsilon_under_the_root_fails_float64_with_its_own_hint(run, eps, seed):
    # √ε where the distance is 0: the notebook's visible check refuses it too (a point's distance to itself)
    v = run(lambda X, Y: np.sqrt(np.maximum(np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None, :] - 2 * X @ Y.T, 0)
                                 + eps), "knn.distances", STANDARDISED, seed)
    assert (v.status, v.fraction) == ("failed", 0.0) and "add nothing under the square root" in v.message, v


def test_the_epsilon_hint_is_not_given_for_other_mistakes(run):
    v = run(lambda X, Y: 2 * l2_no_loops(X, Y), "knn.distances", STANDARDISED, 0)
    assert v.status == "failed" and "square root" not in v.message, v
