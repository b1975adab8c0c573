"""The `course` command: a thin dispatcher over the packages' subcommands.

Each package's `cli` module registers its subcommands with a handler named as "module:function";
the handler's module is imported only when that subcommand runs, so `course --help` stays fast
(no torch, no nbgrader import).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from course_errors import UserError

# Packages that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = ("course_demo", "autograder.sandbox.cli", "autograder.cli", "gradebook.cli", "similarity.cli",
                   "lifecycle.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Release, grade and export a notebook-based Deep Learning course (nbgrader underneath).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _resolve(handler: str):
    module, _, func = handler.partition(":")
    return getattr(importlib.import_module(module), func)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # What the instructor's commands write is private unless its code sets a mode (exchange, feedback).
    umask = os.umask(0o077)
    try:
        return int(_resolve(args.handler)(args) or 0)
    except KeyboardInterrupt:
        print("course: interrupted; work already committed is kept, run the command again to resume",
              file=sys.stderr)
        return 130
    except UserError as exc:  # bad input: one line; anything else is a bug and keeps its traceback
        print(f"course {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
