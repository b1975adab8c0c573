"""Linear-classifier comparators: SVM / softmax loss + gradient (course convention reg·ΣW², gradient 2·reg·W)
and a seeded train → predict accuracy band.

The notebook states the convention; the self-consistent 0.5·reg·ΣW² variant is therefore wrong here, and the
message says which convention is expected. Half the credit for the loss, half for the gradient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict
from autograder.probes import _ref
from autograder.probes._common import (
    Mismatch,
    check_shape,
    close_scalar,
    failed,
    is_low_precision,
    labels_of,
    passed,
    rel_fro,
)
from autograder.probes.decode import as_array, as_scalar, as_sequence
from autograder.probes.inputs import balanced_labels
from autograder.probes.registry import Call, ProbeKind, register


def _linear_loss(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    N, D, C = p["N"], p["D"], p["C"]
    X = rng.normal(size=(N, D))
    X[:, -1] = 1.0  # bias trick, as the notebook
    W = rng.normal(scale=p["w_scale"], size=(D, C))
    if p["offset"]:
        W[-1, :] = float(p["offset"])  # every score shifted by `offset`: numerical-stability probe
    y = rng.integers(0, C, size=N).astype(np.int64)
    return {"W": W, "X": X, "y": y, "reg": float(p["reg"])}


def _linear_train(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n_train, n_test, D, C = p["n_train"], p["n_test"], p["D"], p["C"]
    means = rng.normal(scale=p["separation"], size=(C, D))

    def blobs(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = balanced_labels(rng, n, C)
        X = means[y] + rng.normal(size=(n, D))
        return np.hstack([X, np.ones((n, 1))]), y

    X_train, y_train = blobs(n_train)
    X_test, y_test = blobs(n_test)
    return {
        "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "learning_rate": float(p["learning_rate"]), "reg": float(p["reg"]),
        "num_iters": int(p["num_iters"]), "batch_size": int(p["batch_size"]), "seed": int(rng.integers(2**31)),
    }



def _loss_hint(loss: float, ref: float, reg: float, W: np.ndarray, N: int) -> str:
    r = reg * float(np.sum(W * W))
    for value, hint in (
        (ref - 0.5 * r, "the course's regulariser is reg·ΣW² (not 0.5·reg·ΣW²)"),
        (ref - r, "add the regularisation reg·ΣW² to the loss"),
        ((ref - r) * N + r, "average the data loss over the N examples"),
    ):
        if r > 0 and close_scalar(loss, value, 1e-6):
            return "; " + hint
    return ""


def _grad_hint(dW: np.ndarray, ref: np.ndarray, reg: float, W: np.ndarray, N: int) -> str:
    for value, hint in (
        (ref - reg * W, "the gradient of reg·ΣW² is 2·reg·W"),
        (ref - 2 * reg * W, "add the regularisation gradient 2·reg·W"),
        (ref - 2 * reg * W + 2 * reg * W / N, "do not divide the regularisation gradient by N"),
        ((ref - 2 * reg * W) * N + 2 * reg * W, "average the data gradient over the N examples"),
    ):
        if reg > 0 and rel_fro(dW, value) < 1e-6:
            return "; " + hint
    return ""


def _loss_and_grad(kind: str, params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    W, X, y, reg = inputs["W"], inputs["X"], inputs["y"], inputs["reg"]
    ref_loss, ref_dW = (_ref.svm_loss if kind == "svm" else _ref.softmax_loss)(W, X, y, reg)
    loss_item, grad_item = as_sequence(result, 2, "the result")
    loss, loss_dtype = as_scalar(loss_item, "the loss")
    dW, _ = as_array(grad_item, "the gradient dW")
    if dW.ndim == 2 and dW.shape == W.shape[::-1] and dW.shape != W.shape:
        raise Mismatch(f"the gradient dW has shape {dW.shape}; it must have W's shape {W.shape}")
    check_shape(dW, W.shape, "the gradient dW", " (W's shape)")
    N = X.shape[0]
    unstable = "; subtract each row's maximum score before exp" if kind == "softmax" and params["offset"] else ""
    problems: list[str] = []
    fraction = 0.0
    loss_rel = 1e-5 if is_low_precision(loss_dtype) else 1e-8
    if close_scalar(loss, ref_loss, loss_rel):
        fraction += 0.5
    elif not np.isfinite(loss):
        problems.append(f"the loss is {loss}{unstable}")
    else:
        problems.append(f"the loss is off by {abs(loss - ref_loss):.3g}{_loss_hint(loss, ref_loss, reg, W, N)}")
    grad_rel = 1e-4 if is_low_precision(dW.dtype) else 1e-7
    if not np.all(np.isfinite(dW)):
        problems.append(f"the gradient contains NaN/inf{unstable}")
    elif rel_fro(dW, ref_dW) <= grad_rel:
        fraction += 0.5
    else:
        problems.append(
            f"the gradient differs (relative error {rel_fro(dW, ref_dW):.2g}){_grad_hint(dW, ref_dW, reg, W, N)}"
        )
    name = "SVM" if kind == "svm" else "softmax"
    if not problems:
        return passed(f"{name} loss and gradient correct (N={N}, reg={reg:g})")
    return failed(f"{name} loss/gradient with reg={reg:g}: " + "; ".join(problems), fraction)


def svm_loss(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    return _loss_and_grad("svm", params, inputs, result)


def softmax_loss(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    return _loss_and_grad("softmax", params, inputs, result)


def _train(kind: str, params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    arr, name = as_array(result, "predict()'s result")
    y_test = inputs["y_test"]
    pred = labels_of(arr, name, y_test.shape[0], "predict()'s result")
    acc = float(np.mean(pred == y_test))
    ref_acc = float(np.mean(_ref.train_predict(kind, inputs) == y_test))
    # the band: the instructor's minimum, relaxed if even the reference cannot reach it on these data
    need = min(float(params["min_accuracy"]), ref_acc - 0.1)
    if acc >= need:
        return passed(f"trained classifier reaches {acc:.0%} test accuracy (needed {need:.0%})")
    return failed(
        f"after training, test accuracy is {acc:.0%}, below {need:.0%} (the reference reaches {ref_acc:.0%}); "
        "check the gradient step W -= learning_rate * grad and predict = argmax of X @ W"
    )


def svm_train(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    return _train("linear.svm_train", params, inputs, result)


def softmax_train(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    return _train("linear.softmax_train", params, inputs, result)


_LOSS = {"N": 40, "D": 12, "C": 5, "reg": 0.5, "w_scale": 0.1, "offset": 0.0}
_TRAIN = {"n_train": 300, "n_test": 200, "D": 6, "C": 3, "separation": 3.0, "learning_rate": 1e-2, "reg": 1e-3,
          "num_iters": 300, "batch_size": 64, "min_accuracy": 0.8}
# y_test is not among the kernel's inputs: the accuracy is computed here, against labels the kernel never sees.
_TRAIN_CALL = Call(args=("X_test",), style="classifier", train_args=("X_train", "y_train"),
                   train_kwargs=("learning_rate", "reg", "num_iters", "batch_size"), seeds_numpy=True)

register(
    ProbeKind("linear.svm_loss", _linear_loss, _LOSS, Call(args=("W", "X", "y", "reg")), svm_loss,
              doc="(loss, dW) with reg·ΣW²"),
    ProbeKind("linear.softmax_loss", _linear_loss, _LOSS, Call(args=("W", "X", "y", "reg")), softmax_loss,
              doc="(loss, dW) with reg·ΣW²"),
    ProbeKind("linear.svm_train", _linear_train, _TRAIN, _TRAIN_CALL, svm_train,
              doc="cls(); train(...); predict(X_test) → accuracy band on held-out labels"),
    ProbeKind("linear.softmax_train", _linear_train, {**_TRAIN, "learning_rate": 5e-2}, _TRAIN_CALL, softmax_train,
              doc="cls(); train(...); predict(X_test) → accuracy band on held-out labels"),
)
