"""`course demo`: the platform's main job on its embedded defaults, no data download needed.

Prints the reference implementations' reproduction of Bishop's Table 1.1 and a kNN cross-validation
table on the seeded synthetic CIFAR-like data.
"""
from __future__ import annotations

import argparse
import math


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the reference implementations on generated data and print the Bishop / kNN tables",
        description="Reproduce Bishop's Table 1.1 and cross-validate k for kNN on synthetic CIFAR-like data.",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
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


def run(args: argparse.Namespace) -> int:
    from reference_impl import tables

    _print_table("Bishop PRML Table 1.1 (reconstructed Fig. 1.2 data)", tables.bishop_table_1_1())
    _print_table("kNN: 5-fold cross-validation of k (synthetic CIFAR-like data)",
                 tables.knn_cv_table(seed=args.seed))
    return 0
