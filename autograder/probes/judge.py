"""Comparators: judge a probe's plain-data result against reference_impl, outside the student's process.

    judge(probe, seed, payload) -> Verdict           one probe
    grade_test(test, seed, payloads) -> Verdict      the probes of one graded test, combined
    validate_probe(probe)                            authoring check (kind known, params known), raises ValueError

The payload comes from the untrusted kernel: it is read as JSON-like data only; arrays are decoded with
allow_pickle=False after their header was checked (decode.py); nothing in it is called or compared through
its own methods. The inputs are rebuilt from (kind, seed, params) with the same `course_inputs` module the
kernel used.
"""
from __future__ import annotations

import logging
from typing import Any

from autograder.kernel_side import course_inputs
from autograder.model import InfrastructureError, ProbeSpec, TestSpec, Verdict

from . import knn, linear, polyfit, speed  # noqa: F401  (register the comparators)
from ._common import Mismatch
from .decode import WrongType
from .registry import COMPARATORS

log = logging.getLogger(__name__)

# Bump when a comparator's tolerance or rule changes: the suite hash includes it (with the inputs' version).
COMPARATOR_VERSION = f"1+inputs{course_inputs.INPUTS_VERSION}"

NO_RESULT = "no result arrived: the cell did not run or did not finish"
MAX_MESSAGE = 400

# Among a test's failing probes, the status reported is the most informative one, in this order.
_STATUS_ORDER = ("failed", "wrong_type", "error", "timeout", "memory", "kernel_died", "no_result")


def validate_probe(probe: ProbeSpec) -> dict[str, Any]:
    """The probe's full parameters; ValueError naming the problem if the kind or a parameter is unknown."""
    if probe.kind not in COMPARATORS:
        raise ValueError(f"no comparator for probe kind {probe.kind!r}; known: {', '.join(sorted(COMPARATORS))}")
    params = course_inputs.resolve_params(probe.kind, probe.params)
    weight = params["weight"]
    if type(weight) not in (int, float) or not weight > 0:
        raise ValueError(f"probe {probe.kind} on {probe.target}: weight must be a positive number, not {weight!r}")
    course_inputs.make_inputs(probe.kind, 0, probe.params)  # generator-level checks (sizes, modes)
    return params


def _from_kernel(probe: ProbeSpec, seed: int, payload: dict[str, Any]) -> Verdict | None:
    """A verdict for payloads that carry no usable result (status other than ok, or a mismatched probe)."""
    if payload.get("kind") != probe.kind or payload.get("target") != probe.target or payload.get("seed") != seed:
        return Verdict(0.0, "no_result", "the probe's result did not match the request")
    status = payload.get("status")
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    etype = str(error.get("type", "Error"))[:80]
    emsg = str(error.get("message", ""))[:200]
    if status == "ok":
        return None
    if status == "raised":
        return Verdict(0.0, "error", f"{probe.target} raised {etype}: {emsg}".rstrip(": "))
    if status == "missing":
        return Verdict(0.0, "error", f"{probe.target} is not defined; run the cell that defines it")
    if status == "too_large":
        return Verdict(0.0, "wrong_type", f"{probe.target} returned a result larger than 16 MiB")
    return Verdict(0.0, "no_result", "the probe reported an unknown status")


def judge(probe: ProbeSpec, seed: int, payload: dict | None) -> Verdict:
    """Verdict of one probe result (payload None: the probe cell produced nothing)."""
    if payload is None:
        return Verdict(0.0, "no_result", NO_RESULT)
    if not isinstance(payload, dict):
        return Verdict(0.0, "no_result", "the probe's result could not be read")
    early = _from_kernel(probe, seed, payload)
    if early is not None:
        return early
    params = validate_probe(probe)
    inputs = course_inputs.make_inputs(probe.kind, seed, probe.params)
    try:
        verdict = COMPARATORS[probe.kind](params, inputs, payload.get("result"))
    except WrongType as exc:
        return Verdict(0.0, "wrong_type", f"{probe.target}: {exc}"[:MAX_MESSAGE])
    except Mismatch as exc:
        return Verdict(0.0, "failed", f"{probe.target}: {exc}"[:MAX_MESSAGE])
    except InfrastructureError:
        raise
    except Exception:
        log.exception("comparator %s failed on a result of seed %s", probe.kind, seed)
        return Verdict(0.0, "wrong_type", f"{probe.target}: the result has an unexpected form and could not be judged")
    if verdict.status != "passed":
        return Verdict(verdict.fraction, verdict.status, f"{probe.target}: {verdict.message}"[:MAX_MESSAGE])
    return verdict


def combine(probes: tuple[ProbeSpec, ...], verdicts: list[Verdict]) -> Verdict:
    """Weighted mean of the fractions; the most informative failing status and its messages."""
    weights = [float(course_inputs.resolve_params(p.kind, p.params)["weight"]) for p in probes]
    total = sum(weights) or 1.0
    fraction = sum(w * v.fraction for w, v in zip(weights, verdicts)) / total
    fraction = min(1.0, max(0.0, fraction))
    bad = [v for v in verdicts if v.status != "passed"]
    if not bad:
        n = len(verdicts)
        return Verdict(1.0, "passed", "all checks passed" if n > 1 else verdicts[0].message)
    rank = {s: i for i, s in enumerate(_STATUS_ORDER)}
    status = min((v.status for v in bad), key=lambda s: rank.get(s, len(rank)))
    messages: list[str] = []
    for v in bad:
        if v.message not in messages:
            messages.append(v.message)
    message = "; ".join(messages)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return Verdict(fraction, status, message)


def grade_test(test: TestSpec, seed: int, payloads: list[dict | None]) -> Verdict:
    """Verdict of one graded test from its probes' payloads (in probe order; missing ones count as None)."""
    if not test.probes:
        raise ValueError(f"test {test.test_id} in {test.notebook} declares no probes")
    payloads = list(payloads)[: len(test.probes)]
    payloads += [None] * (len(test.probes) - len(payloads))
    verdicts = []
    for i, (probe, payload) in enumerate(zip(test.probes, payloads)):
        if isinstance(payload, dict) and (payload.get("test_id") != test.test_id or payload.get("index") != i):
            verdicts.append(Verdict(0.0, "no_result", "the probe's result did not match the request"))
        else:
            verdicts.append(judge(probe, seed, payload))
    return combine(test.probes, verdicts)


__all__ = ["COMPARATORS", "COMPARATOR_VERSION", "NO_RESULT", "combine", "grade_test", "judge", "validate_probe"]
