"""The result of grading one submission, as stored in the DB and written to <data>/results/<a>/<student>.json.

Everything here is plain data built by the trusted grader: per-test scores and statuses from the fixed
vocabulary (model.STATUSES), short messages from the comparators, the seeds and the suite hash that make a
result reproducible, and whether the sandbox was on.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.model import STATUSES

RESULT_VERSION = 1
# Fields that differ between two gradings of the same inputs (timing, host); ignored by `same_grades`.
VOLATILE = ("duration", "graded_at", "wall_time", "host")


@dataclass
class TestRecord:
    test_id: str
    notebook: str
    score: float
    max_score: float
    status: str  # one of model.STATUSES
    message: str
    duration: float
    seed: int
    suite_hash: str
    verdict: str = ""  # the comparator's own status when `status` is tampered_restored

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not in the fixed vocabulary {STATUSES}")


@dataclass
class CellRecord:
    """One of the student's own cells as run (for feedback): source and capped outputs."""

    notebook: str
    key: str
    source: str
    status: str
    message: str
    outputs: list[dict] = field(default_factory=list)
    duration: float = 0.0  # runner-side seconds
    origin: str = ""  # grade_id of the canonical cell it fills, or "extra" (the student's own cell)


@dataclass
class SubmissionResult:
    assignment: str
    student: str
    submission_hash: str
    suite_hash: str
    base_seed: int
    sandbox: bool
    tests: list[TestRecord]
    notes: list[str] = field(default_factory=list)  # per-submission: restored cells, repaired files
    cells: list[CellRecord] = field(default_factory=list)
    wall_time: float = 0.0
    host: str = ""
    graded_at: str = ""
    version: int = RESULT_VERSION

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        data["max_score"] = self.max_score
        data["no_sandbox"] = not self.sandbox
        return data

    def scores(self) -> dict[tuple[str, str], float]:
        return {(t.notebook, t.test_id): t.score for t in self.tests}


def dumps(result: SubmissionResult) -> str:
    return json.dumps(result.to_json(), sort_keys=True, ensure_ascii=True, indent=1)


def without_volatile(data: Any) -> Any:
    """`data` with timing/host fields removed (recursively), for comparing two gradings."""
    if isinstance(data, dict):
        return {k: without_volatile(v) for k, v in data.items() if k not in VOLATILE}
    if isinstance(data, list):
        return [without_volatile(v) for v in data]
    return data


def write_atomic(path: Path, text: str, durable: bool = True) -> None:
    """Write via a temp file in the same folder + fsync + rename: readers see the old or the new file.
    durable=False: no fsync, for files rebuilt from the database when a crash leaves them behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def result_path(results_dir: Path, assignment: str, student: str) -> Path:
    return Path(results_dir) / assignment / f"{student}.json"
