"""SVM / softmax loss+gradient and training comparators. Course convention: reg·ΣW², gradient 2·reg·W (the
notebook states it), so the self-consistent 0.5·reg variant is NOT accepted."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from probe_helpers import SEEDS

from autograder.probes.inputs import make_inputs


def svm(W, X, y, reg, half=False, grad_reg=2.0, margin_ge=False, reg_in_loss=True):
    N = X.shape[0]
    s = X @ W
    m = s - s[np.arange(N), y][:, None] + 1
    m[np.arange(N), y] = 0
    active = (m >= 0) if margin_ge else (m > 0)
    active[np.arange(N), y] = False
    r = 0.5 if half else 1.0
    loss = np.sum(m * active) / N + (r * reg * np.sum(W * W) if reg_in_loss else 0.0)
    b = active.astype(float)
    b[np.arange(N), y] = -b.sum(1)
    return loss, X.T @ b / N + (reg * W if half else grad_reg * reg * W)


def softmax(W, X, y, reg, shift=True, half=False):
    N = X.shape[0]
    s = X @ W
    if shift:
        s = s - s.max(1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(1, keepdims=True)
    r = 0.5 if half else 1.0
    loss = -np.mean(np.log(p[np.arange(N), y])) + r * reg * np.sum(W * W)
    p[np.arange(N), y] -= 1
    return loss, X.T @ p / N + (reg * W if half else 2 * reg * W)


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_loss_and_gradient_pass(run, seed):
    assert run(svm, "linear.svm_loss", {}, seed).status == "passed"
    assert run(softmax, "linear.softmax_loss", {}, seed).status == "passed"


@pytest.mark.parametrize("form", ["float32", "tensor", "numpy_scalar_loss", "list"])
def test_real_world_forms_pass(run, form):
    def fn(W, X, y, reg):
        loss, dW = svm(W, X, y, reg)
        if form == "float32":
            return np.float32(loss), dW.astype(np.float32)
        if form == "tensor":
            return torch.tensor(loss), torch.tensor(dW)
        if form == "numpy_scalar_loss":
            return np.float64(loss), dW
        return [float(loss), dW]
    v = run(fn, "linear.svm_loss")
    assert v.status == "passed", v.message


def test_half_reg_convention_is_not_accepted(run):
    v = run(lambda W, X, y, reg: svm(W, X, y, reg, half=True), "linear.svm_loss")
    assert (v.status, v.fraction) == ("failed", 0.0)
    assert "0.5·reg" in v.message and "2·reg·W" in v.message
    v = run(lambda W, X, y, reg: softmax(W, X, y, reg, half=True), "linear.softmax_loss")
    assert (v.status, v.fraction) == ("failed", 0.0)


def test_reg_slip_in_gradient_gets_half_credit(run):
    v = run(lambda W, X, y, reg: svm(W, X, y, reg, grad_reg=1.0), "linear.svm_loss")
    assert (v.status, v.fraction) == ("failed", 0.5)
    assert "2·reg·W" in v.message


def test_reg_missing_from_loss_gets_half_credit(run):
    v = run(lambda W, X, y, reg: svm(W, X, y, reg, reg_in_loss=False), "linear.svm_loss")
    assert (v.status, v.fraction) == ("failed", 0.5)
    assert "reg·ΣW²" in v.message


def test_reg_gradient_divided_by_n_fails(run):
    def fn(W, X, y, reg):
        loss, dW = svm(W, X, y, reg)
        return loss, dW - 2 * reg * W + 2 * reg * W / X.shape[0]
    v = run(fn, "linear.svm_loss")
    assert v.fraction == 0.5 and "divide" in v.message


def test_probe_regularisation_matters():
    inputs = make_inputs("linear.svm_loss", 0, {})
    W, reg = inputs["W"], inputs["reg"]
    _, dW = svm(W, inputs["X"], inputs["y"], reg)
    assert np.linalg.norm(reg * W) / np.linalg.norm(dW) > 1e-2  # far above the 1e-7 gradient tolerance


@pytest.mark.parametrize("seed", SEEDS)
def test_margin_ge_zero_is_indistinguishable_on_probe_data(run, seed):
    # The probes use continuous data so no margin is exactly 0: counting margin >= 0 changes nothing there.
    inputs = make_inputs("linear.svm_loss", seed, {})
    s = inputs["X"] @ inputs["W"]
    margins = s - s[np.arange(len(s)), inputs["y"]][:, None] + 1
    assert not np.any(margins == 0)
    assert run(lambda W, X, y, reg: svm(W, X, y, reg, margin_ge=True), "linear.svm_loss", {}, seed).status \
        == "passed"


def test_margin_ge_zero_is_caught_where_a_margin_is_zero():
    # Hand-made inputs with one margin exactly 0 (scores [1, 0], y = 0): counting it changes the gradient.
    from autograder.kernel_side.course_probe import encode_item
    from autograder.probes.kinds import linear

    inputs = {"W": np.array([[1.0, 0.0], [0.0, 0.0]]), "X": np.array([[1.0, 0.0]]), "y": np.array([0]), "reg": 0.1}
    params = {"offset": 0.0}
    good = linear.svm_loss(params, inputs, encode_item(svm(**inputs)))
    bad = linear.svm_loss(params, inputs, encode_item(svm(**inputs, margin_ge=True)))
    assert good.status == "passed"
    assert (bad.status, bad.fraction) == ("failed", 0.5) and "gradient" in bad.message


def test_softmax_without_shift(run):
    unshifted = lambda W, X, y, reg: softmax(W, X, y, reg, shift=False)
    assert run(unshifted, "linear.softmax_loss").status == "passed"  # ordinary scores: fine
    with np.errstate(all="ignore"):
        v = run(unshifted, "linear.softmax_loss", {"offset": 1000.0, "reg": 0.0})
    assert v.status == "failed" and "maximum" in v.message
    assert run(softmax, "linear.softmax_loss", {"offset": 1000.0, "reg": 0.0}).status == "passed"


def test_loss_not_a_pair_is_wrong_type(run):
    assert run(lambda W, X, y, reg: svm(W, X, y, reg)[0], "linear.svm_loss").status == "wrong_type"
    v = run(lambda W, X, y, reg: (svm(W, X, y, reg)[1], svm(W, X, y, reg)[0]), "linear.svm_loss")
    assert v.status == "wrong_type"


def test_gradient_shape_mismatch(run):
    v = run(lambda W, X, y, reg: (svm(W, X, y, reg)[0], svm(W, X, y, reg)[1].T), "linear.svm_loss")
    assert v.status == "failed" and "W's shape" in v.message


class _LC:
    loss_fn = staticmethod(svm)
    sign = 1.0

    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        if self.W is None:
            self.W = 0.001 * np.random.randn(X.shape[1], np.max(y) + 1)
        for _ in range(num_iters):
            idx = np.random.choice(X.shape[0], batch_size)
            _, g = self.loss_fn(self.W, X[idx], y[idx], reg)
            self.W -= self.sign * learning_rate * g
        return []

    def predict(self, X):
        return np.argmax(X @ self.W, axis=1).astype(float)


class SVM(_LC):
    pass


class Soft(_LC):
    loss_fn = staticmethod(softmax)


class Ascent(_LC):
    sign = -1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_training(run, seed):
    assert run(SVM, "linear.svm_train", {}, seed).status == "passed"
    assert run(Soft, "linear.softmax_train", {}, seed).status == "passed"
    v = run(Ascent, "linear.svm_train", {}, seed)
    assert v.status == "failed" and "accuracy" in v.message
