"""Small helpers shared by the sandbox tests."""
from __future__ import annotations

from autograder.model import CellJob


def cell(key: str, source: str, kind: str = "student", timeout: float = 30.0) -> CellJob:
    return CellJob(key=key, source=source, kind=kind, timeout=timeout)


def stdout(outcome) -> str:
    return "".join(o.get("text", "") for o in outcome.outputs if o.get("output_type") == "stream")
