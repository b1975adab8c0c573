"""Seeded input generators, one per probe kind: the single source of truth for probe inputs.

`make_inputs(kind, seed, params)` returns a dict of named inputs. The kernel-side probe runner passes the
names listed in `KINDS[kind].args` positionally to the student's function (positional, so a student who
renamed a parameter is not punished); the trusted comparator calls `make_inputs` again with the same seed and
params and feeds the same arrays to the reference implementation. Extra entries (e.g. `y_test`) are inputs
of the comparator only.

Design rules (research/student_code.md):
- kNN inputs are integer-valued float64 "pixels" (0..255), as the notebook's data: squared distances are then
  exact, so ‖x‖²+‖y‖²−2x·y code without clamping is exact too, and equal distances are real ties.
- vote-tie rows use labels ≥ 8 and put the larger tied label nearest, so "nearest tied neighbour wins" and
  "set order" bugs differ from the smallest-label rule.
- SVM / softmax inputs are continuous (no margin is exactly 0) and use reg > 0 large enough to matter.

Only the standard library and numpy: this module runs inside the student's kernel.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Bump when any generator changes the arrays it produces: the suite hash includes it.
INPUTS_VERSION = "1"

# Fig. 1.2 training targets of Bishop PRML §1.1 at x = linspace(0, 1, 10), reconstructed from Table 1.1
# (research/reference_perf.md §2.2). Input data, not an expected answer.
BISHOP_T = (0.350, 0.832, 1.008, 0.972, 0.134, 0.167, -0.848, -0.446, -0.564, 0.260)

# Parameters every kind accepts: read by the comparators/grade_test, ignored by the generators.
COMMON_PARAMS = {"weight": 1.0}


@dataclass(frozen=True)
class Kind:
    """How to build the inputs of one probe kind and how the kernel calls the student's code."""

    generate: Callable[[np.random.Generator, dict[str, Any]], dict[str, Any]]
    defaults: dict[str, Any]
    args: tuple[str, ...]  # inputs passed positionally to the function / method named by `call`
    call: str = "function"  # "function" | "classifier" (instantiate, train(...), predict(...))
    train_args: tuple[str, ...] = ()  # classifier kinds: positional inputs of train()
    train_kwargs: tuple[str, ...] = ()  # classifier kinds: keyword inputs of train() (skeleton names)
    predict_kwargs: tuple[str, ...] = ()  # classifier kinds: keyword inputs of predict()
    doc: str = field(default="")


def _pixels(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, dim)).astype(np.float64)


def _balanced_labels(rng: np.random.Generator, n: int, n_classes: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % n_classes).astype(np.int64)


# --------------------------------------------------------------------------------------------- kNN
def _knn_distances(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    X_train = _pixels(rng, p["n_train"], p["dim"])
    X_test = _pixels(rng, p["n_test"], p["dim"])
    if p["duplicates"]:
        # exact duplicates: distance 0, where unclamped no-loop code must still not produce NaN
        k = min(3, p["n_test"], p["n_train"])
        X_test[:k] = X_train[rng.choice(p["n_train"], size=k, replace=False)]
    return {"X": X_test, "Y": X_train}


def _vote_tie_row(rng: np.random.Generator, y_train: np.ndarray, k: int, n_classes: int) -> np.ndarray:
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
    y_train = _balanced_labels(rng, n_train, n_classes)
    if p["ties"] == "vote":
        if k < 2:
            raise ValueError("knn.predict_labels: ties='vote' needs k ≥ 2")
        dists = np.stack([_vote_tie_row(rng, y_train, k, n_classes) for _ in range(n_test)])
    elif p["ties"] == "distance":
        # few distinct integer distances: many exact ties, also at the k-th place
        dists = rng.integers(0, 6, size=(n_test, n_train)).astype(np.float64)
    elif p["ties"] == "none":
        dists = np.stack([rng.permutation(n_train).astype(np.float64) for _ in range(n_test)])
    else:
        raise ValueError(f"knn.predict_labels: ties must be 'vote', 'distance' or 'none', not {p['ties']!r}")
    return {"dists": dists, "y_train": y_train, "k": int(k)}


def _knn_classifier(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    X_train = _pixels(rng, p["n_train"], p["dim"])
    y_train = _balanced_labels(rng, p["n_train"], p["n_classes"])
    X_test = _pixels(rng, p["n_test"], p["dim"])
    m = min(2, p["n_test"])
    X_test[:m] = X_train[rng.choice(p["n_train"], size=m, replace=False)]  # exact matches
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "k": int(p["k"])}


def _knn_cross_validate(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n, n_classes, dim = p["n"], p["n_classes"], p["dim"]
    y = _balanced_labels(rng, n, n_classes)
    # class-dependent mean pixel so accuracies are not all chance; still integer-valued
    centers = rng.integers(100, 156, size=(n_classes, dim))
    X = np.clip(centers[y] + rng.integers(-90, 91, size=(n, dim)), 0, 255).astype(np.float64)
    return {"X": X, "y": y, "k_choices": [int(k) for k in p["k_choices"]], "num_folds": int(p["num_folds"])}


# ------------------------------------------------------------------------------------ linear classifiers
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
        y = _balanced_labels(rng, n, C)
        X = means[y] + rng.normal(size=(n, D))
        return np.hstack([X, np.ones((n, 1))]), y

    X_train, y_train = blobs(n_train)
    X_test, y_test = blobs(n_test)
    return {
        "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "learning_rate": float(p["learning_rate"]), "reg": float(p["reg"]),
        "num_iters": int(p["num_iters"]), "batch_size": int(p["batch_size"]), "seed": int(rng.integers(2**31)),
    }


# --------------------------------------------------------------------------------- polynomial fitting
def _poly_data(rng: np.random.Generator, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if p["data"] == "bishop":
        return np.linspace(0.0, 1.0, 10), np.array(BISHOP_T, dtype=np.float64)
    if p["data"] == "sin":
        x = np.sort(rng.uniform(0.0, 1.0, size=p["n"])) if p["random_x"] else np.linspace(0.0, 1.0, p["n"])
        return x, np.sin(2 * np.pi * x) + rng.normal(scale=p["noise"], size=x.shape)
    raise ValueError(f"polyfit: data must be 'bishop' or 'sin', not {p['data']!r}")


def _poly_design(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    x, _ = _poly_data(rng, p)
    return {"x": x, "M": int(p["M"])}


def _poly_fit(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    x, t = _poly_data(rng, p)
    return {"x": x, "t": t, "M": int(p["M"]), "lam": float(p["lam"])}


def _poly_weights(rng: np.random.Generator, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t = _poly_data(rng, p)
    w = rng.normal(scale=p["w_scale"], size=int(p["M"]) + 1)
    return w, x, t


def _poly_rms(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    w, x, t = _poly_weights(rng, p)
    return {"w": w, "x": x, "t": t}


def _poly_predict(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    w, x, _ = _poly_weights(rng, p)
    return {"w": w, "x": x}


# --------------------------------------------------------------------------------------- speed tests
def _speed_l1_l2(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    a = rng.integers(-9, 10, size=p["dim"]).astype(np.float64)
    b = rng.integers(-9, 10, size=p["dim"]).astype(np.float64)
    return {"a": a, "b": b}


def _speed_knn_vote(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n, k, n_classes = p["n"], p["k"], 10
    labels = _balanced_labels(rng, n, n_classes)
    if p["ties"] == "vote":
        dists = _vote_tie_row(rng, labels, k, n_classes)
    else:
        dists = rng.permutation(n).astype(np.float64) + 1.0
    return {"dists": dists, "labels": labels, "k": int(k)}


def _speed_hinge(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    # continuous scores near the correct one: several margins positive, several negative, none exactly 0
    scores = rng.normal(scale=1.0, size=p["C"])
    return {"scores": scores, "y": int(rng.integers(0, p["C"]))}


_POLY = {"data": "sin", "n": 10, "noise": 0.3, "random_x": False}

KINDS: dict[str, Kind] = {
    "knn.distances": Kind(
        _knn_distances, {"n_train": 40, "n_test": 15, "dim": 48, "metric": "l2", "duplicates": True},
        args=("X", "Y"), doc="D[i, j] = distance(X[i], Y[j]); metric 'l2' or 'l1' (comparator only)"),
    "knn.predict_labels": Kind(
        _knn_predict_labels, {"n_train": 40, "n_test": 12, "k": 4, "n_classes": 10, "ties": "vote"},
        args=("dists", "y_train", "k"), doc="labels from a distance matrix, smallest label wins a vote tie"),
    "knn.classifier": Kind(
        _knn_classifier, {"n_train": 60, "n_test": 20, "dim": 32, "n_classes": 10, "k": 5},
        args=("X_test",), call="classifier", train_args=("X_train", "y_train"), predict_kwargs=("k",),
        doc="cls(); train(X_train, y_train); predict(X_test, k=k)"),
    "knn.cross_validate": Kind(
        _knn_cross_validate, {"n": 100, "dim": 16, "n_classes": 4, "k_choices": [1, 3, 5, 8], "num_folds": 5},
        args=("X", "y", "k_choices", "num_folds"), doc="accuracies, shape (len(k_choices), num_folds)"),
    "linear.svm_loss": Kind(
        _linear_loss, {"N": 40, "D": 12, "C": 5, "reg": 0.5, "w_scale": 0.1, "offset": 0.0},
        args=("W", "X", "y", "reg"), doc="(loss, dW) with reg·ΣW²"),
    "linear.softmax_loss": Kind(
        _linear_loss, {"N": 40, "D": 12, "C": 5, "reg": 0.5, "w_scale": 0.1, "offset": 0.0},
        args=("W", "X", "y", "reg"), doc="(loss, dW) with reg·ΣW²"),
    "linear.svm_train": Kind(
        _linear_train, {"n_train": 300, "n_test": 200, "D": 6, "C": 3, "separation": 3.0,
                        "learning_rate": 1e-2, "reg": 1e-3, "num_iters": 300, "batch_size": 64,
                        "min_accuracy": 0.8},
        args=("X_test",), call="classifier", train_args=("X_train", "y_train"),
        train_kwargs=("learning_rate", "reg", "num_iters", "batch_size"),
        doc="cls(); train(...); predict(X_test) → accuracy band"),
    "linear.softmax_train": Kind(
        _linear_train, {"n_train": 300, "n_test": 200, "D": 6, "C": 3, "separation": 3.0,
                        "learning_rate": 5e-2, "reg": 1e-3, "num_iters": 300, "batch_size": 64,
                        "min_accuracy": 0.8},
        args=("X_test",), call="classifier", train_args=("X_train", "y_train"),
        train_kwargs=("learning_rate", "reg", "num_iters", "batch_size"),
        doc="cls(); train(...); predict(X_test) → accuracy band"),
    "polyfit.design_matrix": Kind(_poly_design, {**_POLY, "M": 3}, args=("x", "M"), doc="Φ[n, j] = x_n^j"),
    "polyfit.fit": Kind(_poly_fit, {**_POLY, "M": 3, "lam": 0.0}, args=("x", "t", "M", "lam"),
                        doc="w minimising ½Σ(y−t)² + (λ/2)‖w‖²"),
    "polyfit.rms_error": Kind(_poly_rms, {**_POLY, "M": 3, "w_scale": 1.0}, args=("w", "x", "t"),
                              doc="E_RMS = sqrt(2E(w)/N)"),
    "polyfit.predict": Kind(_poly_predict, {**_POLY, "M": 3, "w_scale": 1.0}, args=("w", "x"),
                            doc="y(x, w) = Σ_j w_j x^j"),
    "speed.l1_l2": Kind(_speed_l1_l2, {"dim": 5}, args=("a", "b"), doc="(L1, L2) distance of two vectors"),
    "speed.knn_vote": Kind(_speed_knn_vote, {"n": 20, "k": 4, "ties": "vote"}, args=("dists", "labels", "k"),
                           doc="label of one query by a k-NN vote, smallest label wins ties"),
    "speed.hinge": Kind(_speed_hinge, {"C": 5}, args=("scores", "y"), doc="multiclass hinge loss, Δ = 1"),
}


def resolve_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The kind's defaults overridden by `params`; unknown kinds or parameter names raise ValueError."""
    if kind not in KINDS:
        raise ValueError(f"unknown probe kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    spec = KINDS[kind]
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec.defaults) - set(COMMON_PARAMS))
    if unknown:
        raise ValueError(
            f"probe kind {kind!r} has no parameter(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted({**spec.defaults, **COMMON_PARAMS}))}"
        )
    return {**COMMON_PARAMS, **spec.defaults, **params}


def make_inputs(kind: str, seed: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The named inputs of a probe of `kind` for `seed`: identical on every call with the same arguments."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    full = resolve_params(kind, params)
    rng = np.random.default_rng(seed)
    return KINDS[kind].generate(rng, full)
