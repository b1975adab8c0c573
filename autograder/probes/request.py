"""Trusted side of probes: the source of the cell sent to the kernel, and reading its payloads back.

A probe cell is generated code, never instructor text: the parameters are written with `repr` of checked
literals only, so nothing an instructor (or a tampered submission) wrote reaches the kernel as code.
"""
from __future__ import annotations

import math
import re
from typing import Any

from autograder.model import PROBE_MIME, CellJob, ProbeSpec, TestSpec

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEST_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def check_literal(value: Any, where: str) -> None:
    """Raise ValueError unless `value` is a plain literal (None/bool/int/finite float/str, lists/tuples/dicts)."""
    if value is None or type(value) in (bool, int, str):
        return
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return
    if type(value) in (list, tuple):
        for v in value:
            check_literal(v, where)
        return
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise ValueError(f"{where}: dict keys must be strings, not {k!r}")
            check_literal(v, where)
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a literal; use numbers, strings, lists or dicts")


def probe_cell_source(test_id: str, index: int, probe: ProbeSpec, seed: int) -> str:
    """Code of the cell that runs `probe` (the `index`-th of test `test_id`) in the student's kernel."""
    if not isinstance(test_id, str) or not _TEST_ID.match(test_id):
        raise ValueError(f"test id {test_id!r} must be a grade_id of letters, digits, '_', '-', '.'")
    if not _IDENT.match(probe.target):
        raise ValueError(f"probe target {probe.target!r} must be a Python identifier (the student's name)")
    if type(index) is not int or index < 0:
        raise ValueError(f"probe index must be a non-negative int, not {index!r}")
    if type(seed) is not int or seed < 0:
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    check_literal(probe.kind, "probe kind")
    params = dict(probe.params)
    check_literal(params, f"probe {probe.kind} parameters")
    return (
        "import course_probe as _course_probe\n"
        f"_course_probe.run({test_id!r}, {index!r}, {probe.kind!r}, {probe.target!r}, {seed!r}, {params!r})"
    )


def probe_jobs(test: TestSpec, seed: int, timeout: float) -> list[CellJob]:
    """The cells that replace graded test `test` at grading time, one per probe, keys "probe:<test_id>:<i>"."""
    return [CellJob(key=f"probe:{test.test_id}:{i}", source=probe_cell_source(test.test_id, i, p, seed),
                    kind="probe", timeout=timeout) for i, p in enumerate(test.probes)]


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
