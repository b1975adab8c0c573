"""kNN comparators: distances (L2, L1), labels from a distance matrix, the classifier, cross-validation."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict
from autograder.probes import _ref
from autograder.probes._common import (
    Mismatch,
    check_shape,
    compare_arrays,
    failed,
    is_low_precision,
    labels_of,
    passed,
)
from autograder.probes.decode import as_array
from autograder.probes.inputs import balanced_labels, pixels, standardised_pixels
from autograder.probes.registry import Call, ProbeKind, register

# Nearly identical copies move every value by 1..N units in the last place (ulp) of the named type: far below
# what ‖x‖²+‖y‖²−2x·y loses to rounding in that type, yet enough that code rounding ‖x‖² and x·y alike (the
# same reduction for both) still differs. A float64 move vanishes in float32: there the row is identical.
_NEAR_ULPS = ((np.float64, 4096), (np.float32, 64))


def identical_or_nearly(rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """Copies of `rows` in turn: exact, nearly identical in float64, nearly identical in float32 too."""
    out = rows.copy()
    for i in range(out.shape[0]):
        if i % 3:
            ftype, most = _NEAR_ULPS[i % 3 - 1]
            steps = rng.integers(1, most + 1, size=out.shape[1]) * rng.choice((-1, 1), size=out.shape[1])
            out[i] += steps * np.spacing(np.abs(out[i]).astype(ftype)).astype(np.float64)
    return out


def _knn_distances(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    if p["values"] == "integer":
        X_train = pixels(rng, p["n_train"], p["dim"])
        X_test = pixels(rng, p["n_test"], p["dim"])
        if p["duplicates"]:
            # exact duplicates: distance 0 (exact in float64 on integer pixels, so unclamped code passes here)
            k = min(3, p["n_test"], p["n_train"])
            X_test[:k] = X_train[rng.choice(p["n_train"], size=k, replace=False)]
    elif p["values"] == "standardised":
        X_train, X_test = standardised_pixels(rng, p["n_train"], p["n_test"], p["dim"])
        if p["duplicates"]:
            # the training rows come in pairs (an image, its copy), every test row copies the first of a pair:
            # each close pair is an independent chance for unclamped ‖x‖²+‖y‖²−2x·y to round below 0, and
            # there are enough of them that its NaN shows for every seed
            half, n_test = p["n_train"] // 2, p["n_test"]
            X_train[half:2 * half] = identical_or_nearly(rng, X_train[:half])
            source = rng.choice(max(half, 1), size=n_test, replace=n_test > half)
            X_test = identical_or_nearly(rng, X_train[source])
    else:
        raise ValueError(f"knn.distances: values must be 'integer' or 'standardised', not {p['values']!r}")
    return {"X": X_test, "Y": X_train}


def vote_tie_row(rng: np.random.Generator, y_train: np.ndarray, k: int, n_classes: int) -> np.ndarray:
    """Distances of one query whose k nearest neighbours tie between two labels, the larger one nearest."""
    n_train = y_train.shape[0]
    half = k // 2
    b = int(rng.integers(8, n_classes))  # larger tied label (≥ 8), placed nearest
    a = int(rng.integers(0, b))  # smaller tied label: the correct answer
    others = [c for c in range(n_classes) if c not in (a, b)]
    pattern = []
    for i in range(half):
        pattern += [b, a]
    if k % 2:
        pattern.append(int(rng.choice(others)))
    chosen: list[int] = []
    for label in pattern:
        pool = [j for j in np.flatnonzero(y_train == label) if j not in chosen]
        if not pool:
            raise ValueError(f"vote-tie inputs: too few training points per label for k={k}; "
                             f"use at least {(k + 1) // 2} × n_classes training points")
        chosen.append(int(rng.choice(pool)))
    row = np.empty(n_train)
    rest = [j for j in range(n_train) if j not in chosen]
    row[chosen] = np.arange(1, k + 1, dtype=np.float64) * 10.0
    row[rest] = (k + 1) * 10.0 + rng.permutation(len(rest)).astype(np.float64) * 10.0
    return row


def _knn_predict_labels(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n_train, n_test, k, n_classes = p["n_train"], p["n_test"], p["k"], p["n_classes"]
    if n_classes < 9:
        raise ValueError("knn.predict_labels: n_classes must be ≥ 9 (vote-tie rows need labels ≥ 8)")
    if n_train < 2 * n_classes or k > n_train:
        raise ValueError("knn.predict_labels: need n_train ≥ 2·n_classes and k ≤ n_train")
    y_train = balanced_labels(rng, n_train, n_classes)
    if p["ties"] == "vote":
        if k < 2:
            raise ValueError("knn.predict_labels: ties='vote' needs k ≥ 2")
        dists = np.stack([vote_tie_row(rng, y_train, k, n_classes) for _ in range(n_test)])
    elif p["ties"] == "distance":
        # few distinct integer distances: many exact ties, also at the k-th place
        dists = rng.integers(0, 6, size=(n_test, n_train)).astype(np.float64)
    elif p["ties"] == "none":
        dists = np.stack([rng.permutation(n_train).astype(np.float64) for _ in range(n_test)])
    else:
        raise ValueError(f"knn.predict_labels: ties must be 'vote', 'distance' or 'none', not {p['ties']!r}")
    return {"dists": dists, "y_train": y_train, "k": int(k)}


def _knn_classifier(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    X_train = pixels(rng, p["n_train"], p["dim"])
    y_train = balanced_labels(rng, p["n_train"], p["n_classes"])
    X_test = pixels(rng, p["n_test"], p["dim"])
    m = min(2, p["n_test"])
    X_test[:m] = X_train[rng.choice(p["n_train"], size=m, replace=False)]  # exact matches
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "k": int(p["k"])}


def _knn_cross_validate(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n, n_classes, dim = p["n"], p["n_classes"], p["dim"]
    y = balanced_labels(rng, n, n_classes)
    # class-dependent mean pixel so accuracies are not all chance; still integer-valued
    centers = rng.integers(100, 156, size=(n_classes, dim))
    X = np.clip(centers[y] + rng.integers(-90, 91, size=(n, dim)), 0, 255).astype(np.float64)
    return {"X": X, "y": y, "k_choices": [int(k) for k in p["k_choices"]], "num_folds": int(p["num_folds"])}


def _scale(X: np.ndarray, Y: np.ndarray) -> float:
    return float(max((X**2).sum(1).max(initial=0.0), (Y**2).sum(1).max(initial=0.0)))


def cancellation_atol(X: np.ndarray, Y: np.ndarray, ftype: type[np.floating]) -> float:
    """What correct no-loop L2 code may be off by near 0 in `ftype`: there ‖x‖²+‖y‖²−2x·y keeps only its
    rounding error, about ε·max‖x‖²·√dim (sums round like a random walk), and the distance its square root."""
    eps = float(np.finfo(ftype).eps)
    return 3.0 * float(np.sqrt(eps * _scale(X, Y) * np.sqrt(X.shape[1])))


def _shifted_under_root(arr: np.ndarray, ref: np.ndarray, atol: float) -> bool:
    """sqrt(d² + ε) for one small ε > 0: right away from 0, √ε where the distance is 0."""
    zero = ref <= atol
    if not zero.any() or not np.isfinite(arr).all():
        return False
    eps = float(np.median(arr[zero].astype(np.float64) ** 2))
    return 0 < eps < 1e-2 and bool(np.allclose(arr, np.sqrt(ref**2 + eps), rtol=1e-5, atol=atol))


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
    low = is_low_precision(arr.dtype)
    rtol, atol = (1e-5, 4.0 * np.sqrt(1.2e-7 * _scale(X, Y))) if low else (1e-9, 1e-6)
    if metric == "l2":
        atol = max(atol, cancellation_atol(X, Y, np.float32 if low else np.float64))
    hint = ""
    finite = np.isfinite(arr)
    if metric == "l2":
        if finite.all() and np.allclose(arr, ref**2, rtol=1e-5, atol=1e-3):
            hint = "; these look like squared distances: take the square root"
        elif not finite.all():
            hint = ("; for identical or nearly identical points ‖x‖²+‖y‖²−2x·y can round below 0: "
                    "clamp at 0 before the square root")
        elif _shifted_under_root(arr, ref, atol):
            hint = "; a point's distance to its copy is not 0: add nothing under the square root (clamp at 0 instead)"
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


def predict_labels(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    arr, name = as_array(result, "the predicted labels")
    dists, y_train, k = inputs["dists"], inputs["y_train"], inputs["k"]
    pred = labels_of(arr, name, dists.shape[0], "the predicted labels")
    acceptable = _ref.acceptable_votes(dists, y_train, k)
    return _check_votes(pred, acceptable, "labels", smallest_hint=params["ties"] == "vote")


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


register(
    ProbeKind("knn.distances", _knn_distances,
              {"n_train": 40, "n_test": 15, "dim": 48, "metric": "l2", "duplicates": True, "values": "integer"},
              Call(args=("X", "Y")), distances,
              doc="D[i, j] = distance(X[i], Y[j]); metric 'l2' or 'l1' (comparator only); values 'integer' "
                  "(pixels 0..255, exact in float64; duplicates: 3 test rows equal training rows) or "
                  "'standardised' (per-pixel mean and std removed; duplicates: the training rows come in pairs, "
                  "every test row copies one, exactly or a few ulps away, so that unclamped ‖x‖²+‖y‖²−2x·y "
                  "gives NaN for every seed)"),
    ProbeKind("knn.predict_labels", _knn_predict_labels,
              {"n_train": 40, "n_test": 12, "k": 4, "n_classes": 10, "ties": "vote"},
              Call(args=("dists", "y_train", "k")), predict_labels,
              doc="labels from a distance matrix, smallest label wins a vote tie"),
    ProbeKind("knn.classifier", _knn_classifier,
              {"n_train": 60, "n_test": 20, "dim": 32, "n_classes": 10, "k": 5},
              Call(args=("X_test",), style="classifier", train_args=("X_train", "y_train"), predict_kwargs=("k",)),
              classifier, doc="cls(); train(X_train, y_train); predict(X_test, k=k)"),
    ProbeKind("knn.cross_validate", _knn_cross_validate,
              {"n": 100, "dim": 16, "n_classes": 4, "k_choices": [1, 3, 5, 8], "num_folds": 5},
              Call(args=("X", "y", "k_choices", "num_folds")), cross_validate,
              doc="accuracies, shape (len(k_choices), num_folds)"),
)
