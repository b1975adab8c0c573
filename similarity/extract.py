"""Read notebooks: the code a student wrote (solution cells) and the code the instructor gave (release).

A notebook is read as plain JSON (nbformat's schema validation costs more than everything else here for
hundreds of submissions); anything that is not a notebook's shape is reported as Malformed, never raised.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_errors import UserError
from similarity.detect import winnowed
from similarity.normalise import aliases, normalise_with_spans


class NotebookError(UserError):
    """A file that is not a Jupyter notebook (fatal only for the released notebooks)."""


@dataclass(frozen=True)
class Doc:
    """One student's code in one notebook: solution cells, their normalised tokens as (token, cell, line)."""

    student: str
    notebook: str
    cells: tuple[str, ...]
    tokens: tuple[tuple[str, int, int], ...]
    hashes: np.ndarray  # winnowed k-gram fingerprints ...
    positions: np.ndarray  # ... and the token index where each starts
    spans: tuple[dict[int, int], ...] = ()  # per cell: first -> last line of statements on several lines


@dataclass(frozen=True)
class Malformed:
    student: str
    notebook: str
    reason: str


def _source(cell: dict, where: str) -> str:
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise NotebookError(f"{where}: a cell's 'source' is neither text nor a list of lines")


def read_cells(path: Path) -> list[tuple[str, bool]]:
    """(source, is solution cell) of each code cell; NotebookError when the file is not a notebook."""
    try:
        nb = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path}: not a readable notebook ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path}: no list of 'cells' (not a Jupyter notebook)")
    out = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata", {}), dict):
            raise NotebookError(f"{path}: cell {i} is not a JSON object with a metadata object")
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        out.append((_source(cell, f"{path} cell {i}"), isinstance(meta, dict) and meta.get("solution") is True))
    return out


def released(release_dir: Path) -> dict[str, list[tuple[str, bool]]]:
    """Notebook name (no .ipynb) -> the code cells the instructor released (the boilerplate), solution flag."""
    return {path.stem: read_cells(path) for path in sorted(release_dir.glob("*.ipynb"))}


def load_doc(student: str, notebook: str, path: Path, base_alias: dict[str, str]) -> Doc | Malformed:
    """The student's solution cells, normalised. Cells whose nbgrader metadata was removed are all read."""
    try:
        cells = read_cells(path)
    except NotebookError as exc:
        return Malformed(student, notebook, str(exc).removeprefix(f"{path}: "))
    sources = [src for src, sol in cells if sol] or [src for src, _ in cells]
    alias = {**base_alias, **aliases(sources)}
    tokens: list[tuple[str, int, int]] = []
    hashes, positions, spans = [], [], []
    for c, src in enumerate(sources):  # k-grams never span two cells: the order of cells is free
        cell, span = normalise_with_spans(src, alias)
        spans.append(span)
        h, pos = winnowed([t for t, _ in cell])
        hashes.append(h)
        positions.append(pos + len(tokens))
        tokens += [(tok, c, line) for tok, line in cell]
    return Doc(student, notebook, tuple(sources), tuple(tokens), np.concatenate([np.zeros(0, np.int64), *hashes]),
               np.concatenate([np.zeros(0, np.int64), *positions]), tuple(spans))


def load_many(tasks: list[tuple[str, str, str]], base_alias: dict[str, str]) -> list[Doc | Malformed]:
    """A worker's batch: (student, notebook, path) -> Doc or Malformed."""
    return [load_doc(s, nb, Path(p), base_alias) for s, nb, p in tasks]
