"""`course autograde` and `course feedback`: argparse registration only (handlers in autograder.commands)."""
from __future__ import annotations

import argparse

H = "autograder.commands:"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, not {text}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive seconds, not {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "autograde", help="grade collected submissions: sandboxed kernels, probes judged outside, gradebook",
        description="Grades submitted/<student>/ASSIGNMENT/*.ipynb. Test cells are rebuilt from source/; "
                    "a re-run grades only what changed (submission, test suite or seed).")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=[], metavar="ID",
                   help="grade only this student (repeatable)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="submissions graded at once, each on a sandbox slot of its own (default: number of cores)")
    p.add_argument("--executor", default="local", metavar="URL",
                   help="'local' (default) or dask://HOST:PORT for a Dask distributed scheduler")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run kernels without the sandbox (written into every result)")
    p.add_argument("--gpu", action="store_true",
                   help='give student kernels a GPU (also: {"course": {"gpu": true}} in a source notebook\'s metadata)')
    p.add_argument("--dry-run", action="store_true",
                   help="grade, then list whose scores would change (old -> new); write nothing")
    p.add_argument("--force", action="store_true",
                   help="grade again even when submission, suite and seed are unchanged (events only on change)")
    p.add_argument("--seed", type=_seed, default=0, help="base seed of the hidden inputs (default 0)")
    p.add_argument("--cell-timeout", type=_seconds, default=60.0, help="seconds per cell (default 60)")
    p.add_argument("--budget", type=_seconds, default=600.0,
                   help="wall-clock seconds per notebook (default 600)")
    p.set_defaults(handler=H + "autograde")

    p = subparsers.add_parser("feedback", help="write per-student HTML feedback from the autograder's results",
                              description="Verdict messages and the student's own cells; never hidden tests.")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", default=[], metavar="ID", help="only this student (repeatable)")
    p.add_argument("--release", action="store_true",
                   help="also put it where the student's Fetch Feedback (nbgrader fetch_feedback) finds it")
    p.set_defaults(handler=H + "feedback")

    p = subparsers.add_parser("doctor", help="report every course path whose owner or mode is wrong (--fix repairs)",
                              description="Data dir, gradebook, submissions, feedback, exchange and hidden tests: "
                                          "one line per wrong path, with the fix; exit status 1 if any is left.")
    p.add_argument("--fix", action="store_true", help="chmod/chown what is wrong, then check again")
    p.add_argument("--owner", metavar="USER", help="the instructor's account (default: owner of the data dir)")
    p.set_defaults(handler="autograder.doctor:run")
