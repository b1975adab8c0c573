"""A real nbgrader file-system exchange in a temp dir; students submit through nbgrader's ExchangeSubmit."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from exchange_student import nbgrader_submit

COURSE_ID = "dl-course"
ROOT = Path(__file__).resolve().parents[2]


def notebook(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": text}], "metadata": {},
                       "nbformat": 4, "nbformat_minor": 5})


def make_course(tmp: Path, toml_text: str | None = None) -> Path:
    root = tmp / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "course.toml").write_text(toml_text or (ROOT / "course.toml").read_text())
    return root


def release(exchange: Path, assignment: str) -> None:
    inbound = exchange / COURSE_ID / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    inbound.chmod(0o733)
    out = exchange / COURSE_ID / "outbound" / assignment
    out.mkdir(parents=True, exist_ok=True)
    (out / "knn.ipynb").write_text(notebook("released"))


def submit(exchange: Path, home: Path, student: str, assignment: str, text: str) -> Path:
    """`nbgrader submit` as that student (the ExchangeSubmit API); returns the new inbound folder."""
    return nbgrader_submit(exchange, home, COURSE_ID, student, assignment, {"knn.ipynb": notebook(text).encode()})
