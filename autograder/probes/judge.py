"""The judge: a probe's plain-data result against reference_impl, outside the student's process.

    judge(probe, seed, payload, nonce) -> Verdict            one probe
    grade_test(test, seed, payloads, nonces) -> Verdict      the probes of one graded test, combined
    validate_probe(probe)                                    authoring check (kind and params known), ValueError

Everything the kernel reports is untrusted: the payload is read as JSON-like data only; arrays are decoded
with allow_pickle=False after their header was checked (decode.py); nothing in it is called or compared
through its own methods. The inputs are rebuilt here from (kind, seed, params); the held-out values the
comparator checks against were never sent to the kernel, so a result passes only if it was computed.

A probe cell must publish exactly one result carrying the nonce of the request: a cell with two (something in
the notebook publishes probe outputs of its own) or with a foreign nonce is rejected. The nonce binds a
result to its request; it authenticates nothing, since the kernel sees the request.
"""
from __future__ import annotations

import logging
from typing import Any

from autograder.model import InfrastructureError, ProbeSpec, TestSpec, Verdict
from autograder.probes import inputs as course_inputs
from autograder.probes import kinds  # noqa: F401  (registers the kinds)
from autograder.probes._common import Mismatch
from autograder.probes.decode import WrongType
from autograder.probes.registry import KINDS

log = logging.getLogger(__name__)

# Bump when a comparator's tolerance or rule changes: the suite hash includes it (with the inputs' version).
COMPARATOR_VERSION = f"3+inputs{course_inputs.INPUTS_VERSION}"

NO_RESULT = "no result arrived: the cell did not run or did not finish"
MAX_MESSAGE = 400

# Among a test's failing probes, the status reported is the most informative one, in this order.
_STATUS_ORDER = ("failed", "wrong_type", "error", "timeout", "memory", "kernel_died", "rejected", "no_result")
MISMATCH = "the probe's result did not match the request"


def validate_probe(probe: ProbeSpec) -> dict[str, Any]:
    """The probe's full parameters; ValueError naming the problem if the kind or a parameter is unknown."""
    if probe.kind not in KINDS:
        raise ValueError(f"unknown probe kind {probe.kind!r}; known: {', '.join(sorted(KINDS))}")
    params = course_inputs.resolve_params(probe.kind, probe.params)
    weight = params["weight"]
    if type(weight) not in (int, float) or not weight > 0:
        raise ValueError(f"probe {probe.kind} on {probe.target}: weight must be a positive number, not {weight!r}")
    if type(params["torch"]) is not bool:
        raise ValueError(f"probe {probe.kind} on {probe.target}: torch must be True or False")
    if not KINDS[probe.kind].per_student:  # per-student kinds are checked against a variant by the spec
        course_inputs.make_inputs(probe.kind, 0, probe.params)  # generator-level checks (sizes, modes)
    return params


def _from_kernel(probe: ProbeSpec, payload: dict[str, Any], nonce: str | None) -> Verdict | None:
    """A verdict for payloads that carry no usable result (status other than ok, or a foreign request)."""
    if (nonce is not None and payload.get("nonce") != nonce) or payload.get("target") != probe.target:
        return Verdict(0.0, "rejected", MISMATCH)
    status = payload.get("status")
    error = payload.get("error")
    error = error if isinstance(error, dict) else {}
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


def _single(payload: Any) -> Any:
    """The one result of a probe cell; a list holds every probe output the cell published."""
    if isinstance(payload, list):
        if len(payload) > 1:
            return Verdict(0.0, "rejected", f"the probe cell published {len(payload)} results instead of one: "
                                            "code in the notebook publishes probe outputs of its own")
        return payload[0] if payload else None
    return payload


def judge(probe: ProbeSpec, seed: int, payload: Any, nonce: str | None = None,
          variant: dict[str, Any] | None = None) -> Verdict:
    """Verdict of one probe result: a payload, the list of payloads the probe cell published, or None.

    `nonce`: the one sent with the request (None only for an instructor's local check, where nothing is sent).
    `variant`: the student's own numbers, rebuilt from the submission's student id (per-student kinds).
    """
    payload = _single(payload)
    if isinstance(payload, Verdict):
        return payload
    if payload is None:
        return Verdict(0.0, "no_result", NO_RESULT)
    if not isinstance(payload, dict):
        return Verdict(0.0, "no_result", "the probe's result could not be read")
    early = _from_kernel(probe, payload, nonce)
    if early is not None:
        return early
    params = course_inputs.resolve_params(probe.kind, probe.params)  # validated once, when the spec loaded
    inputs = course_inputs.make_inputs(probe.kind, seed, probe.params, variant)
    try:
        verdict = KINDS[probe.kind].compare(params, inputs, payload.get("result"))
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


def grade_test(test: TestSpec, seed: int, payloads: list[Any], nonces: list[str] | None = None,
               variant: dict[str, Any] | None = None) -> Verdict:
    """Verdict of one graded test from its probes' results (in probe order; missing ones count as None)."""
    if not test.probes:
        raise ValueError(f"test {test.test_id} in {test.notebook} declares no probes")
    payloads = list(payloads)[: len(test.probes)]
    payloads += [None] * (len(test.probes) - len(payloads))
    sent: list[str | None] = list(nonces) if nonces is not None else [None] * len(test.probes)
    verdicts = [judge(p, seed, payload, nonce, variant) for p, payload, nonce in zip(test.probes, payloads, sent)]
    return combine(test.probes, verdicts)


__all__ = ["COMPARATOR_VERSION", "MISMATCH", "NO_RESULT", "combine", "grade_test", "judge", "validate_probe"]
