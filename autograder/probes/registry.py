"""A probe kind is one unit: its input generator, how the kernel calls the student's code, its comparator
and its documentation line, registered together by the module of its family (kinds/knn.py, ...).

The generator returns every value the kind needs, in the grader; `Call.kernel_inputs` names the ones the
kernel receives. Everything else (held-out labels, anything the comparator checks against that the
student's function is not given) never leaves the grader.

A comparator gets the resolved params, the generated inputs and the decoded result item. It returns a
Verdict, or raises decode.WrongType (→ "wrong_type") or _common.Mismatch (→ "failed"); the judge turns those
into verdicts so comparators stay short.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.model import Verdict

Generator = Callable[[np.random.Generator, dict[str, Any]], dict[str, Any]]
Comparator = Callable[[dict[str, Any], dict[str, Any], Any], Verdict]


@dataclass(frozen=True)
class Call:
    """How the kernel calls the student's code with the inputs it is sent."""

    args: tuple[str, ...] = ()  # positional (a student who renamed a parameter is not punished)
    # "function": f(*args) | "classifier": C(); c.train(...); c.predict(*args, ...) | "value": the variable itself
    style: str = "function"
    train_args: tuple[str, ...] = ()
    train_kwargs: tuple[str, ...] = ()  # keyword names as in the notebook's skeleton
    predict_kwargs: tuple[str, ...] = ()
    seeds_numpy: bool = False  # seed np.random / torch before training (students' SGD samples with them)

    def kernel_inputs(self) -> tuple[str, ...]:
        """The input names the kernel receives; nothing else is sent."""
        if self.style == "value":
            return ()
        names = (*self.train_args, *self.train_kwargs, *self.args, *self.predict_kwargs)
        return tuple(dict.fromkeys(names)) + (("seed",) if self.seeds_numpy else ())

    def describe(self) -> str:
        if self.style == "value":
            return "the variable's value (nothing is called)"
        if self.style == "function":
            return f"`f({', '.join(self.args)})`"
        train = ", ".join([*self.train_args, *(f"{k}=…" for k in self.train_kwargs)])
        predict = ", ".join([*self.args, *(f"{k}=…" for k in self.predict_kwargs)])
        return f"`c = C(); c.train({train}); c.predict({predict})`"


@dataclass(frozen=True)
class ProbeKind:
    name: str
    generate: Generator
    defaults: dict[str, Any]
    call: Call
    compare: Comparator
    doc: str = field(default="")
    # the inputs are the student's own numbers (the assignment's `variant(student_id)`, shown in the notebook),
    # passed to the generator as params["variant"]; the seed plays no part
    per_student: bool = False
    # the comparator calls reference_impl (torch): a worker imports it before its first job (warm_worker)
    reference: bool = True


KINDS: dict[str, ProbeKind] = {}


def register(*kinds: ProbeKind) -> None:
    for kind in kinds:
        if kind.name in KINDS:
            raise RuntimeError(f"probe kind {kind.name!r} registered twice")
        if kind.call.style not in ("function", "classifier", "value"):
            raise RuntimeError(f"probe kind {kind.name!r}: unknown call style {kind.call.style!r}")
        KINDS[kind.name] = kind
