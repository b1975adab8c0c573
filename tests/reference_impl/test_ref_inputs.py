"""Every bad input raises ValueError naming the argument."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_impl import data, knn, linear, polyfit

rng = np.random.default_rng(0)
Xtr = rng.integers(0, 256, (12, 5)).astype(float)
ytr = rng.integers(0, 3, 12)
Xte = rng.integers(0, 256, (4, 5)).astype(float)
W = rng.normal(size=(5, 3))

CASES = [
    ("metric", lambda: knn.pairwise_distances(Xtr, Xte, "cosine")),
    ("X and Y", lambda: knn.pairwise_distances(Xtr, Xte[:, :4])),
    ("X must be 2-D", lambda: knn.pairwise_distances(Xtr[0], Xte)),
    ("Y must be finite", lambda: knn.pairwise_distances(Xtr, np.full((2, 5), np.nan))),
    ("X must be an array of numbers", lambda: knn.pairwise_distances(np.array([["a"] * 5]), Xte)),
    ("dtype", lambda: knn.pairwise_distances(Xtr, Xte, dtype=torch.int64)),
    ("device", lambda: knn.pairwise_distances(Xtr, Xte, device="floppy")),
    ("memory_budget", lambda: knn.pairwise_distances(Xtr, Xte, memory_budget=0)),
    ("k", lambda: knn.knn_predict(Xtr, ytr, Xte, 0)),
    ("k", lambda: knn.knn_predict(Xtr, ytr, Xte, 13)),
    ("k", lambda: knn.knn_predict(Xtr, ytr, Xte, 2.0)),
    ("y_train", lambda: knn.knn_predict(Xtr, ytr[:-1], Xte, 1)),
    ("y_train", lambda: knn.knn_predict(Xtr, ytr + 0.5, Xte, 1)),
    ("y_train", lambda: knn.knn_predict(Xtr, -ytr - 1, Xte, 1)),
    ("y_train", lambda: knn.knn_predict(Xtr, ytr.astype(bool), Xte, 1)),
    ("X_train", lambda: knn.knn_predict(np.zeros((0, 5)), [], Xte, 1)),
    ("metric", lambda: knn.knn_predict(Xtr, ytr, Xte, 1, metric="l3")),
    ("k_choices", lambda: knn.cross_validate_k(Xtr, ytr, [1, 11])),
    ("k_choices", lambda: knn.cross_validate_k(Xtr, ytr, [])),
    ("k_choices", lambda: knn.cross_validate_k(Xtr, ytr, 3)),
    ("num_folds", lambda: knn.cross_validate_k(Xtr, ytr, [1], num_folds=1)),
    ("num_folds", lambda: knn.cross_validate_k(Xtr, ytr, [1], num_folds=13)),
    ("y", lambda: knn.cross_validate_k(Xtr, ytr[:3], [1])),
    ("rtol", lambda: knn.acceptable_knn_labels(Xtr, ytr, Xte, 1, rtol=-1.0)),
    ("metric", lambda: knn.KNearestNeighbor(metric="manhattan")),
    ("X_train is not set", lambda: knn.KNearestNeighbor().predict(Xte)),
    ("W", lambda: linear.svm_loss(W[0], Xte, ytr[:4], 0.1)),
    ("X must have W.shape[0]", lambda: linear.softmax_loss(W, Xte[:, :4], ytr[:4], 0.1)),
    ("y must have 4", lambda: linear.svm_loss(W, Xte, ytr[:3], 0.1)),
    ("y must hold labels < 3", lambda: linear.softmax_loss(W, Xte, [0, 1, 2, 3], 0.1)),
    ("y must hold integer", lambda: linear.svm_loss(W, Xte, [0, 1, 2, 0.5], 0.1)),
    ("reg", lambda: linear.svm_loss(W, Xte, ytr[:4], -1.0)),
    ("reg", lambda: linear.softmax_loss(W, Xte, ytr[:4], float("nan"))),
    ("learning_rate", lambda: linear.LinearSVM().train(Xte, ytr[:4], learning_rate=0)),
    ("num_iters", lambda: linear.Softmax().train(Xte, ytr[:4], num_iters=-1)),
    ("batch_size", lambda: linear.Softmax().train(Xte, ytr[:4], batch_size=0)),
    ("seed", lambda: linear.Softmax().train(Xte, ytr[:4], seed=-3)),
    ("M", lambda: polyfit.fit([0.0, 1.0], [0.0, 1.0], -1)),
    ("M", lambda: polyfit.design_matrix([0.0, 1.0], 1.5)),
    ("lam", lambda: polyfit.fit([0.0, 1.0], [0.0, 1.0], 1, lam=-0.1)),
    ("t must have the same length", lambda: polyfit.fit([0.0, 1.0], [0.0], 1)),
    ("x must be 1-D", lambda: polyfit.fit(np.zeros((2, 2)), [0.0, 1.0], 1)),
    ("x must hold at least one", lambda: polyfit.fit([], [], 1)),
    ("w must hold", lambda: polyfit.predict([], [1.0])),
    ("t must have the same length", lambda: polyfit.rms_error([1.0], [1.0, 2.0], [1.0])),
    ("n", lambda: polyfit.sin_data(0)),
    ("noise", lambda: polyfit.sin_data(5, noise=-1)),
    ("n", lambda: data.synthetic_cifar(-1)),
    ("num_classes", lambda: data.synthetic_cifar(3, num_classes=0)),
    ("flatten", lambda: data.synthetic_cifar(3, flatten="yes")),
    ("root", lambda: data.load_cifar10(None)),
    ("download", lambda: data.load_cifar10("/tmp", download="no")),
]


@pytest.mark.parametrize("needle,call", CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_bad_input_raises_value_error_naming_the_argument(needle, call):
    with pytest.raises(ValueError) as info:
        call()
    assert needle in str(info.value)


def test_numpy_and_torch_inputs_agree():
    a = knn.knn_predict(Xtr, ytr, Xte, 3, device="cpu")
    b = knn.knn_predict(torch.tensor(Xtr, dtype=torch.float32), torch.tensor(ytr), torch.tensor(Xte), 3,
                        device="cpu")
    c = knn.knn_predict(Xtr.astype(np.uint8), ytr.astype(np.float64), Xte.astype(np.uint8), 3, device="cpu")
    assert torch.equal(a, b) and torch.equal(a, c)
