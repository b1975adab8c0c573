"""Data handed between the grading steps: spec -> cell jobs -> kernel outcomes -> verdicts -> result.

Every step of the pipeline speaks in these types, so the sandbox, the probes and the storage can be
developed and tested apart. Nothing here imports torch or nbgrader.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The fixed vocabulary of per-test statuses written into results and feedback.
STATUSES = (
    "passed",
    "failed",
    "error",
    "timeout",
    "memory",
    "kernel_died",
    "wrong_type",
    "no_result",
    "rejected",
    "tampered_restored",
    "invalid_notebook",
    "infrastructure",
)

# MIME type of the kernel-side probe helper's output; nothing else is read as a probe result.
PROBE_MIME = "application/vnd.course.probe+json"

CellKind = Literal["student", "probe"]
CellStatus = Literal["ok", "error", "timeout", "kernel_died", "memory", "not_run"]


class InfrastructureError(RuntimeError):
    """The grading machine failed (kernel cannot start, missing package, disk full): never the student's 0."""


class SandboxUnavailable(RuntimeError):
    """The kernel sandbox cannot be built on this machine (no bwrap, no sandbox users, not Linux)."""


@dataclass(frozen=True)
class ProbeSpec:
    """One call of a student's function on seeded inputs, compared outside the kernel."""

    kind: str  # key of the input generator and the comparator, e.g. "knn.distances"
    target: str  # the student's name in the notebook namespace, e.g. "compute_distances"
    params: dict[str, Any] = field(default_factory=dict)  # literal parameters of the generator/comparator


@dataclass(frozen=True)
class TestSpec:
    test_id: str  # the nbgrader grade_id of the test cell
    notebook: str  # notebook name without ".ipynb"
    points: float
    probes: tuple[ProbeSpec, ...]


@dataclass(frozen=True)
class CellJob:
    """A cell the runner sends to the kernel."""

    key: str  # unique within a notebook run, e.g. "cell-3" or "probe:knn_dist"
    source: str
    kind: CellKind  # probe cells are never replayed after a kernel restart
    timeout: float  # seconds for this cell, measured by the trusted runner


@dataclass
class CellOutcome:
    key: str
    status: CellStatus
    outputs: list[dict] = field(default_factory=list)  # nbformat v4 outputs, byte-capped while received
    probe_payloads: list[dict] = field(default_factory=list)  # decoded PROBE_MIME outputs, in order
    duration: float = 0.0  # runner-side monotonic seconds
    message: str = ""  # one line: the error's last line, "timed out after 10 s", "kernel died (SIGKILL)"


@dataclass
class Verdict:
    """A comparator's judgement of one probe result."""

    fraction: float  # 0.0 .. 1.0 of the probe's share of the points
    status: str  # one of STATUSES
    message: str  # short, for the student; never hidden-test source or expected values beyond a hint
