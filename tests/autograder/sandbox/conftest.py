"""Shared helpers for the sandbox tests: one no-sandbox slot and (when available) sandboxed slots."""
from __future__ import annotations

import pytest

from autograder.model import SandboxUnavailable


@pytest.fixture(scope="module")
def local_slot():
    from autograder.sandbox import open_slot

    with open_slot(sandbox=False) as slot:
        yield slot


def _sandbox_or_skip() -> None:
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")


@pytest.fixture(scope="module")
def sbx_slot():
    _sandbox_or_skip()
    from autograder.sandbox import open_slot

    with open_slot(sandbox=True) as slot:
        yield slot
