"""The synthetic cohort is made of working solutions: every implementation (and every loop/comprehension twin)
agrees with a plain reference, so the ranking test compares real, independently written code."""
from __future__ import annotations

import numpy as np
import pytest
import sim_impls as S


def _load(src: str, name: str):
    scope = {"np": np}
    exec(src, scope)  # noqa: S102 - the cohort's own code, written in this repository
    return scope[name]


RNG = np.random.default_rng(0)
X, Y = RNG.integers(0, 255, (7, 5)).astype(float), RNG.integers(0, 255, (4, 5)).astype(float)


@pytest.mark.parametrize("src", [*S.DIST, S.TWINS["dist", 4]])
def test_l2_distances(src):
    assert np.allclose(_load(src, "compute_distances")(X, Y), np.sqrt(((X[:, None] - Y[None]) ** 2).sum(-1)))


@pytest.mark.parametrize("src", S.L1)
def test_l1_distances(src):
    assert np.allclose(_load(src, "compute_distances_l1")(X, Y), np.abs(X[:, None] - Y[None]).sum(-1))


@pytest.mark.parametrize("src", [*S.LABELS, S.TWINS["labels", 0]])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_labels(src, k):
    d, y = RNG.random((6, 9)), RNG.integers(0, 4, 9)
    expected = [np.argmax(np.bincount(y[np.argsort(row, kind="stable")[:k]])) for row in d]
    assert np.array_equal(np.asarray(_load(src, "predict_labels")(d, y, k)), expected)


def _numerical_gradient(f, W, h=1e-6):
    grad = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        old = W[idx]
        W[idx] = old + h
        up = f(W)
        W[idx] = old - h
        down = f(W)
        W[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("name, pool", [("svm_loss_vectorized", S.SVM),
                                        ("softmax_loss_vectorized", [*S.SOFTMAX, S.TWINS["softmax", 3]])])
def test_losses_and_gradients(name, pool):
    W, Xs, ys = RNG.normal(size=(6, 4)) * 0.1, RNG.normal(size=(8, 6)), RNG.integers(0, 4, 8)
    losses = []
    for src in pool:
        f = _load(src, name)
        loss, grad = f(W.copy(), Xs, ys, 0.1)
        numeric = _numerical_gradient(lambda w, f=f: float(np.asarray(f(w, Xs, ys, 0.1)[0])), W.copy())
        assert np.allclose(np.asarray(grad), numeric, atol=1e-5)
        losses.append(float(loss))
    assert np.allclose(losses, losses[0])
