"""release/ is what nbgrader generates from source/ today: regenerate into a temporary course and compare.

Compared per notebook: the kernelspec and, per cell, its type, source and nbgrader metadata (checksums
included: they are deterministic). Outputs and execution counts are ignored (release has none).
If this fails: run `make release` and commit release/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSES = [ROOT, ROOT / "tests" / "fixtures" / "course"]


def _assignments(course: Path) -> list[str]:
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _canonical(path: Path) -> dict:
    nb = nbformat.read(str(path), as_version=4)
    return {
        "kernelspec": dict(nb.metadata.get("kernelspec", {})),
        "cells": [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in nb.cells],
    }


@pytest.mark.parametrize("course", COURSES, ids=["course", "fixture"])
def test_release_is_current(course: Path, tmp_path: Path) -> None:
    work = tmp_path / "course"
    work.mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(course / "nbgrader_config.py", work / "nbgrader_config.py")
    shutil.copytree(course / "source", work / "source")
    bindir = Path(sys.executable).parent  # nbgrader shells out to alembic: the venv's bin first on PATH
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           "COURSE_DATA_DIR": str(tmp_path / "data")}
    env.pop("COURSE_DB_URL", None)
    assignments = _assignments(course)
    assert assignments, f"{course}/source has no assignments"
    for assignment in assignments:
        proc = subprocess.run(
            [str(bindir / "nbgrader"), "generate_assignment", assignment, "--force", "--log-level=WARN"],
            cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert proc.returncode == 0, f"nbgrader generate_assignment {assignment} failed:\n{proc.stderr[-3000:]}"
    stale = []
    for assignment in assignments:
        fresh_dir, checked_dir = work / "release" / assignment, course / "release" / assignment
        fresh = sorted(p.name for p in fresh_dir.glob("*.ipynb"))
        checked = sorted(p.name for p in checked_dir.glob("*.ipynb")) if checked_dir.is_dir() else []
        if fresh != checked:
            stale.append(f"{assignment}: notebooks {checked} in release/, {fresh} generated")
            continue
        for name in fresh:
            if _canonical(fresh_dir / name) != _canonical(checked_dir / name):
                stale.append(f"{assignment}/{name}")
    assert not stale, "release/ is not current for: " + ", ".join(stale) + " (run `make release` and commit)"
