"""Decoding of untrusted probe payload items into plain numpy values, without ever unpickling.

Every `.npy` blob is checked before numpy reads it: magic, header (parsed as a literal by numpy), a plain
bool/int/uint/float dtype, no object/structured dtype, a shape whose byte size matches the bytes present and
stays under a cap. Only then `np.load(..., allow_pickle=False)` reads it. Anything else is a WrongType with a
message for the student.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from typing import Any

import numpy as np

MAX_NPY_BYTES = 16 * 2**20
MAX_ELEMENTS = 4 * 2**20

# The exact types a result may have (as recorded by course_probe); anything else is a wrong type.
ARRAY_TYPES = {"numpy.ndarray", "numpy.matrix", "torch.Tensor"}
PY_SCALAR_TYPES = {"builtins.int", "builtins.float", "builtins.bool"}
NUMPY_SCALAR_TYPES = {
    f"numpy.{n}" for n in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                           "float16", "float32", "float64")
}
SEQUENCE_TYPES = {"builtins.tuple", "builtins.list"}
_ALLOWED_DTYPE_KINDS = "biuf"


class WrongType(Exception):
    """The student's result is not of an accepted type/form; the message is for the student."""


def _short_type(name: str) -> str:
    return {"builtins.tuple": "tuple", "builtins.list": "list", "builtins.float": "float",
            "builtins.int": "int", "builtins.bool": "bool", "builtins.NoneType": "None",
            "builtins.dict": "dict", "builtins.str": "str"}.get(name, name)


def decode_npy(b64: object) -> np.ndarray:
    """A plain ndarray from base64 `.npy` bytes, refusing pickles, odd dtypes and size mismatches."""
    if not isinstance(b64, str) or len(b64) > (MAX_NPY_BYTES * 4) // 3 + 8:
        raise WrongType("the result could not be read (malformed or too large)")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise WrongType("the result could not be read (malformed data)") from None
    fp = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=1000)
        elif version in ((2, 0), (3, 0)):
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=1000)
        else:
            raise ValueError(version)
    except Exception:  # noqa: BLE001 - any header problem is the same verdict
        raise WrongType("the result could not be read (not a plain numeric array)") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.kind not in _ALLOWED_DTYPE_KINDS:
        raise WrongType(f"the result has dtype {dtype}; return numbers (float or int), not objects")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise WrongType("the result could not be read (bad shape)")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise WrongType(f"the result has shape {shape}, far larger than expected")
    if count * dtype.itemsize != len(raw) - fp.tell():
        raise WrongType("the result could not be read (data does not match its header)")
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception:  # noqa: BLE001
        raise WrongType("the result could not be read (not a plain numeric array)") from None
    if type(arr) is not np.ndarray:  # np.load of a non-.npy (e.g. .npz) gives other objects
        raise WrongType("the result could not be read (not a single array)")
    return arr


def _item_type(item: object) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise WrongType("the result could not be read (malformed payload)")
    return item["type"]


def as_array(item: object, what: str) -> tuple[np.ndarray, str]:
    """(array, type name) of an array result (ndarray, np.matrix or exact torch.Tensor)."""
    name = _item_type(item)
    if name not in ARRAY_TYPES:
        raise WrongType(f"{what} is a {_short_type(name)}; return a numpy array (or a torch tensor)")
    if "npy" not in item:  # type: ignore[operator]
        dtype = item.get("dtype")  # type: ignore[attr-defined]
        if dtype:
            raise WrongType(f"{what} has dtype {dtype}; return a float or int array")
        raise WrongType(f"{what} ({_short_type(name)}) could not be read")
    arr = decode_npy(item["npy"])  # type: ignore[index]
    return np.asarray(arr), name


def as_scalar(item: object, what: str) -> tuple[float, np.dtype]:
    """A number: Python/numpy scalar, or a 0-d / single-element array or tensor (a `.item()` away)."""
    name = _item_type(item)
    if name in PY_SCALAR_TYPES or name in NUMPY_SCALAR_TYPES or name in ARRAY_TYPES:
        if "npy" not in item:  # type: ignore[operator]
            raise WrongType(f"{what} ({_short_type(name)}) could not be read; return a float")
        arr = decode_npy(item["npy"])  # type: ignore[index]
        if arr.size != 1:
            raise WrongType(f"{what} has shape {arr.shape}; return a single number")
        if arr.dtype.kind == "b" and name != "builtins.bool":
            raise WrongType(f"{what} is a boolean; return a number")
        dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
        return float(arr.reshape(())), dtype
    raise WrongType(f"{what} is a {_short_type(name)}; return a number (a float)")


def as_sequence(item: object, n: int, what: str) -> list[Any]:
    """The items of a returned tuple/list of length `n`."""
    name = _item_type(item)
    if name not in SEQUENCE_TYPES or not isinstance(item.get("items"), list):  # type: ignore[attr-defined]
        raise WrongType(f"{what} is a {_short_type(name)}; return a tuple of {n} values")
    items = item["items"]  # type: ignore[index]
    if len(items) != n:
        raise WrongType(f"{what} has {len(items)} values; return a tuple of {n}")
    return items
