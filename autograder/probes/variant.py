"""The student's own numbers: the assignment's `variant(student_id)`, rebuilt in the grader.

A speed test ships a module next to its notebook that defines `variant(student_id) -> dict`; the notebook
calls it with the id the student's JupyterLab reports and shows the numbers. The grader runs the instructor's
copy of that module here, with the submission's authoritative student id, never with anything the notebook
says. The module is instructor code (from source/), as trusted as the source notebooks.
"""
from __future__ import annotations

import sys
import types
from typing import Any

VARIANT_FUNCTION = "variant"


def variant_module(support: dict[str, str]) -> str | None:
    """Name of the support module that defines variant(), if any."""
    for name, source in sorted(support.items()):
        if f"def {VARIANT_FUNCTION}(" in source:
            return name
    return None


def student_variant(support: dict[str, str], student: str) -> dict[str, Any] | None:
    """variant(student) from the assignment's support module, or None when the assignment has none."""
    name = variant_module(support)
    if name is None:
        return None
    module = types.ModuleType(name)
    saved = sys.modules.get(name)
    sys.modules[name] = module  # while it runs, as an import would (dataclasses look their module up there)
    try:
        exec(compile(support[name], f"{name}.py", "exec"), module.__dict__)  # noqa: S102 - instructor code
        numbers = getattr(module, VARIANT_FUNCTION)(student)
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved
    if not isinstance(numbers, dict):
        raise TypeError(f"{name}.py: variant(student_id) must return a dict of questions, "
                         f"not {type(numbers).__name__}")
    return numbers
