"""`course sandbox setup|check`: argparse registration only (no heavy imports)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sandbox", help="set up or check the kernel sandbox (bubblewrap, slot users)")
    sub = parser.add_subparsers(dest="sandbox_command", metavar="ACTION")
    sub.required = True
    setup = sub.add_parser("setup", help="as root, idempotent: install bubblewrap, create the slot users and "
                                         "state directories, make the venv reachable; prints what it changed")
    setup.add_argument("--slots", type=int, default=None,
                       help="number of worker slots (default max(4, 2 x cores))")
    setup.set_defaults(handler="autograder.sandbox.commands:setup")
    check = sub.add_parser("check", help="print what works and what is missing for sandboxed grading")
    check.add_argument("--run", action="store_true", help="also start a sandboxed kernel and run one cell")
    check.set_defaults(handler="autograder.sandbox.commands:check")
