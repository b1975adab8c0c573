"""Helpers: run a Python function as the kernel would (a real probe request through course_probe.build_payload)
and judge the payload with the request's nonce."""
from __future__ import annotations

from typing import Any

from autograder.kernel_side import course_probe
from autograder.model import ProbeSpec, Verdict
from autograder.probes import judge, new_request

SEEDS = (0, 1, 7)


def payload_for(fn: Any, kind: str, params: dict | None = None, seed: int = 0) -> dict:
    request = new_request("t", 0, ProbeSpec(kind, "f", dict(params or {})), seed)
    payload = course_probe.build_payload(request.message(), {"f": fn})
    return payload


def verdict_for(fn: Any, kind: str, params: dict | None = None, seed: int = 0) -> Verdict:
    params = dict(params or {})
    payload = payload_for(fn, kind, params, seed)
    return judge(ProbeSpec(kind, "f", params), seed, payload, payload["nonce"])
