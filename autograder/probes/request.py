"""Trusted side of a probe cell: the request sent to the kernel, and reading the kernel's outputs back.

A request carries the inputs as data (`.npy` bytes for arrays), only those the call needs, never the seed
and never a held-out value; a fresh random nonce binds the result to it. The cell is generated code:
the request is one JSON string literal, so nothing an instructor or a submission wrote reaches the kernel
as code.
"""
from __future__ import annotations

import base64
import io
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.model import PROBE_MIME, CellJob, ProbeSpec, TestSpec
from autograder.probes.inputs import make_inputs, resolve_params
from autograder.probes.registry import KINDS

REQUEST_VERSION = 2
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEST_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _compact(value: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The array in the smallest integer dtype that holds it exactly (pixels: uint8), and the dtype to restore."""
    if value.dtype.kind != "f" or not value.size or not np.all(np.isfinite(value)) \
            or not np.array_equal(value, np.round(value)):
        return value, None
    for small in (np.uint8, np.int16, np.int32):
        info = np.iinfo(small)
        if value.min() >= info.min and value.max() <= info.max:
            return value.astype(small), value.dtype.str
    return value, None


def _encode_input(value: Any) -> Any:
    """An input as JSON data: arrays as base64 `.npy` (no pickle; integer-valued floats sent in the smallest
    integer dtype, compressed when that pays, so a batch of images stays a small message), numbers and lists
    as they are."""
    if isinstance(value, np.ndarray):
        small, restore = _compact(np.ascontiguousarray(value))
        buf = io.BytesIO()
        np.save(buf, small, allow_pickle=False)
        raw = buf.getvalue()
        # small integers shrink; real-valued data does not (its mantissas are noise), and compressing a
        # 3 MB probe input only to throw the result away cost 80 ms of the grader's CPU per submission
        packed = zlib.compress(raw, 1) if small.dtype.kind in "biu" else raw
        item: dict[str, Any] = ({"npy": base64.b64encode(packed).decode("ascii"), "zlib": True}
                                if len(packed) < 0.9 * len(raw) else {"npy": base64.b64encode(raw).decode("ascii")})
        if restore is not None:
            item["as"] = restore
        return item
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode_input(v) for v in value]
    if value is None or type(value) in (bool, int, float, str):
        return value
    raise TypeError(f"probe input of type {type(value).__name__} cannot be sent to the kernel")


@dataclass(frozen=True)
class ProbeRequest:
    """The `index`-th probe of test `test_id`, for one submission's seed; the nonce is fresh per request."""

    test_id: str
    index: int
    probe: ProbeSpec
    seed: int
    nonce: str

    @property
    def key(self) -> str:
        return f"probe:{self.test_id}:{self.index}"

    def message(self) -> dict[str, Any]:
        kind = KINDS[self.probe.kind]
        params = resolve_params(self.probe.kind, self.probe.params)
        call = kind.call
        # value kinds send nothing: the student's numbers are in their notebook, the answer is a variable
        inputs = make_inputs(self.probe.kind, self.seed, self.probe.params) if call.kernel_inputs() else {}
        return {
            "v": REQUEST_VERSION, "nonce": self.nonce, "target": self.probe.target, "style": call.style,
            "args": list(call.args), "train_args": list(call.train_args), "train_kwargs": list(call.train_kwargs),
            "predict_kwargs": list(call.predict_kwargs), "seed_rngs": call.seeds_numpy, "torch": params["torch"],
            "inputs": {name: _encode_input(inputs[name]) for name in call.kernel_inputs()},
        }

    def cell_source(self) -> str:
        text = json.dumps(self.message(), separators=(",", ":"), allow_nan=False)
        return f"import course_probe as _course_probe\n_course_probe.run({text!r})"


def new_request(test_id: str, index: int, probe: ProbeSpec, seed: int) -> ProbeRequest:
    if not isinstance(test_id, str) or not _TEST_ID.match(test_id):
        raise ValueError(f"test id {test_id!r} must be a grade_id of letters, digits, '_', '-', '.'")
    if not _IDENT.match(probe.target):
        raise ValueError(f"probe target {probe.target!r} must be a Python identifier (the student's name)")
    if type(index) is not int or index < 0:
        raise ValueError(f"probe index must be a non-negative int, not {index!r}")
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    return ProbeRequest(test_id, index, probe, seed, secrets.token_hex(16))


def probe_requests(test: TestSpec, seed: int) -> list[ProbeRequest]:
    return [new_request(test.test_id, i, p, seed) for i, p in enumerate(test.probes)]


def probe_jobs(requests: list[ProbeRequest], timeout: float) -> list[CellJob]:
    """The cells that replace a graded test at grading time, one per probe, keys "probe:<test_id>:<i>"."""
    return [CellJob(key=r.key, source=r.cell_source(), kind="probe", timeout=timeout) for r in requests]


def payloads_from_outputs(outputs: list[dict]) -> list[dict]:
    """The PROBE_MIME payloads among nbformat v4 outputs, in order (anything else is ignored)."""
    found = []
    for out in outputs:
        if not isinstance(out, dict) or out.get("output_type") not in ("display_data", "execute_result"):
            continue
        data = out.get("data")
        if isinstance(data, dict) and isinstance(data.get(PROBE_MIME), dict):
            found.append(data[PROBE_MIME])
    return found
