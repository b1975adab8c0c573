"""Shared, generic fixtures: a private copy of the fixture course with its own data directory."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixture_course import course_env


@pytest.fixture
def fixture_course(tmp_path: Path) -> Iterator[Path]:
    with course_env(tmp_path) as root:
        yield root
