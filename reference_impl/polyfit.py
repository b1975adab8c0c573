"""Polynomial curve fitting (Bishop PRML §1.1): y(x, w) = Σⱼ wⱼ xʲ, j = 0..M.

`fit` minimises Ẽ(w) = ½ Σₙ (y(xₙ, w) − tₙ)² + (λ/2)‖w‖² with w₀ regularised too (eq. 1.4). It never forms
the normal equations (cond(ΦᵀΦ) = cond(Φ)² ≈ 2e14 at M = 9 loses ~4 digits):
it solves the augmented least-squares problem [Φ; √λ I] w ≈ [t; 0] by a Householder QR, accumulated over
row chunks (TSQR) so that Φ is never built whole and each chunk stays in cache. Inputs and outputs are torch
tensors in float64 (`dtype`) on `device` (`None`: CUDA when available, else CPU).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import torch

from reference_impl._validation import as_float_tensor, check_dtype, check_float, check_int, resolve_device

__all__ = [
    "BISHOP_FIG_1_2",
    "BISHOP_TABLE_1_1",
    "BishopData",
    "design_matrix",
    "fit",
    "predict",
    "rms_error",
    "sin_data",
]


class BishopData(NamedTuple):
    x: tuple[float, ...]
    t: tuple[float, ...]


# Bishop Fig. 1.2's training set, reconstructed from the printed M = 9 coefficients of Table 1.1:
# x = linspace(0, 1, 10); re-fits of M = 0, 1, 3 land within ±0.004.
BISHOP_FIG_1_2 = BishopData(
    x=tuple(float(v) for v in np.linspace(0.0, 1.0, 10)),
    t=(0.350, 0.832, 1.008, 0.972, 0.134, 0.167, -0.848, -0.446, -0.564, 0.260),
)

# PRML Table 1.1 as printed (its third column is headed "M = 6" but holds the M = 3 fit: 4 coefficients).
BISHOP_TABLE_1_1: MappingProxyType[int, tuple[float, ...]] = MappingProxyType({
    0: (0.19,),
    1: (0.82, -1.27),
    3: (0.31, 7.99, -25.43, 17.37),
    9: (0.35, 232.37, -5321.83, 48568.31, -231639.30, 640042.26, -1061800.52, 1042400.18, -557682.99,
        125201.43),
})

_CHUNK_ROWS = 1 << 15  # rows of Φ per QR step: ~3 MB at M = 9, stays in cache


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """The TSQR loop is many small LAPACK calls: with 2+ threads each call pays OpenMP barriers, and on a
    loaded machine (threads descheduled) that made fit 4x slower than one thread (measured). Restored after."""
    if device.type != "cpu" or torch.get_num_threads() == 1:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _x(x: Any, name: str, dev: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return as_float_tensor(x, name, ndim=1, dtype=dtype, device=dev)


def _powers_T(x: torch.Tensor, M: int, out: torch.Tensor) -> torch.Tensor:
    """Rows 0..M of `out` become x⁰..x^M by repeated multiplication (pow is ~10× slower at large N)."""
    out[0].fill_(1.0)
    if M >= 1:
        out[1].copy_(x)
    for j in range(2, M + 1):
        torch.mul(out[j - 1], x, out=out[j])
    return out


def design_matrix(x: Any, M: int, *, device: Any = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Φ with Φ[n, j] = xₙʲ, shape (N, M + 1)."""
    dev, dtype = resolve_device(device), check_dtype(dtype)
    xt = _x(x, "x", dev, dtype)
    M = check_int(M, "M", minimum=0)
    phi_T = torch.empty((M + 1, xt.shape[0]), dtype=dtype, device=dev)
    return _powers_T(xt, M, phi_T).T.contiguous()


def fit(x: Any, t: Any, M: int, lam: float = 0.0, *, device: Any = None,
        dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Coefficients w (M + 1,), w[j] multiplying xʲ, minimising ½Σ(y(xₙ, w) − tₙ)² + (λ/2)‖w‖².

    At λ = 0 with fewer distinct points than coefficients the problem is underdetermined and the
    minimum-norm solution is returned (as numpy.linalg.lstsq does).
    """
    dev, dtype = resolve_device(device), check_dtype(dtype)
    xt = _x(x, "x", dev, dtype)
    tt = _x(t, "t", dev, dtype)
    if tt.shape[0] != xt.shape[0]:
        raise ValueError(f"t must have the same length as x ({xt.shape[0]}), got {tt.shape[0]}")
    if xt.shape[0] == 0:
        raise ValueError("x must hold at least one point")
    M = check_int(M, "M", minimum=0)
    lam = check_float(lam, "lam", minimum=0.0)
    p = M + 1
    # Scale x into [-1, 1]: columns of comparable size for the QR; w_j is scaled back by s^j at the end.
    s = float(xt.abs().max())
    s = s if s > 0 else 1.0
    xs = xt / s
    col_scale = torch.tensor([s ** -j for j in range(p)], dtype=torch.float64, device=dev).to(dtype)

    # A chunk of the augmented matrix, built transposed (row-major (p+1, rows) = column-major (rows, p+1),
    # the layout LAPACK wants): the carried R on the left, then the new rows [Φ_chunk | t_chunk].
    R = torch.zeros((0, p + 1), dtype=dtype, device=dev)
    if lam > 0:
        # √λ·I on the unscaled w is √λ·diag(s^-j) on the scaled coefficients; it has target 0.
        R = torch.zeros((p, p + 1), dtype=dtype, device=dev)
        R[:, :p] = torch.diag(col_scale * lam ** 0.5)
    n = xs.shape[0]
    with _one_cpu_thread(dev):
        for i in range(0, n, _CHUNK_ROWS):
            j = min(i + _CHUNK_ROWS, n)
            r0 = R.shape[0]
            A_T = torch.empty((p + 1, r0 + j - i), dtype=dtype, device=dev)
            A_T[:, :r0] = R.T
            _powers_T(xs[i:j], M, A_T[:p, r0:])
            A_T[p, r0:] = tt[i:j]
            R = torch.linalg.qr(A_T.T, mode="r").R  # only R is kept: Qᵀ[Φ t] = [R z]
    R_phi, z = R[:p, :p], R[:p, p]
    diag = R_phi.diagonal().abs() if R.shape[0] >= p else torch.zeros(p, dtype=dtype, device=dev)
    if R.shape[0] < p or bool((diag <= diag.max() * p * torch.finfo(dtype).eps).any()):
        # Rank deficient (λ = 0 and too few distinct points): minimum-norm least squares via SVD.
        # Unscaled Φ: the minimum norm is that of w itself, as in numpy.linalg.lstsq.
        phi = design_matrix(xt, M, device=dev, dtype=dtype)
        return torch.linalg.lstsq(phi.cpu(), tt.cpu()[:, None], driver="gelsd").solution[:, 0].to(dev)
    w_scaled = torch.linalg.solve_triangular(R_phi, z[:, None], upper=True)[:, 0]
    return w_scaled * col_scale


def predict(w: Any, x: Any, *, device: Any = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """y(x, w) = Σⱼ wⱼ xʲ by Horner's rule, shape like x (N,)."""
    dev, dtype = resolve_device(device), check_dtype(dtype)
    wt = as_float_tensor(w, "w", ndim=1, dtype=dtype, device=dev)
    if wt.shape[0] == 0:
        raise ValueError("w must hold at least one coefficient")
    xt = _x(x, "x", dev, dtype)
    y = torch.full_like(xt, float(wt[-1]))
    for c in wt.flip(0)[1:]:
        y.mul_(xt).add_(c)
    return y


def rms_error(w: Any, x: Any, t: Any, *, device: Any = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """E_RMS = √(2E(w)/N) = √(mean((y(xₙ, w) − tₙ)²)) as a 0-d tensor (Bishop eq. 1.3)."""
    dev, dtype = resolve_device(device), check_dtype(dtype)
    tt = _x(t, "t", dev, dtype)
    y = predict(w, x, device=dev, dtype=dtype)
    if tt.shape[0] != y.shape[0]:
        raise ValueError(f"t must have the same length as x ({y.shape[0]}), got {tt.shape[0]}")
    if tt.shape[0] == 0:
        raise ValueError("x must hold at least one point")
    return torch.sqrt(torch.mean((y - tt) ** 2))


def sin_data(n: int, noise: float = 0.3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Bishop's synthetic data: x = linspace(0, 1, n), t = sin(2πx) + N(0, noise²) (numpy default_rng(seed)).

    Returns CPU float64 tensors (x, t).
    """
    n = check_int(n, "n", minimum=1)
    noise = check_float(noise, "noise", minimum=0.0)
    seed = check_int(seed, "seed", minimum=0)
    x = np.linspace(0.0, 1.0, n)
    t = np.sin(2 * np.pi * x) + np.random.default_rng(seed).normal(0.0, noise, n)
    return torch.from_numpy(x), torch.from_numpy(t)
