"""Read an untrusted notebook file into plain cells, or say in one line why it is not a notebook (A22).

Deliberately not nbformat.read: a submission is checked for size before parsing (job.py), then only the
fields the grader needs are read, each checked for type. A UTF-8 byte-order mark is repaired (stripped).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from autograder.pipeline.job import MAX_CELLS


class InvalidNotebook(ValueError):
    pass


@dataclass(frozen=True)
class Cell:
    index: int
    cell_type: str
    source: str
    nbgrader: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def grade_id(self) -> str | None:
        gid = self.nbgrader.get("grade_id")
        return gid if isinstance(gid, str) else None


@dataclass(frozen=True)
class ParsedNotebook:
    cells: tuple[Cell, ...]
    kernel_name: str | None
    repaired: tuple[str, ...] = ()


def _source(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise InvalidNotebook(f"{where}: 'source' must be text or a list of text")


def parse_notebook(data: bytes) -> ParsedNotebook:
    repaired: list[str] = []
    if not data:
        raise InvalidNotebook("the file is empty (0 bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        repaired.append("UTF-8 byte-order mark removed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotebook(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNotebook(f"not valid JSON ({exc.msg} at line {exc.lineno}); the file may be truncated") \
            from None
    except RecursionError:
        raise InvalidNotebook("not a notebook: JSON nested too deeply") from None
    if not isinstance(nb, dict):
        raise InvalidNotebook("not a notebook: the JSON is not an object")
    major = nb.get("nbformat")
    if major != 4:
        raise InvalidNotebook(f"nbformat {major!r} is not supported; save the notebook with Jupyter 4+ (nbformat 4)")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise InvalidNotebook("not a notebook: no list of cells")
    if len(cells) > MAX_CELLS:
        raise InvalidNotebook(f"{len(cells)} cells, over the limit of {MAX_CELLS}")
    out = []
    for i, raw in enumerate(cells):
        where = f"cell {i}"
        if not isinstance(raw, dict):
            raise InvalidNotebook(f"{where} is not an object")
        ctype = raw.get("cell_type")
        if ctype not in ("code", "markdown", "raw"):
            raise InvalidNotebook(f"{where}: unknown cell_type {str(ctype)[:20]!r}")
        meta = raw.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        nbg = meta.get("nbgrader")
        tags = meta.get("tags")
        tags = tuple(t for t in tags if isinstance(t, str))[:16] if isinstance(tags, list) else ()
        out.append(Cell(i, ctype, _source(raw.get("source", ""), where), nbg if isinstance(nbg, dict) else {},
                        tags))
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    ks = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
    kname = ks.get("name") if isinstance(ks.get("name"), str) else None
    return ParsedNotebook(tuple(out), kname, tuple(repaired))
