"""Small helpers shared by the sandbox tests."""
from __future__ import annotations

import pytest

from autograder.model import CellJob, SandboxUnavailable


def cell(key: str, source: str, kind: str = "student", timeout: float = 30.0) -> CellJob:
    return CellJob(key=key, source=source, kind=kind, timeout=timeout)


def stdout(outcome) -> str:
    return "".join(o.get("text", "") for o in outcome.outputs if o.get("output_type") == "stream")


def sandbox_or_skip() -> None:
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")


def assert_valid_notebook(outcomes) -> None:
    """The outcomes' outputs make a valid nbformat v4 notebook that survives a write/read round trip."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for o in outcomes:
        c = nbformat.v4.new_code_cell(source="")
        c.outputs = [nbformat.from_dict(x) for x in o.outputs]
        nb.cells.append(c)
    nbformat.validate(nb)
    nbformat.reads(nbformat.writes(nb), as_version=4)
