"""Seeded probe inputs, generated and kept in the grader: `make_inputs(kind, seed, params)`.

The kernel receives only the inputs its call needs, as data (`Call.kernel_inputs`); held-out values (test
labels, anything the comparator checks against) never leave this process. The seed itself never reaches the
kernel either, and it is keyed with the course's grading key, so nothing of the held-out values can be
recomputed from the repository's code.

Design rules shared by the generators of kinds/*.py:
- kNN inputs are integer-valued float64 "pixels" (0..255) by default, as the notebook's data: squared
  distances are then exact, so ‖x‖²+‖y‖²−2x·y code without clamping is exact too, and equal distances are
  real ties. `standardised_pixels` gives the non-integer values of preprocessed images instead, where that
  identity rounds in float32 and float64 alike (the probes of the clamp at 0 need them).
- SVM / softmax inputs are continuous (no margin is exactly 0) and use reg > 0 large enough to matter.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.probes.registry import KINDS

# Bump when any generator changes the arrays it produces: the suite hash includes it.
INPUTS_VERSION = "2"

# Parameters every kind accepts, read by the judge: the probe's share of its test, and whether the kernel
# receives torch tensors (the notebook's type) instead of numpy arrays.
COMMON_PARAMS: dict[str, Any] = {"weight": 1.0, "torch": False}


def pixels(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, dim)).astype(np.float64)


def standardised_pixels(rng: np.random.Generator, n_train: int, n_test: int,
                        dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and test pixels standardised with the training rows' per-pixel mean and standard deviation:
    values with full mantissas, so ‖x‖²+‖y‖²−2x·y rounds differently in every evaluation order."""
    train, test = pixels(rng, n_train, dim), pixels(rng, n_test, dim)
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0  # a pixel equal in every training row (n_train = 1)
    return (train - mean) / std, (test - mean) / std


def balanced_labels(rng: np.random.Generator, n: int, n_classes: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % n_classes).astype(np.int64)


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


def make_inputs(kind: str, seed: int, params: dict[str, Any] | None = None,
                variant: dict[str, Any] | None = None) -> dict[str, Any]:
    """The named inputs of a probe of `kind` for `seed` (and, for per-student kinds, the student's `variant`):
    identical on every call with the same arguments."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    full = resolve_params(kind, params)
    if KINDS[kind].per_student:
        if variant is None:
            raise ValueError(f"probe kind {kind!r} judges the student's own numbers: the assignment needs a "
                             "module next to its notebooks that defines variant(student_id)")
        full["variant"] = variant
    rng = np.random.default_rng(seed)
    return KINDS[kind].generate(rng, full)
