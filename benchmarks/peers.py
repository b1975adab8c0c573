"""Measuring stock nbgrader on K of the N submissions: its time per submission does not change with N (one
fresh kernel per notebook, in sequence), and at N = 200 it would take most of an hour."""
from __future__ import annotations

import argparse


def peer_count(ap: argparse.ArgumentParser, n: int, k: int | None) -> int:
    """K from --peer-n (default N): 1 to 10, because a glob selects the first K students, or all N."""
    k = n if k is None else k
    if not (1 <= k <= min(n, 10) or k == n):
        ap.error(f"--peer-n: 1 to {min(n, 10)}, or N ({n})")
    return k


def peer_glob(first_student: str, n: int, k: int) -> str:
    """nbgrader's student-id glob for the first K of N students named like `first_student` (…0 is the first)."""
    return "*" if k == n else f"{first_student[:-1]}[0-{k - 1}]"
