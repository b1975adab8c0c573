"""kNN comparators: distances (L2, L1), labels from a distance matrix, the classifier, cross-validation."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict

from . import _ref
from ._common import Mismatch, check_shape, compare_arrays, failed, is_low_precision, labels_of, passed
from .decode import as_array
from .registry import register


@register("knn.distances")
def distances(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    X, Y = inputs["X"], inputs["Y"]
    metric = params["metric"]
    if metric not in ("l1", "l2"):
        raise ValueError(f"knn.distances: metric must be 'l1' or 'l2', not {metric!r}")
    arr, _ = as_array(result, "the distance matrix")
    ref = _ref.pairwise_distances(X, Y, metric)
    if arr.shape == ref.shape[::-1] and arr.shape != ref.shape:
        raise Mismatch(f"the distance matrix has shape {arr.shape}, expected {ref.shape}: "
                       "D[i, j] is the distance from X[i] (first argument) to Y[j] (second argument)")
    check_shape(arr, ref.shape, "the distance matrix")
    if is_low_precision(arr.dtype):
        # float32 cancellation in ‖x‖²+‖y‖²−2x·y: about sqrt(ε·‖x‖²) absolute near zero distances
        scale = float(max((X**2).sum(1).max(), (Y**2).sum(1).max()))
        rtol, atol = 1e-5, 4.0 * np.sqrt(1.2e-7 * scale)
    else:
        rtol, atol = 1e-9, 1e-6
    hint = ""
    finite = np.isfinite(arr)
    if metric == "l2":
        if finite.all() and np.allclose(arr, ref**2, rtol=1e-5, atol=1e-3):
            hint = "; these look like squared distances: take the square root"
        elif not finite.all():
            hint = "; for identical points ‖x‖²+‖y‖²−2x·y can round below 0: clamp at 0 before the square root"
    else:
        if finite.all() and np.allclose(arr, _ref.pairwise_distances(X, Y, "l2"), rtol=1e-5, atol=1e-3):
            hint = "; these are L2 distances: L1 sums the absolute differences"
    compare_arrays(arr, ref, "distances", rtol=rtol, atol=atol, hint=hint)
    return passed(f"{metric.upper()} distances correct ({len(X)} × {len(Y)})")


def _check_votes(pred: np.ndarray, acceptable: list[set[int]], what: str, smallest_hint: bool) -> Verdict:
    wrong = [i for i, (p, ok) in enumerate(zip(pred, acceptable)) if int(p) not in ok]
    if not wrong:
        return passed(f"{what} correct ({len(pred)} queries)")
    msg = f"{what}: {len(wrong)} of {len(pred)} predicted labels are wrong"
    if smallest_hint:
        msg += "; when two labels get the same number of votes, return the smaller label"
    return failed(msg)


@register("knn.predict_labels")
def predict_labels(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    arr, name = as_array(result, "the predicted labels")
    dists, y_train, k = inputs["dists"], inputs["y_train"], inputs["k"]
    pred = labels_of(arr, name, dists.shape[0], "the predicted labels")
    acceptable = _ref.acceptable_votes(dists, y_train, k)
    return _check_votes(pred, acceptable, "labels", smallest_hint=params["ties"] == "vote")


@register("knn.classifier")
def classifier(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    arr, name = as_array(result, "predict()'s result")
    X_test = inputs["X_test"]
    pred = labels_of(arr, name, X_test.shape[0], "predict()'s result")
    dists = _ref.pairwise_distances(X_test, inputs["X_train"], "l2")
    acceptable = _ref.acceptable_votes(dists, inputs["y_train"], inputs["k"], rtol=1e-6)
    return _check_votes(pred, acceptable, f"KNearestNeighbor with k={inputs['k']}", smallest_hint=True)


def _fold_ranges(inputs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest correct accuracy per (k, fold): tie choices at the k-th place may change a vote."""
    X, y, k_choices, folds = inputs["X"], inputs["y"], inputs["k_choices"], inputs["num_folds"]
    X_folds, y_folds = np.array_split(X, folds), np.array_split(y, folds)
    lo = np.zeros((len(k_choices), folds))
    hi = np.zeros_like(lo)
    for f in range(folds):
        X_tr = np.concatenate([X_folds[i] for i in range(folds) if i != f])
        y_tr = np.concatenate([y_folds[i] for i in range(folds) if i != f])
        dists = _ref.pairwise_distances(X_folds[f], X_tr, "l2")
        for i, k in enumerate(k_choices):
            acceptable = _ref.acceptable_votes(dists, y_tr, k, rtol=1e-6)
            truth = y_folds[f]
            lo[i, f] = np.mean([ok == {int(t)} for ok, t in zip(acceptable, truth)])
            hi[i, f] = np.mean([int(t) in ok for ok, t in zip(acceptable, truth)])
    return lo, hi


@register("knn.cross_validate")
def cross_validate(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    arr, name = as_array(result, "the fold accuracies")
    k_choices, folds = inputs["k_choices"], inputs["num_folds"]
    shape = (len(k_choices), folds)
    if name == "numpy.matrix":
        arr = np.asarray(arr)
    check_shape(arr, shape, "the fold accuracies", " (one row per k, one column per fold)")
    if not np.all(np.isfinite(arr)):
        raise Mismatch("the fold accuracies contain NaN or inf")
    lo, hi = _fold_ranges(inputs)
    tol = 1e-6
    if np.all((arr >= lo - tol) & (arr <= hi + tol)):
        return passed(f"fold accuracies correct ({len(k_choices)} values of k × {folds} folds)")
    if np.all((arr / 100 >= lo - tol) & (arr / 100 <= hi + tol)):
        return failed("the fold accuracies look like percentages; return fractions between 0 and 1")
    bad = int(np.sum((arr < lo - tol) | (arr > hi + tol)))
    return failed(
        f"{bad} of {arr.size} fold accuracies are wrong; split with np.array_split in order, hold out fold i, "
        "train on the others"
    )
