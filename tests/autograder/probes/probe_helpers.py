"""Helpers: run a Python function as the kernel would (course_probe.build_payload) and judge the payload."""
from __future__ import annotations

from typing import Any

from autograder.comparators import judge
from autograder.kernel_side import course_probe
from autograder.model import ProbeSpec, Verdict

SEEDS = (0, 1, 7)


def payload_for(fn: Any, kind: str, params: dict | None = None, seed: int = 0) -> dict:
    return course_probe.build_payload("t", 0, kind, "f", seed, dict(params or {}), {"f": fn})


def verdict_for(fn: Any, kind: str, params: dict | None = None, seed: int = 0) -> Verdict:
    params = dict(params or {})
    return judge(ProbeSpec(kind, "f", params), seed, payload_for(fn, kind, params, seed))
