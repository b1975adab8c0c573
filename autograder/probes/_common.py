"""Shared checks of the comparators: verdict constructors, tolerances by dtype, value comparison messages."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict

from .decode import WrongType


def passed(message: str = "correct") -> Verdict:
    return Verdict(1.0, "passed", message)


def failed(message: str, fraction: float = 0.0) -> Verdict:
    return Verdict(fraction, "failed", message)


def is_low_precision(dtype: np.dtype) -> bool:
    """float32/float16 results get the float32 tolerances; float64 and integers the float64 ones."""
    return dtype.kind == "f" and dtype.itemsize < 8


def check_shape(arr: np.ndarray, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    if arr.shape != shape:
        raise Mismatch(f"{what} has shape {arr.shape}, expected {shape}{hint}")


class Mismatch(Exception):
    """A value/shape difference; the message is for the student."""


def labels_of(arr: np.ndarray, type_name: str, n: int, what: str) -> np.ndarray:
    """Integer labels from an int array or an integer-valued float array (the skeleton's np.zeros)."""
    if type_name == "numpy.matrix" and arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.dtype.kind == "b":
        raise WrongType(f"{what} is a boolean array; return integer class labels")
    check_shape(arr, (n,), what)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise Mismatch(f"{what} contains NaN or inf")
        if not np.all(arr == np.round(arr)):
            raise Mismatch(f"{what} contains non-integer values; labels are whole numbers")
    return arr.astype(np.int64)


def nan_message(arr: np.ndarray, ref: np.ndarray, what: str, hint: str = "") -> str | None:
    bad = ~np.isfinite(arr) & np.isfinite(ref)
    if bad.any():
        return f"{what} contains NaN/inf at {int(bad.sum())} of {arr.size} entries{hint}"
    return None


def compare_arrays(arr: np.ndarray, ref: np.ndarray, what: str, *, rtol: float, atol: float,
                   hint: str = "") -> None:
    """Raise Mismatch with counts and the largest error if `arr` and `ref` differ beyond rtol/atol."""
    msg = nan_message(arr, ref, what)
    if msg:
        raise Mismatch(msg + hint)
    a = arr.astype(np.float64)
    err = np.abs(a - ref)
    bad = err > atol + rtol * np.abs(ref)
    if bad.any():
        raise Mismatch(
            f"{what} differ from the expected values at {int(bad.sum())} of {ref.size} entries "
            f"(max abs error {float(err.max()):.3g}){hint}"
        )


def rel_fro(a: np.ndarray, ref: np.ndarray) -> float:
    den = float(np.linalg.norm(ref))
    return float(np.linalg.norm(a.astype(np.float64) - ref)) / (den if den > 0 else 1.0)


def close_scalar(value: float, ref: float, rel: float) -> bool:
    return bool(np.isfinite(value)) and abs(value - ref) <= rel * max(1.0, abs(ref))


def fmt_shape(x: Any) -> str:
    return "×".join(str(n) for n in np.shape(x))
