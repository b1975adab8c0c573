"""Handlers of `course sandbox setup|check`."""
from __future__ import annotations

import argparse


def setup(args: argparse.Namespace) -> int:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox.setup import check_or_raise, run_setup

    changed = run_setup(slots=args.slots)
    plural = "s" if changed != 1 else ""
    try:
        check_or_raise()
    except SandboxUnavailable as exc:
        # Not fatal for `make`: sandboxed grading refuses with this line, and sandbox tests skip.
        print(f"course sandbox setup: done ({changed} change{plural}), but the sandbox does not work here: {exc}")
        return 0
    print(f"course sandbox setup: done ({changed} change{plural}); the sandbox works")
    return 0


def check(args: argparse.Namespace) -> int:
    from autograder.sandbox.config import load
    from autograder.sandbox.setup import FIX, checks, smoke_test

    cfg = load()
    results = checks(cfg)
    bad = 0
    for c in results:
        print(f"{'ok     ' if c.ok else 'MISSING'} {c.name}: {c.detail}")
        bad += not c.ok
    if not bad:
        err = smoke_test(cfg)
        print(f"{'ok     ' if err is None else 'MISSING'} bwrap as slot user: {err or 'starts'}")
        bad += err is not None
    if not bad and getattr(args, "run", False):
        from autograder.model import CellJob
        from autograder.sandbox import open_slot

        with open_slot(sandbox=True) as slot:
            out = slot.run_notebook([CellJob("check", "import os; print(os.getuid())", "student", 60)], 120)
        ok = out[0].status == "ok"
        print(f"{'ok     ' if ok else 'MISSING'} sandboxed kernel: {out[0].status} {out[0].message}".rstrip())
        bad += not ok
    if bad:
        print(f"course sandbox check: {bad} problem(s); {FIX}")
        return 1
    print(f"course sandbox check: the sandbox works (zygote {'on' if cfg.zygote else 'off'})")
    return 0
