"""The table kind → comparator. A comparator gets the resolved params, the rebuilt inputs and the result item.

It returns a Verdict, or raises decode.WrongType (→ "wrong_type") or _common.Mismatch (→ "failed"); judge()
turns those into verdicts so comparators stay short.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autograder.model import Verdict

Comparator = Callable[[dict[str, Any], dict[str, Any], Any], Verdict]
COMPARATORS: dict[str, Comparator] = {}


def register(kind: str) -> Callable[[Comparator], Comparator]:
    def deco(fn: Comparator) -> Comparator:
        if kind in COMPARATORS:
            raise RuntimeError(f"comparator for {kind!r} registered twice")
        COMPARATORS[kind] = fn
        return fn

    return deco
