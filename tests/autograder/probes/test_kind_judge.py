"""judge / grade_test: statuses, combination, and hostile payloads (never unpickled, never trusted)."""
from __future__ import annotations

import base64
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from probe_helpers import payload_for

from autograder.model import STATUSES, ProbeSpec, Verdict
from autograder.model import TestSpec as Spec
from autograder.probes import NO_RESULT, combine, grade_test, judge, validate_probe
from autograder.probes.decode import WrongType, decode_npy


def dist(X, Y):
    return np.sqrt(np.maximum(np.sum(X**2, 1)[:, None] + np.sum(Y**2, 1)[None] - 2 * X @ Y.T, 0))


PROBE = ProbeSpec("knn.distances", "f", {})


def ok_payload(seed=0):
    return payload_for(dist, "knn.distances", {}, seed)


def with_result(result: dict) -> dict:
    p = ok_payload()
    p["result"] = result
    return p


def npy_b64(arr, allow_pickle=False) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return base64.b64encode(buf.getvalue()).decode()


def test_no_payload_is_no_result():
    v = judge(PROBE, 0, None)
    assert (v.fraction, v.status, v.message) == (0.0, "no_result", NO_RESULT)


@pytest.mark.parametrize("exc", ["SystemExit(0)", "KeyboardInterrupt()", "ValueError('boom')"])
def test_raised_is_error(exc):
    def fn(X, Y):
        raise eval(exc)
    v = judge(PROBE, 0, payload_for(fn, "knn.distances"))
    assert v.status == "error" and v.fraction == 0.0 and exc.split("(")[0] in v.message


def test_missing_function():
    from autograder.kernel_side import course_probe
    from autograder.probes import new_request

    r = new_request("t", 0, PROBE, 0)
    v = judge(PROBE, 0, course_probe.build_payload(r.message(), {}), r.nonce)
    assert v.status == "error" and "not defined" in v.message


@pytest.mark.parametrize("field, value", [("nonce", "0" * 32), ("target", "g")])
def test_a_result_for_another_request_is_rejected(field, value):
    p = ok_payload()
    nonce = p["nonce"]
    assert judge(PROBE, 0, p, nonce).status == "passed"
    p[field] = value
    v = judge(PROBE, 0, p, nonce)
    assert (v.status, v.fraction) == ("rejected", 0.0)


def test_a_cell_that_published_two_results_is_rejected_whatever_they_say():
    good = ok_payload()
    v = judge(PROBE, 0, [good, dict(good)], good["nonce"])
    assert (v.status, v.fraction) == ("rejected", 0.0) and "2 results" in v.message
    assert judge(PROBE, 0, [good], good["nonce"]).status == "passed"
    assert judge(PROBE, 0, [], good["nonce"]).status == "no_result"


def test_all_statuses_are_known():
    assert judge(PROBE, 0, ok_payload()).status in STATUSES
    for p in (None, "junk", {"kind": "knn.distances", "target": "f", "seed": 0, "status": "??"}):
        assert judge(PROBE, 0, p).status in STATUSES  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- hostile payloads
class Canary:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    canary = tmp_path / "canary"
    evil = np.array([Canary(str(canary))] * 4, dtype=object)
    b64 = npy_b64(evil, allow_pickle=True)
    # the bytes really are a pickle that would create the canary:
    np.load(io.BytesIO(base64.b64decode(b64)), allow_pickle=True)
    assert canary.exists()
    canary.unlink()
    for name in ("numpy.ndarray", "numpy.matrix", "torch.Tensor"):
        v = judge(PROBE, 0, with_result({"type": name, "npy": b64}))
        assert v.status == "wrong_type" and v.fraction == 0.0
    raw = pickle.dumps(Canary(str(canary)))
    v = judge(PROBE, 0, with_result({"type": "numpy.ndarray", "npy": base64.b64encode(raw).decode()}))
    assert v.status == "wrong_type"
    assert not canary.exists()


def _header_blob(header: dict, data: bytes) -> str:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return base64.b64encode(buf.getvalue() + data).decode()


@pytest.mark.parametrize("header, data", [
    ({"descr": "<f8", "fortran_order": False, "shape": (10**12,)}, b"\0" * 64),  # huge shape, tiny data
    ({"descr": "<f8", "fortran_order": False, "shape": (15, 40)}, b"\0" * 8),  # dtype/shape vs bytes mismatch
    ({"descr": "|O", "fortran_order": False, "shape": (2,)}, b"\0" * 16),  # object dtype
    ({"descr": "<U8", "fortran_order": False, "shape": (2,)}, b"\0" * 64),  # strings
    ({"descr": [("a", "<f8")], "fortran_order": False, "shape": (2,)}, b"\0" * 16),  # structured
    ({"descr": "<c16", "fortran_order": False, "shape": (1,)}, b"\0" * 16),  # complex
    ({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"\0" * 16),  # negative shape
])
def test_malicious_headers_are_wrong_type(header, data):
    v = judge(PROBE, 0, with_result({"type": "numpy.ndarray", "npy": _header_blob(header, data)}))
    assert v.status == "wrong_type" and v.fraction == 0.0


def test_header_that_is_code_is_not_evaluated(tmp_path):
    canary = tmp_path / "c"
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': (__import__('pathlib').Path({str(canary)!r}).touch(),)}}"
    blob = b"\x93NUMPY\x01\x00" + len(header.ljust(118) + "\n").to_bytes(2, "little") + \
        (header.ljust(118) + "\n").encode()
    v = judge(PROBE, 0, with_result({"type": "numpy.ndarray", "npy": base64.b64encode(blob).decode()}))
    assert v.status == "wrong_type" and not canary.exists()


@pytest.mark.parametrize("result", [
    None, "string", 5, [], {"type": 3}, {"type": "numpy.ndarray"}, {"type": "numpy.ndarray", "npy": "%%%"},
    {"type": "numpy.ndarray", "npy": 12}, {"type": "numpy.ndarray", "npy": "A" * (30 * 2**20)},
    {"type": "builtins.tuple", "items": "nope"},
])
def test_malformed_results_are_wrong_type(result):
    v = judge(PROBE, 0, with_result(result))
    assert v.status == "wrong_type" and v.fraction == 0.0


def test_npz_bytes_are_refused():
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(3))
    with pytest.raises(WrongType):
        decode_npy(base64.b64encode(buf.getvalue()).decode())


def test_forged_type_name_does_not_matter():
    # A forged payload can only claim a type; the comparator still reads plain numbers and judges the values.
    p = ok_payload()
    p["result"] = {"type": "numpy.ndarray", "npy": npy_b64(np.zeros((15, 40)))}
    assert judge(PROBE, 0, p).status == "failed"


def test_decode_roundtrip_dtypes():
    for arr in (np.arange(6.0).reshape(2, 3), np.arange(4, dtype=np.int32), np.float32(2.5) * np.ones(2),
                np.array(True), np.asfortranarray(np.arange(6.0).reshape(2, 3))):
        out = decode_npy(npy_b64(arr))
        assert type(out) is np.ndarray and out.dtype == arr.dtype and np.array_equal(out, arr)


# ------------------------------------------------------------------------------------- grade_test
def labels_probe(weight=None):
    params = {"ties": "vote"} | ({"weight": weight} if weight else {})
    return ProbeSpec("knn.predict_labels", "g", params)


def test_grade_test_combines_weights_and_statuses():
    test = Spec("t", "nb", 2.0, (PROBE, ProbeSpec("knn.distances", "f", {"metric": "l2", "weight": 3})))
    good = ok_payload()
    second = payload_for(dist, "knn.distances", {"metric": "l2", "weight": 3})
    assert grade_test(test, 0, [good, second], [good["nonce"], second["nonce"]]).status == "passed"
    v = grade_test(test, 0, [good, None])
    assert (v.status, v.fraction) == ("no_result", 0.25)
    v = grade_test(test, 0, [None, second])
    assert v.fraction == 0.75
    v = grade_test(test, 0, [good])  # a payload list that stops early: the rest count as no result
    assert v.fraction == 0.25


def test_grade_test_rejects_swapped_payloads():
    """Each probe's result must carry its own request's nonce: two correct results swapped score 0."""
    test = Spec("t", "nb", 1.0, (PROBE, PROBE))
    a, b = ok_payload(), ok_payload()
    assert grade_test(test, 0, [a, b], [a["nonce"], b["nonce"]]).fraction == 1.0
    v = grade_test(test, 0, [b, a], [a["nonce"], b["nonce"]])
    assert (v.status, v.fraction) == ("rejected", 0.0)


def test_combine_prefers_failed_messages():
    probes = (PROBE, PROBE, PROBE)
    v = combine(probes, [Verdict(0, "no_result", "a"), Verdict(0, "failed", "b"), Verdict(1, "passed", "c")])
    assert (v.status, v.message) == ("failed", "a; b")
    assert abs(v.fraction - 1 / 3) < 1e-12


def test_validate_probe_errors():
    with pytest.raises(ValueError, match="unknown probe kind|no comparator"):
        validate_probe(ProbeSpec("knn.nope", "f", {}))
    with pytest.raises(ValueError, match="no parameter"):
        validate_probe(ProbeSpec("knn.distances", "f", {"n_trian": 3}))
    with pytest.raises(ValueError, match="weight"):
        validate_probe(ProbeSpec("knn.distances", "f", {"weight": 0}))
    with pytest.raises(ValueError, match="ties"):
        validate_probe(ProbeSpec("knn.predict_labels", "f", {"ties": "maybe"}))

