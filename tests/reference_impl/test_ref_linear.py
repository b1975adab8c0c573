"""reference_impl.linear: losses and gradients against numerical and autograd gradients; SGD behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_impl import data, linear


def _num_grad(f, W: np.ndarray, idx: list[tuple[int, int]], h: float = 1e-5) -> np.ndarray:
    out = []
    for i, j in idx:
        Wp, Wm = W.copy(), W.copy()
        Wp[i, j] += h
        Wm[i, j] -= h
        out.append((f(Wp) - f(Wm)) / (2 * h))
    return np.array(out)


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 31)) * 3.3  # non-integer: no margin is exactly 0
    y = rng.integers(0, 7, 60)
    W = rng.normal(size=(31, 7)) * 0.05
    return W, X, y


@pytest.mark.parametrize("loss_fn,max_median", [(linear.softmax_loss, None), (linear.svm_loss, 1e-6)])
def test_gradient_matches_numerical_gradient(problem, loss_fn, max_median):
    W, X, y = problem
    reg = 0.3  # large enough that a regularisation slip would show
    loss, dW = loss_fn(W, X, y, reg, device="cpu")
    assert loss.dim() == 0 and dW.shape == W.shape and dW.dtype == torch.float64
    idx = [(i, j) for i in range(0, 31, 3) for j in range(7)]
    num = _num_grad(lambda w: float(loss_fn(w, X, y, reg, device="cpu")[0]), W, idx)
    ana = np.array([float(dW[i, j]) for i, j in idx])
    rel = np.abs(num - ana) / np.maximum(np.abs(num) + np.abs(ana), 1e-300)
    if max_median is None:  # smooth loss: every entry
        assert rel.max() <= 1e-7
    else:  # hinge kinks: the median
        assert np.median(rel) <= max_median


@pytest.mark.parametrize("loss_fn", [linear.softmax_loss, linear.svm_loss])
def test_gradient_matches_autograd(problem, loss_fn):
    W, X, y = problem
    Wt = torch.tensor(W, requires_grad=True)
    Xt, yt, reg = torch.tensor(X), torch.tensor(y), 0.7
    scores = Xt @ Wt
    if loss_fn is linear.softmax_loss:
        data_loss = torch.nn.functional.cross_entropy(scores, yt)
    else:
        margins = (scores - scores.gather(1, yt[:, None]) + 1).clamp(min=0)
        data_loss = (margins.sum() - margins.gather(1, yt[:, None]).sum()) / len(y)
    total = data_loss + reg * (Wt * Wt).sum()
    total.backward()
    loss, dW = loss_fn(W, X, y, reg, device="cpu")
    assert float(loss) == pytest.approx(float(total.detach()), rel=1e-13)
    np.testing.assert_allclose(dW.numpy(), Wt.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_sanity_losses_on_mean_subtracted_data():
    X, y = data.synthetic_cifar(500, seed=2, flatten=True)
    X = X - X.mean(axis=0)
    X = np.hstack([X, np.ones((X.shape[0], 1))])  # bias trick: D = 3073
    W = np.random.default_rng(3).normal(size=(3073, 10)) * 1e-4
    svm, _ = linear.svm_loss(W, X, y, 0.0, device="cpu")
    soft, _ = linear.softmax_loss(W, X, y, 0.0, device="cpu")
    assert 8.5 <= float(svm) <= 9.5
    assert 2.2 <= float(soft) <= 2.4


def test_svm_margin_exactly_zero_is_not_counted():
    W = np.eye(3)
    X = np.array([[1.0, 0.0, 0.0]])  # scores (1, 0, 0): margins 0 - 1 + 1 = 0 exactly
    loss, dW = linear.svm_loss(W, X, [0], 0.0, device="cpu")
    assert float(loss) == 0.0 and not dW.any()
    loss, _ = linear.svm_loss(W, X, [1], 0.0, device="cpu")  # scores (1, 0, 0), correct 0: margins 2 and 1
    assert float(loss) == 3.0


def test_softmax_is_stable_for_huge_scores():
    W = np.eye(3) * 1000.0
    X = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]])
    loss, dW = linear.softmax_loss(W, X, [0, 2], 0.0, device="cpu")
    assert np.isfinite(float(loss)) and torch.isfinite(dW).all()
    assert float(loss) == pytest.approx((0.0 + 1000.0) / 2, rel=1e-12)


def _separable(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 12)) * 6
    y = rng.integers(0, 4, n)
    X = centres[y] + rng.normal(size=(n, 12))
    return np.hstack([X, np.ones((n, 1))]), y


@pytest.mark.parametrize("cls", [linear.LinearSVM, linear.Softmax])
def test_sgd_is_seeded_and_learns(cls):
    X, y = _separable()
    a, b, c = cls(device="cpu"), cls(device="cpu"), cls(device="cpu")
    ha = a.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=150, batch_size=50, seed=7)
    hb = b.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=150, batch_size=50, seed=7)
    hc = c.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=150, batch_size=50, seed=8)
    assert isinstance(ha, list) and len(ha) == 150 and all(isinstance(v, float) for v in ha)
    assert ha == hb and torch.equal(a.W, b.W)
    assert ha != hc
    assert np.mean(ha[-20:]) < 0.5 * np.mean(ha[:5])
    pred = a.predict(X)
    assert pred.dtype == torch.int64 and pred.shape == (300,)
    assert float((pred.numpy() == y).mean()) > 0.9


def test_lazy_init_keeps_w_between_calls():
    X, y = _separable(100)
    clf = linear.Softmax(device="cpu")
    clf.train(X, y, num_iters=0)
    W0 = clf.W.clone()
    assert W0.shape == (13, 4) and 0 < float(W0.abs().max()) < 0.01  # 0.001 * randn
    clf.train(X, y, num_iters=5, learning_rate=1e-3)
    assert not torch.equal(W0, clf.W)
    with pytest.raises(ValueError, match="X"):
        clf.train(X[:, :5], y, num_iters=1)


def test_predict_before_train_is_a_clear_error():
    with pytest.raises(ValueError, match="train"):
        linear.LinearSVM(device="cpu").predict(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", [linear.LinearSVM, linear.Softmax])
def test_train_validates_its_inputs_once_not_per_iteration(monkeypatch, cls):
    calls = []
    real = linear._loss_inputs
    monkeypatch.setattr(linear, "_loss_inputs", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)
    model = cls()
    model.train(X, y, num_iters=25, batch_size=8)
    assert calls == []  # the loop works on tensors checked before it starts
    model.loss(X[:8], y[:8], 0.1)
    assert calls == [1]  # the public loss checks its inputs
