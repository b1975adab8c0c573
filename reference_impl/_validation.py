"""Small validators shared by the reference modules: every bad input becomes one ValueError naming the argument."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def resolve_device(device: Any) -> torch.device:
    """`None` means CUDA when available, else CPU; anything else must name a torch device."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be None, a torch.device or a device string like 'cpu', got {device!r}") \
            from exc


def check_dtype(dtype: Any) -> torch.dtype:
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be a torch floating dtype (torch.float32 or torch.float64), got {dtype!r}")
    return dtype


def as_float_tensor(x: Any, name: str, *, ndim: int | tuple[int, ...], dtype: torch.dtype,
                    device: torch.device) -> torch.Tensor:
    """A finite floating tensor of the wanted rank on `device`; numpy arrays, tensors and lists accepted."""
    t = _to_tensor(x, name)
    if t.dtype == torch.bool or t.is_complex() or not (t.is_floating_point() or _is_int(t.dtype)):
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if t.dim() not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {want}, got shape {tuple(t.shape)}")
    t = t.to(device=device).to(dtype=dtype)  # move first: uint8 pixels cross PCIe 8x smaller
    if t.numel():
        lo, hi = torch.aminmax(t)  # one pass, no temporary; NaN propagates into both
        if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    return t


def as_labels(y: Any, name: str, *, n: int | None = None, num_classes: int | None = None,
              device: torch.device | None = None) -> torch.Tensor:
    """1-D non-negative integer labels as int64; integer-valued floats are accepted (CS231n stores them so)."""
    t = _to_tensor(y, name)
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D labels, got shape {tuple(t.shape)}")
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name} must hold integer labels, got dtype {t.dtype}")
    if t.is_floating_point():
        if t.numel() and not bool((torch.isfinite(t) & (t == torch.round(t))).all()):
            raise ValueError(f"{name} must hold integer labels, got non-integer values")
    elif not _is_int(t.dtype):
        raise ValueError(f"{name} must hold integer labels, got dtype {t.dtype}")
    t = t.to(torch.int64)
    if n is not None and t.shape[0] != n:
        raise ValueError(f"{name} must have {n} labels (one per row), got {t.shape[0]}")
    if t.numel() and int(t.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0, got {int(t.min())}")
    if num_classes is not None and t.numel() and int(t.max()) >= num_classes:
        raise ValueError(f"{name} must hold labels < {num_classes} (the number of classes), got {int(t.max())}")
    return t if device is None else t.to(device)


def check_int(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004 - project rule: ValueError
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value}")
    return value


def check_float(value: Any, name: str, *, minimum: float | None = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    return value


def _is_int(dtype: torch.dtype) -> bool:
    return dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _to_tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be an array-like of numbers: {exc}") from exc
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise ValueError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64)  # torch has no uint16/32/64 arithmetic on every build
    return torch.from_numpy(np.ascontiguousarray(arr))
