"""Whatever the kernel sends, judge() returns a verdict with a known status and never raises."""
from __future__ import annotations

import base64
import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.model import STATUSES, ProbeSpec
from autograder.probes import judge
from autograder.probes.decode import WrongType, decode_npy

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_like = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
type_names = st.sampled_from(["numpy.ndarray", "numpy.matrix", "torch.Tensor", "builtins.tuple", "builtins.float",
                              "numpy.float64", "x.Y"])


def _npy(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode()


@st.composite
def results(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(json_like)
    if kind == 1:  # a real .npy blob, possibly truncated or bit-flipped
        arr = np.asarray(draw(st.lists(st.floats(allow_nan=True, width=64), max_size=30)))
        raw = bytearray(base64.b64decode(_npy(arr)))
        if raw and draw(st.booleans()):
            raw[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
        raw = raw[: draw(st.integers(0, len(raw)))]
        return {"type": draw(type_names), "npy": base64.b64encode(bytes(raw)).decode()}
    if kind == 2:
        return {"type": "builtins.tuple", "items": draw(st.lists(results(), max_size=3))}
    return {"type": draw(type_names), "npy": draw(st.text(max_size=40))}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=results(), kind=st.sampled_from(["knn.distances", "linear.svm_loss", "polyfit.rms_error",
                                               "knn.predict_labels", "speed.image_distances",
                                               "speed.conv_shape", "speed.kmeans_step"]))
def test_judge_never_raises(result, kind):
    payload = {"v": 2, "nonce": "n", "target": "f", "status": "ok", "result": result}
    variant = {"q1": {"a": [[1, 2], [3, 4]], "b": [[0, 2], [3, 9]], "c_in": 3, "c_out": 8, "k": 3, "stride": 1,
                      "padding": 1, "h": 8, "w": 8},
               "q2": {"points": [[0, 0], [3, 3]], "centroids": [[0, 1], [3, 2]]}}
    v = judge(ProbeSpec(kind, "f", {}), 0, payload, "n", variant)
    assert "unexpected form" not in v.message, "a comparator crashed on this payload (see the log)"
    assert v.status in STATUSES and 0.0 <= v.fraction <= 1.0
    assert v.status != "passed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_random_bytes_is_wrong_type_or_plain_array(raw):
    try:
        arr = decode_npy(base64.b64encode(b"\x93NUMPY" + raw).decode())
    except WrongType:
        return
    assert type(arr) is np.ndarray and arr.dtype.kind in "biuf"
