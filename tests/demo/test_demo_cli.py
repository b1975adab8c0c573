"""`course demo`'s quick paths: the reference tables, and a --dir that is not the demo's is refused untouched."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _course(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def test_reference_prints_the_tables():
    proc = _course("demo", "--reference")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Bishop PRML Table 1.1" in proc.stdout and "kNN: 5-fold cross-validation" in proc.stdout


def test_a_directory_the_demo_did_not_make_is_refused_and_kept(tmp_path: Path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("keep me")
    proc = _course("demo", "--dir", str(mine))
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and str(mine) in lines[0] and "--dir" in lines[0], proc.stdout
    assert [p.name for p in mine.iterdir()] == ["chapter1.tex"]
