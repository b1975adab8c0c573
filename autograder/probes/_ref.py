"""The comparators' bridge to reference_impl: numpy in, float64 numpy out.

reference_impl is torch (float64, its default device: CUDA when present); it takes numpy arrays and returns
tensors. Everything the comparators need from it passes through here, so an API change there is one edit
here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import InfrastructureError


def _modules() -> Any:
    try:
        from reference_impl import knn, linear, polyfit
    except ImportError as exc:  # the grader cannot judge without its reference: never the student's 0
        raise InfrastructureError(f"reference_impl is not importable on the grader: {exc}") from exc
    _one_thread()
    return knn, linear, polyfit


def _one_thread() -> None:
    """One torch thread per comparator: a grader runs one comparator per worker thread already, and on these
    small matrices torch's own threads only wait for each other (a reference SGD training: ~10x the CPU with
    2 threads on 2 busy cores)."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _t(x: np.ndarray) -> np.ndarray:
    # numpy in: reference_impl moves it to its default device itself (CUDA when present); a fresh copy, since
    # a reversed one-element view counts as contiguous but keeps a negative stride that torch refuses
    return np.array(x, dtype=np.float64, copy=True, order="C")


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy().astype(np.float64)
    return np.asarray(x, dtype=np.float64)


def _labels(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y, dtype=np.int64)


def pairwise_distances(X: np.ndarray, Y: np.ndarray, metric: str) -> np.ndarray:
    knn, _, _ = _modules()
    return _np(knn.pairwise_distances(_t(X), _t(Y), metric=metric))


def svm_loss(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    _, linear, _ = _modules()
    loss, dW = linear.svm_loss(_t(W), _t(X), _labels(y), reg)
    return float(loss), _np(dW)


def softmax_loss(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    _, linear, _ = _modules()
    loss, dW = linear.softmax_loss(_t(W), _t(X), _labels(y), reg)
    return float(loss), _np(dW)


def train_predict(kind: str, inputs: dict[str, Any]) -> np.ndarray:
    """Labels predicted by the reference LinearSVM / Softmax trained with the probe's hyper-parameters."""
    _, linear, _ = _modules()
    cls = linear.LinearSVM if kind == "linear.svm_train" else linear.Softmax
    model = cls()
    model.train(_t(inputs["X_train"]), _labels(inputs["y_train"]), learning_rate=inputs["learning_rate"],
                reg=inputs["reg"], num_iters=inputs["num_iters"], batch_size=inputs["batch_size"],
                seed=inputs["seed"])
    return _np(model.predict(_t(inputs["X_test"])))


def bishop_points() -> tuple[np.ndarray, np.ndarray]:
    """(x, t) of Bishop's Fig. 1.2 training set, as float64 arrays."""
    _, _, polyfit = _modules()
    data = polyfit.BISHOP_FIG_1_2
    return np.array(data.x, dtype=np.float64), np.array(data.t, dtype=np.float64)


def design_matrix(x: np.ndarray, M: int) -> np.ndarray:
    _, _, polyfit = _modules()
    return _np(polyfit.design_matrix(_t(x), M))


def poly_fit(x: np.ndarray, t: np.ndarray, M: int, lam: float) -> np.ndarray:
    _, _, polyfit = _modules()
    return _np(polyfit.fit(_t(x), _t(t), M, lam=lam))


def poly_predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    _, _, polyfit = _modules()
    return _np(polyfit.predict(_t(w), _t(x)))


def rms_error(w: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
    _, _, polyfit = _modules()
    return float(polyfit.rms_error(_t(w), _t(x), _t(t)))


def acceptable_votes(dists: np.ndarray, y_train: np.ndarray, k: int, rtol: float = 1e-9) -> list[set[int]]:
    """Per query row: every label a correct k-NN vote (smallest label wins a count tie) can return when the
    neighbours tied at the k-th place may be chosen in any way (students sort with unstable argsorts)."""
    knn, _, _ = _modules()
    return knn.acceptable_labels_from_distances(_t(np.atleast_2d(dists)), _labels(y_train), int(k), rtol=rtol)
