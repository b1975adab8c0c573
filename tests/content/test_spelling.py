"""Student-facing text of the course notebooks is spell-checked with codespell (pinned in requirements.lock).

Checked: every markdown cell, and in code cells every comment and string literal (assert messages, printed
text). Words that are right but look like typos to codespell go in wordlist.txt, one a line. To check another
assignment, add its folder under source/ to ASSIGNMENTS.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORDLIST = Path(__file__).with_name("wordlist.txt")
ASSIGNMENTS = ("assignment1", "assignment2")
# Python 3.12 splits f-strings into FSTRING_* tokens; 3.11 keeps them one STRING token
_TEXT_TOKENS = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def code_text(source: str) -> str:
    """Comments and string literals of one code cell (the parts a student reads as prose)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _TEXT_TOKENS:
                out.append(tok.string)
    except (tokenize.TokenError, SyntaxError):  # IPython syntax (magics): fall back to comment lines
        out = [line for line in source.splitlines() if line.lstrip().startswith("#")]
    return "\n".join(out)


def student_text(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    parts = [f"# cell {i}\n" + (cell.source if cell.cell_type == "markdown" else code_text(cell.source))
             for i, cell in enumerate(nb.cells)]
    return "\n".join(parts) + "\n"


def codespell(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codespell_lib", "--ignore-words", str(WORDLIST), str(folder)],
                          capture_output=True, text=True, timeout=300, check=False)


def _notebooks() -> list[Path]:
    return [p for a in ASSIGNMENTS for p in sorted((ROOT / "source" / a).glob("*.ipynb"))]


@pytest.mark.parametrize("notebook", _notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_student_facing_text_is_spelled_right(notebook: Path, tmp_path: Path) -> None:
    (tmp_path / f"{notebook.stem}.txt").write_text(student_text(notebook))
    proc = codespell(tmp_path)
    assert proc.returncode == 0, f"{notebook.relative_to(ROOT)}: misspellings (line numbers count from the " \
        f"'# cell N' markers):\n{proc.stdout}{proc.stderr}"


def test_the_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text(student_text(_notebooks()[0]) + "# cell x\nWe recieve teh data.\n")
    proc = codespell(tmp_path)
    assert proc.returncode != 0 and "recieve" in proc.stdout and "teh" in proc.stdout, proc.stdout + proc.stderr


def test_wordlist_is_short_and_clean() -> None:
    words = [w for w in WORDLIST.read_text().splitlines() if w.strip()]
    assert words == sorted(set(words)) and all(w == w.strip().lower() for w in words), \
        "wordlist.txt: one lower-case word a line, sorted, no duplicates"
    assert len(words) <= 50, "keep the project word list short: fix the text instead"
