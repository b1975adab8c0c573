"""Small helpers shared by the sandbox tests."""
from __future__ import annotations

import pytest

from autograder.model import CellJob, SandboxUnavailable


def cell(key: str, source: str, kind: str = "student", timeout: float = 30.0) -> CellJob:
    return CellJob(key=key, source=source, kind=kind, timeout=timeout)


def stdout(outcome) -> str:
    return "".join(o.get("text", "") for o in outcome.outputs if o.get("output_type") == "stream")


def sandbox_or_skip() -> None:
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")


def assert_valid_notebook(outcomes) -> None:
    """The outcomes' outputs make a valid nbformat v4 notebook that survives a write/read round trip."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for o in outcomes:
        c = nbformat.v4.new_code_cell(source="")
        c.outputs = [nbformat.from_dict(x) for x in o.outputs]
        nb.cells.append(c)
    nbformat.validate(nb)
    nbformat.reads(nbformat.writes(nb), as_version=4)


def run_measured(sandboxed: bool, cells: list[tuple[str, str, float]], budget: float):
    """Run a notebook in a fresh runner process (rss_runner.py): (peak RSS growth in KiB, limits, outcomes)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from autograder.model import CellOutcome
    from autograder.sandbox import Limits

    spec = json.dumps({"sandbox": sandboxed, "budget": budget, "cells": cells})
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("rss_runner.py"))], input=spec,
                          capture_output=True, text=True, timeout=budget + 300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return got["grown_kib"], Limits(**got["limits"]), [CellOutcome(**o) for o in got["outcomes"]]


def wait_for(predicate, timeout: float = 120.0, what: str = "the event") -> None:
    """Poll `predicate` until it holds (an event the test caused); fail after a generous timeout."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.02)


def live_processes_of_uid(uid: int, most: int, limit_s: float = 120.0) -> list[int]:
    """The processes of `uid` that are not zombies, once there are at most `most` of them (or `limit_s` has
    passed). A killed process leaves its cgroup at once, but stays in /proc until its new parent (the sandbox's
    init) reaps it, which a loaded machine can delay: only a process still alive after that counts."""
    import time

    from autograder.sandbox import procs

    def live() -> list[int]:
        return [pid for pid in procs.pids_of_uid(uid) if not procs.is_dead(pid)]

    deadline = time.monotonic() + limit_s
    while len(left := live()) > most and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
