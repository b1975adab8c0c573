"""Speed-test kinds: the student's answer (a variable) against their own numbers; exact where exact."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.kernel_side import course_probe
from autograder.model import ProbeSpec
from autograder.probes import judge, new_request

NUMBERS = {
    "q1": {"a": [[1, 2, 3, 4], [0, 0, 0, 0], [9, 9, 9, 9], [5, 5, 5, 5]],
           "b": [[4, 3, 2, 1], [0, 1, 0, 1], [9, 8, 9, 8], [5, 5, 5, 0]]},
    "q2": {"w": [0.5, 1.0], "x": [0.0, 1.0, 2.0, 3.0], "t": [0.0, 3.0, 2.0, 4.0],
           "dists": [3.0, 1.0, 2.0, 5.0, 4.0], "labels": [7, 9, 7, 1, 9], "k": 4},
}
CONV = {"q1": {"c_in": 3, "c_out": 16, "k": 5, "stride": 2, "padding": 1, "h": 32, "w": 28},
        "q2": {"layers": [[3, 1], [2, 2], [5, 1], [3, 2]]}}
RNN = {"q1": {"cell": "lstm", "input_size": 10, "hidden_size": 20},
       "q2": {"points": [[0, 0], [5, 5], [-4, 1], [6, 0]], "centroids": [[0, 1], [5, 4], [-5, 0]]}}


def verdict(kind: str, answer, numbers: dict, **params):
    probe = ProbeSpec(kind, "answer", params)
    request = new_request("t", 0, probe, 1)
    payload = course_probe.build_payload(request.message(), {"answer": answer})
    return judge(probe, 1, payload, request.nonce, numbers)


def test_value_requests_send_nothing():
    request = new_request("t", 0, ProbeSpec("speed.image_distances", "answer_q1", {}), 1)
    message = request.message()
    assert message["style"] == "value" and message["inputs"] == {}


def test_image_distances():
    d = np.array(NUMBERS["q1"]["a"]) - np.array(NUMBERS["q1"]["b"])
    l1, l2 = float(np.abs(d).sum()), float(np.sqrt((d**2).sum()))
    for answer in ((l1, round(l2, 2)), [int(l1), l2], np.array([l1, l2]), torch.tensor([l1, l2])):
        assert verdict("speed.image_distances", answer, NUMBERS).status == "passed", answer
    v = verdict("speed.image_distances", (l1, l2**2), NUMBERS)
    assert (v.status, v.fraction) == ("failed", 0.5) and "square root" in v.message
    assert verdict("speed.image_distances", (l1, round(l2, 1) + 0.05), NUMBERS).fraction == 0.5  # beyond 0.01
    assert verdict("speed.image_distances", l1, NUMBERS).status == "wrong_type"


def test_knn_vote_smaller_label_wins_a_tie():
    # the 4 nearest: labels 9, 7, 7, 9 → a tie between 7 and 9: 7
    assert verdict("speed.knn_vote", 7, NUMBERS).status == "passed"
    assert verdict("speed.knn_vote", np.int64(7), NUMBERS).status == "passed"
    assert verdict("speed.knn_vote", 9, NUMBERS).status == "failed"
    assert verdict("speed.knn_vote", 7.5, NUMBERS).status == "failed"


def test_rms_of_fit():
    w, x, t = (np.array(NUMBERS["q2"][k]) for k in "wxt")
    rms = float(np.sqrt(np.mean((w[0] + w[1] * x - t) ** 2)))
    assert verdict("speed.rms_of_fit", round(rms, 2), NUMBERS).status == "passed"
    v = verdict("speed.rms_of_fit", float(np.sum((w[0] + w[1] * x - t) ** 2) / 2), NUMBERS)
    assert v.status == "failed" and "sqrt(2E/N)" in v.message


def test_conv_shape_and_params():
    # H: (32 + 2 - 5) // 2 + 1 = 15, W: (28 + 2 - 5) // 2 + 1 = 13; params 16·(3·25 + 1) = 1216
    for shape in ((16, 15, 13), [16, 15, 13], np.array([16, 15, 13]), torch.tensor([16, 15, 13])):
        assert verdict("speed.conv_shape", shape, CONV).status == "passed"
    assert verdict("speed.conv_shape", (16, 14, 12), CONV).status == "failed"
    assert verdict("speed.conv_shape", (16, 15), CONV).status == "failed"
    assert verdict("speed.conv_params", 1216, CONV).status == "passed"
    v = verdict("speed.conv_params", 1200, CONV)
    assert v.status == "failed" and "biases" in v.message


def test_receptive_field():
    # 1 + 2·1 + 1·1 + 4·2 + 2·2 = 16
    assert verdict("speed.receptive_field", 16, CONV).status == "passed"
    assert verdict("speed.receptive_field", 12, CONV).status == "failed"


def test_rnn_params_counts_both_biases():
    expected = 4 * (20 * 10 + 20 * 20 + 2 * 20)
    assert verdict("speed.rnn_params", expected, RNN).status == "passed"
    assert expected == sum(p.numel() for p in torch.nn.LSTM(10, 20).parameters())
    v = verdict("speed.rnn_params", 4 * (20 * 10 + 20 * 20 + 20), RNN)
    assert v.status == "failed" and "two bias" in v.message


def test_kmeans_step():
    assert verdict("speed.kmeans_step", [0, 1, 2, 1], RNN).status == "passed"
    assert verdict("speed.kmeans_step", np.array([0, 1, 2, 1]), RNN).status == "passed"
    v = verdict("speed.kmeans_step", [0, 1, 2, 0], RNN)
    assert v.status == "failed" and "1 of 4" in v.message


def test_another_students_numbers_give_another_answer():
    other = {"q1": {**CONV["q1"], "c_out": 32}, "q2": CONV["q2"]}
    assert verdict("speed.conv_params", 1216, other).status == "failed"


def test_a_per_student_kind_without_numbers_is_an_authoring_error():
    with pytest.raises(ValueError, match="variant"):
        verdict("speed.conv_params", 1216, None)
