"""Polynomial-fitting kinds (Bishop PRML §1.1): tolerances from float32 to float64.

Course convention (stated in the notebook): w minimises ½Σ(y(xₙ, w) − tₙ)² + (λ/2)‖w‖², w₀ included, i.e.
(ΦᵀΦ + λI) w = Φᵀt; E_RMS = sqrt(2E(w)/N) = sqrt(mean((y − t)²)).
Ill-conditioned fits (λ = 0 and M ≥ 6; cond(ΦᵀΦ) reaches 2e14 at M = 9) are judged by their predictions on
the training inputs, never by coefficients: the normal-equation solution students write differs from lstsq
by 5e-4 relative in w but fits the data equally well.
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
    compare_arrays,
    failed,
    is_low_precision,
    passed,
)
from autograder.probes.decode import as_array, as_scalar
from autograder.probes.registry import Call, ProbeKind, register

PREDICTION_TOL = 1e-3  # RMS difference of training predictions, ill-conditioned fits

def _poly_data(rng: np.random.Generator, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if p["data"] == "bishop":
        return _ref.bishop_points()  # Fig. 1.2's ten points: input data, not an expected answer
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



def design_matrix(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    x, M = inputs["x"], inputs["M"]
    arr, _ = as_array(result, "the design matrix")
    ref = _ref.design_matrix(x, M)
    if arr.shape == ref.shape and np.allclose(arr[:, ::-1], ref) and M > 0:
        raise Mismatch("the columns are in reverse order: column j must hold x**j, starting with x**0 = 1")
    check_shape(arr, ref.shape, "the design matrix", f" (N rows, M+1 = {M + 1} columns)")
    rtol = 1e-5 if is_low_precision(arr.dtype) else 1e-10
    compare_arrays(arr, ref, "design-matrix entries", rtol=rtol, atol=1e-12)
    return passed(f"design matrix correct (N={len(x)}, M={M})")


def _w_hint(w: np.ndarray, inputs: dict[str, Any]) -> str:
    x, t, M, lam = inputs["x"], inputs["t"], inputs["M"], inputs["lam"]
    ref = _ref.poly_fit(x, t, M, lam)
    if M > 0 and np.allclose(w[::-1], ref, rtol=1e-4, atol=1e-8):
        return "; the coefficients are in reverse order (np.polyfit's order): w[j] multiplies x**j"
    if lam > 0:
        for other, hint in ((lam / 2, "λ/2"), (2 * lam, "2λ"), (lam * len(x), "N·λ"), (0.0, "no λ")):
            if np.allclose(w, _ref.poly_fit(x, t, M, other), rtol=1e-5, atol=1e-8):
                return f"; this is the fit for {hint}: solve (ΦᵀΦ + λI) w = Φᵀt"
    return ""


def fit(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    x, t, M, lam = inputs["x"], inputs["t"], inputs["M"], inputs["lam"]
    w, name = as_array(result, "the coefficients w")
    if name == "numpy.matrix" and w.ndim == 2 and 1 in w.shape:
        w = w.reshape(-1)
    if w.ndim == 2 and w.shape in ((M + 1, 1), (1, M + 1)):
        w = w.reshape(-1)  # a column vector from lstsq on t[:, None]: same coefficients
    check_shape(w, (M + 1,), "the coefficients w", " (M+1 values, w[0] first)")
    if not np.all(np.isfinite(w)):
        raise Mismatch("the coefficients contain NaN/inf")
    ref = _ref.poly_fit(x, t, M, lam)
    what = f"fit with M={M}, λ={lam:g}"
    if lam == 0 and M >= 6:
        diff = float(np.sqrt(np.mean((_ref.poly_predict(w, x) - _ref.poly_predict(ref, x)) ** 2)))
        if diff <= PREDICTION_TOL:
            return passed(f"{what} correct (judged by its predictions on the training inputs)")
        hint = " (use float64: float32 cannot solve this system)" if is_low_precision(w.dtype) else ""
        return failed(f"{what}: predictions on the training inputs are off by {diff:.3g} RMS{hint}"
                      f"{_w_hint(w, inputs)}")
    rtol = 1e-6 if lam == 0 or lam >= np.exp(-5) else 1e-5
    if is_low_precision(w.dtype):
        rtol = max(rtol, 1e-4)
    scale = float(np.max(np.abs(ref))) or 1.0
    err = np.abs(w - ref)
    bad = err > rtol * np.abs(ref) + rtol * 1e-3 * scale
    if not bad.any():
        return passed(f"{what} correct")
    return failed(f"{what}: {int(bad.sum())} of {M + 1} coefficients differ (max abs error {err.max():.3g})"
                  f"{_w_hint(w, inputs)}")


def rms_error(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    w, x, t = inputs["w"], inputs["x"], inputs["t"]
    value, dtype = as_scalar(result, "E_RMS")
    ref = _ref.rms_error(w, x, t)
    rel = 1e-5 if is_low_precision(dtype) else 1e-8
    if close_scalar(value, ref, rel):
        return passed(f"E_RMS correct (N={len(x)})")
    err2 = ref**2 * len(x) / 2  # E(w)
    hint = ""
    for other, h in ((ref**2, "take the square root"), (err2, "E_RMS = sqrt(2E/N), not E"),
                     (np.sqrt(err2), "divide by N inside the square root: sqrt(2E/N)"),
                     (np.sqrt(err2 / len(x)), "E_RMS = sqrt(2E/N): the factor 2 is missing")):
        if close_scalar(value, float(other), 1e-6):
            hint = "; " + h
            break
    return failed(f"E_RMS is off by {abs(value - ref):.3g}{hint}")


def predict(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    w, x = inputs["w"], inputs["x"]
    arr, name = as_array(result, "the predictions")
    if name == "numpy.matrix" and arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    ref = _ref.poly_predict(w, x)
    check_shape(arr, ref.shape, "the predictions", " (one value per x)")
    rtol = 1e-5 if is_low_precision(arr.dtype) else 1e-9
    hint = ""
    if np.allclose(arr, _ref.poly_predict(w[::-1], x)) and len(w) > 1:
        hint = "; w[j] multiplies x**j (w[0] is the constant term)"
    compare_arrays(arr, ref, "predictions", rtol=rtol, atol=1e-9 * (1 + float(np.abs(ref).max())), hint=hint)
    return passed(f"predictions correct ({len(x)} points)")


_POLY = {"data": "sin", "n": 10, "noise": 0.3, "random_x": False}

register(
    ProbeKind("polyfit.design_matrix", _poly_design, {**_POLY, "M": 3}, Call(args=("x", "M")), design_matrix,
              doc="Φ[n, j] = x_n^j"),
    ProbeKind("polyfit.fit", _poly_fit, {**_POLY, "M": 3, "lam": 0.0}, Call(args=("x", "t", "M", "lam")), fit,
              doc="w minimising ½Σ(y−t)² + (λ/2)‖w‖²"),
    ProbeKind("polyfit.rms_error", _poly_rms, {**_POLY, "M": 3, "w_scale": 1.0}, Call(args=("w", "x", "t")),
              rms_error, doc="E_RMS = sqrt(2E(w)/N)"),
    ProbeKind("polyfit.predict", _poly_predict, {**_POLY, "M": 3, "w_scale": 1.0}, Call(args=("w", "x")), predict,
              doc="y(x, w) = Σ_j w_j x^j"),
)
