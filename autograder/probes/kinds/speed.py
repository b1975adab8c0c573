"""Speed-test kinds: each student answers with their own numbers; the answer is a variable, never a function.

The numbers come from the assignment's `variant(student_id)` (a module next to the speed test's notebook,
which shows them to the student) and are rebuilt by the grader from the submission's authoritative student id.
The kernel receives nothing; the expected answers are computed here. An answer computed for another student's
numbers is simply wrong. Exact answers (integers, shapes, labels) are compared exactly; real numbers within
REAL_TOL, as the notebooks state.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict
from autograder.probes._common import Mismatch, failed, passed
from autograder.probes.decode import WrongType, as_array, as_scalar
from autograder.probes.registry import Call, ProbeKind, register

REAL_TOL = 0.01  # absolute, on answers the notebook asks to round to two decimals


def _question(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    question = p["variant"].get(p["question"])
    if not isinstance(question, dict):
        raise TypeError(f"the assignment's variant() has no question {p['question']!r}")
    return {k: np.asarray(v) if isinstance(v, list) else v for k, v in question.items()}


def _numbers(result: Any, what: str) -> np.ndarray:
    """A written answer of several numbers: a tuple or list of numbers, or a 1-D array or tensor."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        items = result["items"]
        return np.array([as_scalar(item, f"each number of {what}")[0] for item in items], dtype=np.float64)
    arr, _ = as_array(result, what)
    if arr.ndim != 1:
        raise WrongType(f"give {what} as a flat list of numbers")
    return arr.astype(np.float64)


def _whole(value: float, what: str) -> int:
    if not np.isfinite(value) or value != round(value):
        raise Mismatch(f"{what} must be a whole number")
    return round(value)


def _close(value: float, expected: float) -> bool:
    return bool(np.isfinite(value)) and abs(value - expected) <= REAL_TOL


def image_distances(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    diff = q["a"].astype(np.float64) - q["b"].astype(np.float64)
    l1_ref, l2_ref = float(np.abs(diff).sum()), float(np.sqrt((diff**2).sum()))
    pair = _numbers(result, "the answer (L1, L2)")
    if pair.shape != (2,):
        raise WrongType("give the answer as two numbers: (L1, L2)")
    l1, l2 = float(pair[0]), float(pair[1])
    ok1, ok2 = _close(l1, l1_ref), _close(l2, l2_ref)
    if ok1 and ok2:
        return passed("L1 and L2 distances of your images correct")
    problems = []
    if not ok1:
        problems.append("the L1 distance is wrong (sum of absolute pixel differences)")
    if not ok2:
        problems.append("the L2 distance is wrong" + ("; take the square root" if _close(l2, l2_ref**2) else ""))
    return failed("; ".join(problems), 0.5 * (ok1 + ok2))


def knn_vote(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    value, _ = as_scalar(result, "the predicted label")
    label = _whole(value, "the predicted label")
    nearest = q["labels"][np.argsort(q["dists"], kind="stable")[: int(q["k"])]]
    counts = np.bincount(nearest)
    expected = int(np.flatnonzero(counts == counts.max()).min())
    if label == expected:
        return passed(f"k-NN vote correct (k={int(q['k'])})")
    return failed(f"the vote with k={int(q['k'])} is wrong; count the labels of the k nearest, "
                  "the smaller label wins a tie")


def rms_of_fit(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    w, x, t = (q[k].astype(np.float64) for k in ("w", "x", "t"))
    y = np.vander(x, len(w), increasing=True) @ w
    ref = float(np.sqrt(np.mean((y - t) ** 2)))
    value, _ = as_scalar(result, "E_RMS")
    if _close(value, ref):
        return passed("E_RMS of your fit correct")
    hint = "; E_RMS = sqrt(2E/N) = sqrt(mean((y - t)²))" if _close(value, float(np.sum((y - t) ** 2) / 2)) else ""
    return failed(f"E_RMS is wrong{hint}")


def _conv_out(q: dict[str, Any]) -> tuple[int, int, int]:
    k, s, p = int(q["k"]), int(q["stride"]), int(q["padding"])
    return int(q["c_out"]), (int(q["h"]) + 2 * p - k) // s + 1, (int(q["w"]) + 2 * p - k) // s + 1


def conv_shape(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    arr = _numbers(result, "the output shape (C, H, W)")
    if arr.shape != (3,):
        raise Mismatch("give the output shape as three numbers (C_out, H_out, W_out)")
    got = tuple(_whole(float(v), "each dimension") for v in arr)
    if got == _conv_out(q):
        return passed("output shape of your conv layer correct")
    return failed("the output shape is wrong; H_out = (H + 2·padding − k) // stride + 1, and C_out channels")


def conv_params(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    value, _ = as_scalar(result, "the parameter count")
    got = _whole(value, "the parameter count")
    k, c_in, c_out = int(q["k"]), int(q["c_in"]), int(q["c_out"])
    if got == c_out * (c_in * k * k + 1):
        return passed("parameter count of your conv layer correct")
    hint = "; count the biases too (one per output channel)" if got == c_out * c_in * k * k else ""
    return failed(f"the parameter count is wrong{hint}")


def receptive_field(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    value, _ = as_scalar(result, "the receptive field")
    got = _whole(value, "the receptive field")
    field, jump = 1, 1
    for k, s in q["layers"]:
        field += (int(k) - 1) * jump
        jump *= int(s)
    if got == field:
        return passed("receptive field correct")
    return failed("the receptive field is wrong; each layer adds (k − 1) × the product of the earlier strides")


_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def rnn_params(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    value, _ = as_scalar(result, "the parameter count")
    got = _whole(value, "the parameter count")
    d, h, gates = int(q["input_size"]), int(q["hidden_size"]), _GATES[str(q["cell"])]
    expected = gates * (h * d + h * h + 2 * h)
    if got == expected:
        return passed(f"{str(q['cell']).upper()} parameter count correct")
    hint = "; PyTorch keeps two bias vectors per gate (b_ih and b_hh)" if got == gates * (h * d + h * h + h) else ""
    return failed(f"the parameter count is wrong{hint}")


def kmeans_step(params: dict[str, Any], q: dict[str, Any], result: Any) -> Verdict:
    points, centroids = q["points"].astype(np.float64), q["centroids"].astype(np.float64)
    arr = _numbers(result, "the cluster assignments")
    if arr.shape != (len(points),):
        raise Mismatch(f"give one cluster index per point ({len(points)} numbers)")
    got = np.array([_whole(float(v), "each cluster index") for v in arr])
    d2 = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)
    expected = np.argmin(d2, axis=1)
    wrong = int(np.sum(got != expected))
    if not wrong:
        return passed("k-means assignment step correct")
    return failed(f"{wrong} of {len(points)} points are assigned to the wrong centroid (the nearest one, "
                  "by Euclidean distance)")


def _value_kind(name: str, compare: Any, question: str, doc: str) -> ProbeKind:
    return ProbeKind(name, _question, {"question": question}, Call(style="value"), compare, doc=doc,
                     per_student=True, reference=False)


register(
    _value_kind("speed.image_distances", image_distances, "q1", "(L1, L2) distance of the student's two images"),
    _value_kind("speed.knn_vote", knn_vote, "q2", "the k-NN vote on the student's distances, smaller label wins ties"),
    _value_kind("speed.rms_of_fit", rms_of_fit, "q2", "E_RMS of the student's polynomial fit on their points"),
    _value_kind("speed.conv_shape", conv_shape, "q1", "(C_out, H_out, W_out) of the student's conv layer"),
    _value_kind("speed.conv_params", conv_params, "q1", "parameter count (weights + biases) of that conv layer"),
    _value_kind("speed.receptive_field", receptive_field, "q2", "receptive field of the student's conv stack"),
    _value_kind("speed.rnn_params", rnn_params, "q1", "parameter count of the student's RNN/GRU/LSTM layer (PyTorch)"),
    _value_kind("speed.kmeans_step", kmeans_step, "q2", "nearest-centroid index of each of the student's points"),
)
