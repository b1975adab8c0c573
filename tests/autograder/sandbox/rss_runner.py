"""Run one notebook on a fresh slot in a fresh process; print its outcomes and the runner's RSS growth.

ru_maxrss is a lifetime peak: read in the test process it holds whatever earlier tests allocated, so a
bound on its growth could not fail. Here the process is new, is warmed up by one notebook, and its peak
(VmHWM) is then reset to the current RSS before the measured notebook runs.

stdin: {"sandbox": bool, "budget": float, "cells": [[key, source, timeout], ...]}
stdout: {"grown_kib": int, "limits": {...}, "outcomes": [CellOutcome as a dict, ...]}
"""
from __future__ import annotations

import dataclasses
import json
import sys


def _hwm_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> int:
    from autograder.model import CellJob
    from autograder.sandbox import open_slot

    spec = json.loads(sys.stdin.read())
    with open_slot(sandbox=spec["sandbox"]) as slot:
        slot.run_notebook([CellJob("warm", "print(1)", "student", 60.0)], budget=120.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # peak RSS := current RSS
        before = _hwm_kib()
        cells = [CellJob(key, src, "student", float(timeout)) for key, src, timeout in spec["cells"]]
        out = slot.run_notebook(cells, budget=float(spec["budget"]))
        grown = _hwm_kib() - before
        limits = dataclasses.asdict(slot.backend.limits)
    print(json.dumps({"grown_kib": grown, "limits": limits, "outcomes": [dataclasses.asdict(o) for o in out]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
