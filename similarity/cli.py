"""`course similarity`: argparse only here (the handler loads lazily from similarity.commands)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "similarity", help="copy detection: rank pairs of submissions by the similarity of their solution code",
        description="Compares the code in the solution cells of every collected submission of ASSIGNMENT, per "
                    "notebook, without the released code, comments, whitespace and identifier names. Prints the "
                    "pairs at or above the threshold and writes one self-contained HTML report.")
    p.add_argument("assignment", help="assignment name, as in release/")
    p.add_argument("--threshold", default="0.75",
                   help="flag pairs whose similarity (0..1, shared fingerprints) is at least this (default 0.75)")
    p.add_argument("--to", help="HTML report file (default: <data>/similarity/ASSIGNMENT.html)")
    p.add_argument("--jobs", default=None, help="worker processes that read the notebooks (default: CPU count)")
    p.set_defaults(handler="similarity.commands:similarity")
