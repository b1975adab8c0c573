"""The `run` fixture: judge a Python function the way a probe would (see probe_helpers.py)."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from probe_helpers import verdict_for

from autograder.model import Verdict


@pytest.fixture
def run() -> Callable[..., Verdict]:
    return verdict_for
