"""Shared helpers for the sandbox tests: one no-sandbox slot and (when available) sandboxed slots."""
from __future__ import annotations

import pytest
from sandbox_helpers import sandbox_or_skip


@pytest.fixture(scope="module")
def local_slot():
    from autograder.sandbox import open_slot

    with open_slot(sandbox=False) as slot:
        yield slot


@pytest.fixture(scope="module")
def sbx_slot():
    sandbox_or_skip()
    from autograder.sandbox import open_slot

    with open_slot(sandbox=True) as slot:
        yield slot
