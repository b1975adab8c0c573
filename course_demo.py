"""`course demo`: a whole term of the course in a scratch directory (demo.term); `--reference` prints the
reference implementations' tables instead (Bishop's Table 1.1, kNN cross-validation)."""
from __future__ import annotations

import argparse
import math
import os


def _cohort_size(text: str) -> int:
    from demo.cohort import SMALLEST

    if not text.isdigit() or not SMALLEST <= int(text) <= 99:
        raise argparse.ArgumentTypeError(f"must be a whole number from {SMALLEST} to 99, not {text}")
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run a whole term with 30 simulated students in a scratch course (--reference: the tables)",
        description="Release, hand in through the exchange as 30 student accounts, run a speed test, collect, "
                    "grade, feedback, manual items, export, explain, report, similarity; then a summary.",
    )
    p.add_argument("--reference", action="store_true",
                   help="print Bishop's Table 1.1 and the kNN cross-validation table instead")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data of --reference (default 0)")
    p.add_argument("--dir", default="/tmp/course-demo",
                   help="scratch directory, emptied and rebuilt by every run (default /tmp/course-demo)")
    p.add_argument("--window", type=int, default=60, help="speed test window in seconds (default 60)")
    p.add_argument("--students", type=_cohort_size, default=30, metavar="N",
                   help="size of the class (default 30, at least 21: the 14 planted cases, correct work and "
                        "enough hand-ins for the similarity check)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    p.add_argument("--no-sandbox", action="store_true", help="grade without the kernel sandbox")
    p.set_defaults(handler="course_demo:run")


def _print_table(title: str, frame) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.6g}"  # NaN: no coefficient of that order
        return str(value)

    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right", no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(cell(v) for v in row))
    Console(width=160).print(table)


def _reference(seed: int) -> int:
    from reference_impl import tables

    _print_table("Bishop PRML Table 1.1 (reconstructed Fig. 1.2 data)", tables.bishop_table_1_1())
    _print_table("kNN: 5-fold cross-validation of k (synthetic CIFAR-like data)", tables.knn_cv_table(seed=seed))
    return 0


def _sandbox_ok() -> bool:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
        return True
    except SandboxUnavailable as e:
        print(f"course demo: the kernel sandbox is unavailable ({e}); grading without it")
        return False


def run(args: argparse.Namespace) -> int:
    if args.reference:
        return _reference(args.seed)
    from pathlib import Path

    from demo import term
    from demo.scratch import DemoError

    try:
        result = term.run_term(Path(args.dir), args.window, args.workers,
                               sandbox=not args.no_sandbox and _sandbox_ok(), size=args.students)
    except DemoError as e:
        print(f"course demo: {e}")
        return 1
    term.finish(result)
    return 0
