"""Handlers of `course sandbox setup|check`."""
from __future__ import annotations

import argparse


def setup(args: argparse.Namespace) -> int:
    print("course sandbox setup: not implemented yet")
    return 1


def check(args: argparse.Namespace) -> int:
    print("course sandbox check: not implemented yet")
    return 1
