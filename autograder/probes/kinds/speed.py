"""Speed-test comparators: one small function each, per-student inputs from the seed."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.model import Verdict
from autograder.probes import _ref
from autograder.probes._common import Mismatch, close_scalar, failed, is_low_precision, passed
from autograder.probes.decode import as_scalar, as_sequence
from autograder.probes.inputs import balanced_labels
from autograder.probes.kinds.knn import vote_tie_row
from autograder.probes.registry import Call, ProbeKind, register


def _speed_l1_l2(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    a = rng.integers(-9, 10, size=p["dim"]).astype(np.float64)
    b = rng.integers(-9, 10, size=p["dim"]).astype(np.float64)
    return {"a": a, "b": b}


def _speed_knn_vote(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    n, k, n_classes = p["n"], p["k"], 10
    labels = balanced_labels(rng, n, n_classes)
    if p["ties"] == "vote":
        dists = vote_tie_row(rng, labels, k, n_classes)
    else:
        dists = rng.permutation(n).astype(np.float64) + 1.0
    return {"dists": dists, "labels": labels, "k": int(k)}


def _speed_hinge(rng: np.random.Generator, p: dict[str, Any]) -> dict[str, Any]:
    # continuous scores near the correct one: several margins positive, several negative, none exactly 0
    scores = rng.normal(scale=1.0, size=p["C"])
    return {"scores": scores, "y": int(rng.integers(0, p["C"]))}



def l1_l2(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    a, b = inputs["a"], inputs["b"]
    l1_item, l2_item = as_sequence(result, 2, "the result")
    l1, t1 = as_scalar(l1_item, "the L1 distance")
    l2, t2 = as_scalar(l2_item, "the L2 distance")
    ref_l1 = float(_ref.pairwise_distances(a[None], b[None], "l1")[0, 0])
    ref_l2 = float(_ref.pairwise_distances(a[None], b[None], "l2")[0, 0])
    ok1 = close_scalar(l1, ref_l1, 1e-5 if is_low_precision(t1) else 1e-9)
    ok2 = close_scalar(l2, ref_l2, 1e-5 if is_low_precision(t2) else 1e-9)
    if ok1 and ok2:
        return passed("L1 and L2 distances correct")
    problems = []
    if not ok1:
        problems.append("the L1 distance is wrong" + ("; it is the L2 one" if close_scalar(l1, ref_l2, 1e-9) else ""))
    if not ok2:
        hint = "; take the square root" if close_scalar(l2, ref_l2**2, 1e-9) else ""
        if close_scalar(l2, ref_l1, 1e-9):
            hint = "; it is the L1 one"
        problems.append("the L2 distance is wrong" + hint)
    return failed("; ".join(problems), 0.5 * (ok1 + ok2))


def knn_vote(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    value, _ = as_scalar(result, "the predicted label")
    if not np.isfinite(value) or value != round(value):
        raise Mismatch("the predicted label must be a whole number")
    ok = _ref.acceptable_votes(inputs["dists"][None], inputs["labels"], inputs["k"])[0]
    if int(value) in ok:
        return passed(f"k-NN vote correct (k={inputs['k']})")
    return failed(f"the vote with k={inputs['k']} is wrong; the smaller label wins a tie")


def hinge(params: dict[str, Any], inputs: dict[str, Any], result: Any) -> Verdict:
    scores, y = inputs["scores"], inputs["y"]
    value, dtype = as_scalar(result, "the hinge loss")
    C = scores.shape[0]
    ref, _ = _ref.svm_loss(np.eye(C), scores[None, :], np.array([y]), 0.0)
    if close_scalar(value, ref, 1e-5 if is_low_precision(dtype) else 1e-9):
        return passed("hinge loss correct")
    margins = scores - scores[y] + 1.0
    hint = ""
    if close_scalar(value, float(np.sum(np.maximum(0, margins))), 1e-9):
        hint = "; skip the correct class j = y (its margin is always 1)"
    return failed(f"the hinge loss is off by {abs(value - ref):.3g}{hint}")


register(
    ProbeKind("speed.l1_l2", _speed_l1_l2, {"dim": 5}, Call(args=("a", "b")), l1_l2,
              doc="(L1, L2) distance of two vectors"),
    ProbeKind("speed.knn_vote", _speed_knn_vote, {"n": 20, "k": 4, "ties": "vote"}, Call(args=("dists", "labels", "k")),
              knn_vote, doc="label of one query by a k-NN vote, smallest label wins ties"),
    ProbeKind("speed.hinge", _speed_hinge, {"C": 5}, Call(args=("scores", "y")), hinge,
              doc="multiclass hinge loss, Δ = 1"),
)
