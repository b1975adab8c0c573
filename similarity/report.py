"""Outputs of a similarity run: the ranked table (rich), one self-contained HTML page (jinja2, inline SVG
histograms), and a small JSON summary that `course report` lists."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course_svg import histogram_svg
from similarity import detect
from similarity.pipeline import Pair, Result

if TYPE_CHECKING:
    from rich.console import JustifyMethod

SUMMARY_VERSION = 1


def print_table(result: Result, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{result.assignment}: pairs with similarity >= {result.threshold:.2f}")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"), ("notebook", "left"), ("student", "left"), ("student", "left"), ("similarity", "right"),
        ("shared", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for rank, p in enumerate(result.pairs, 1):
        table.add_row(str(rank), p.notebook, p.a, p.b, f"{p.similarity:.3f}", str(p.shared))
    console.print(table)
    for m in result.malformed:
        console.print(f"skipped {m.student}/{result.assignment}/{m.notebook}.ipynb: {m.reason}", markup=False)


def _histogram(values: np.ndarray, title: str, threshold: float) -> str:
    # log counts: the few copies are the outliers next to thousands of ordinary pairs
    return histogram_svg(values, title=title, xlabel="similarity", ylabel="pairs (log scale)", bins=50,
                         value_range=(0, 1), figsize=(4.8, 2.8), mark=threshold, log=True)


def _side(student: str, cells: tuple[str, ...], hits: detect.Passage) -> dict:
    shown = []
    for c, src in enumerate(cells):
        lines = hits.lines.get(c, set())
        shown.append([(n, text, n in lines) for n, text in enumerate(src.splitlines(), 1)])
    return {"student": student, "cells": shown}


def _pair_view(result: Result, rank: int, p: Pair) -> dict:
    view = {"rank": rank, "notebook": p.notebook, "a": p.a, "b": p.b, "similarity": p.similarity,
            "shared": p.shared, "sides": None}
    if p.detail:
        docs = next(nb.docs for nb in result.notebooks if nb.name == p.notebook)
        view["sides"] = [_side(p.a, docs[p.a].cells, p.detail[0]), _side(p.b, docs[p.b].cells, p.detail[1])]
    return view


def build_html(result: Result) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("similarity", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    notebooks = [{"name": nb.name, "docs": len(nb.docs), "pairs": int(nb.similarities.size),
                  "common": nb.common_removed, "nothing_own": nb.nothing_own,
                  "svg": _histogram(nb.similarities, f"{nb.name}.ipynb: all pairs", result.threshold)}
                 for nb in result.notebooks]
    return env.get_template("similarity.html.j2").render(
        assignment=result.assignment, generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        students=result.students, pairs_compared=result.pairs_compared, threshold=result.threshold,
        k=detect.K, window=detect.WINDOW, notebooks=notebooks,
        pairs=[_pair_view(result, r, p) for r, p in enumerate(result.pairs, 1)], malformed=result.malformed)


def summary(result: Result, html_path: Path) -> dict:
    """What `course report` shows: the flagged pairs and where the full report is."""
    return {"version": SUMMARY_VERSION, "assignment": result.assignment, "threshold": result.threshold,
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "report": str(html_path.resolve()), "students": result.students,
            "pairs_compared": result.pairs_compared,
            "pairs": [{"notebook": p.notebook, "a": p.a, "b": p.b, "similarity": round(p.similarity, 4)}
                      for p in result.pairs],
            "malformed": [{"student": m.student, "notebook": m.notebook, "reason": m.reason}
                          for m in result.malformed]}


def _write(path: Path, text: str) -> None:
    """Atomically, readable by the instructor only (it names students)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    tmp.replace(path)


def write(result: Result, html_path: Path, summary_path: Path) -> None:
    _write(html_path, build_html(result))
    summary_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(summary_path, json.dumps(summary(result, html_path), indent=1))
