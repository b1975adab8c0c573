"""A private copy of the fixture course with its own data directory (imported by tests and conftest).

A module of its own: several folders have a conftest.py, so `from conftest import ...` is ambiguous."""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE_COURSE = REPO / "tests" / "fixtures" / "course"
# attack generators and the grading harness: `import attack_cases, harness`
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "attacks"))


@contextmanager
def course_env(tmp: Path, db_url: str | None = None) -> Iterator[Path]:
    """Copy the fixture course into `tmp`, point COURSE_ROOT/COURSE_DATA_DIR (and COURSE_DB_URL) at it."""
    root = tmp / "course"
    shutil.copytree(FIXTURE_COURSE, root, ignore=shutil.ignore_patterns(".course-data", "__pycache__"))
    data = tmp / "data"
    data.mkdir()
    saved = {k: os.environ.get(k) for k in ("COURSE_ROOT", "COURSE_DATA_DIR", "COURSE_DB_URL")}
    os.environ["COURSE_ROOT"] = str(root)
    os.environ["COURSE_DATA_DIR"] = str(data)
    if db_url:
        os.environ["COURSE_DB_URL"] = db_url
    else:
        os.environ.pop("COURSE_DB_URL", None)
    try:
        yield root
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
