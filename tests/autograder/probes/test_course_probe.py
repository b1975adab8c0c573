"""Kernel-side probe runner: serialisation round trip, BaseException capture, subclasses reported as types."""
from __future__ import annotations

import ast
import json

import numpy as np
import pytest
import torch

from autograder import model
from autograder.kernel_side import course_probe
from autograder.probes import KINDS, new_request, payloads_from_outputs, probe_jobs, probe_requests
from autograder.probes import inputs as course_inputs
from autograder.probes.request import _encode_input as _encode


def request(kind="polyfit.rms_error", params=None, seed=3, target="f"):
    return new_request("q1", 0, model.ProbeSpec(kind, target, dict(params or {})), seed)


def run(fn, kind="polyfit.rms_error", params=None, seed=3):
    return course_probe.build_payload(request(kind, params, seed).message(), {"f": fn})


def decode(item):
    return course_probe._decode(item, False)


def test_mime_type_matches_the_grader():
    assert course_probe.PROBE_MIME == model.PROBE_MIME


@pytest.mark.parametrize("value, type_name", [
    (np.arange(6.0).reshape(2, 3), "numpy.ndarray"),
    (np.arange(6, dtype=np.float32), "numpy.ndarray"),
    (np.arange(3, dtype=np.int64), "numpy.ndarray"),
    (np.matrix([[1.0, 2.0]]), "numpy.matrix"),
    (torch.arange(4.0, requires_grad=True) * 2, "torch.Tensor"),
    (1.5, "builtins.float"), (3, "builtins.int"), (True, "builtins.bool"),
    (np.float32(2.5), "numpy.float32"), (np.int64(7), "numpy.int64"), (np.float64(0.25), "numpy.float64"),
])
def test_round_trip(value, type_name):
    p = run(lambda w, x, t: value)
    assert p["status"] == "ok" and p["result"]["type"] == type_name
    got = decode(p["result"])
    expected = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_tuple_of_loss_and_gradient():
    p = run(lambda w, x, t: (1.0, np.ones((2, 2))))
    assert p["result"]["type"] == "builtins.tuple"
    assert [i["type"] for i in p["result"]["items"]] == ["builtins.float", "numpy.ndarray"]
    nested = run(lambda w, x, t: ((1.0,), [2.0]))
    assert all("npy" not in i and "items" not in i for i in nested["result"]["items"])  # one level only


def test_subclasses_are_reported_by_type_without_calling_them():
    calls = []

    class Tricky(float):
        def __eq__(self, other):
            calls.append("eq")
            return True

        def __float__(self):
            calls.append("float")
            return 0.0

        def __array__(self, *a, **k):
            calls.append("array")
            return np.zeros(())

    class Arr(np.ndarray):
        @property
        def dtype(self):  # would be called by an isinstance-based encoder
            calls.append("dtype")
            return np.dtype(float)

    class T(torch.Tensor):
        pass

    for value in (Tricky(1.0), np.zeros(3).view(Arr), torch.zeros(2).as_subclass(T)):
        calls.clear()
        p = run(lambda w, x, t, v=value: v)
        assert p["status"] == "ok" and "npy" not in p["result"], p
        assert p["result"]["type"].endswith(type(value).__qualname__)
        assert calls == []


@pytest.mark.parametrize("value", [
    np.array([object()], dtype=object), np.array(["a"]), np.zeros(2, dtype=[("a", "f8")]),
    np.zeros(2, dtype=complex), {"a": 1}, None, "text", 2**70, torch.zeros(2, dtype=torch.bfloat16),
])
def test_unencodable_values_carry_no_data(value):
    p = run(lambda w, x, t: value)
    assert p["status"] == "ok" and "npy" not in p["result"]


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), MemoryError(),
                                 RecursionError("deep")])
def test_base_exceptions_are_caught(exc):
    def fn(w, x, t):
        raise exc
    p = run(fn)
    assert p["status"] == "raised" and p["error"]["type"] == type(exc).__name__
    assert "result" in p and p["result"] is None


def test_exception_with_a_hostile_str():
    class Nasty(Exception):
        def __str__(self):
            raise SystemExit("no")

    def fn(w, x, t):
        raise Nasty()
    p = run(fn)
    assert p["status"] == "raised" and p["error"]["message"] == "<unprintable message>"


def test_missing_target_and_too_large(monkeypatch):
    p = course_probe.build_payload(request(target="nope").message(), {})
    assert p["status"] == "missing" and "nope" in p["error"]["message"]
    monkeypatch.setattr(course_probe, "MAX_PAYLOAD_BYTES", 1000)
    p = run(lambda w, x, t: np.zeros(1000))
    assert p["status"] == "too_large"


def test_classifier_call_style():
    seen = {}

    class Clf:
        def train(self, X, y, learning_rate=None, reg=None, num_iters=None, batch_size=None):
            seen.update(train=(X.shape, y.shape, learning_rate, reg, num_iters, batch_size))

        def predict(self, X):
            return np.zeros(X.shape[0], dtype=np.int64)
    p = run(Clf, "linear.svm_train")
    assert p["status"] == "ok" and seen["train"][2:] == (1e-2, 1e-3, 300, 64)


def test_payload_is_json_serialisable():
    import json
    p = run(lambda w, x, t: (np.ones(3), 2.0))
    assert json.loads(json.dumps(p)) == p


def test_run_publishes_one_probe_output(monkeypatch):
    published = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data: published.append(data))
    monkeypatch.setattr(course_probe, "_user_namespace", lambda: {"f": lambda w, x, t: 1.0})
    import json

    course_probe.run(json.dumps(request().message()))
    assert len(published) == 1 and list(published[0]) == [model.PROBE_MIME]
    outputs = [{"output_type": "display_data", "data": published[0], "metadata": {}},
               {"output_type": "stream", "name": "stdout", "text": "hi"},
               {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}}]
    assert payloads_from_outputs(outputs) == [published[0][model.PROBE_MIME]]


def test_run_outside_ipython_is_a_clear_error():
    import json

    with pytest.raises(RuntimeError, match="IPython kernel"):
        course_probe.run(json.dumps(request().message()))


# ------------------------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("kind", sorted(k for k, v in KINDS.items() if not v.per_student))
def test_inputs_are_deterministic_and_seed_dependent(kind):
    a = course_inputs.make_inputs(kind, 11, {})
    b = course_inputs.make_inputs(kind, 11, {})
    c = course_inputs.make_inputs(kind, 12, {})
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key]))
    if kind != "polyfit.fit" and kind != "polyfit.design_matrix":  # default sin data on a fixed grid
        assert any(not np.array_equal(np.asarray(a[k]), np.asarray(c[k])) for k in a)
    assert all(name in a for name in KINDS[kind].call.kernel_inputs())


def test_knn_inputs_are_integer_pixels():
    for kind in ("knn.distances", "knn.classifier", "knn.cross_validate"):
        inputs = course_inputs.make_inputs(kind, 4, {})
        for key in ("X", "Y", "X_train", "X_test"):
            if key in inputs:
                arr = inputs[key]
                assert arr.dtype == np.float64 and np.all(arr == np.round(arr)) and arr.min() >= 0


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [2, 4, 5])
def test_vote_tie_rows_put_the_larger_label_nearest(seed, k):
    inputs = course_inputs.make_inputs("knn.predict_labels", seed, {"k": k, "ties": "vote"})
    d, y = inputs["dists"], inputs["y_train"]
    for row in d:
        near = y[np.argsort(row)[:k]]
        counts = np.bincount(near, minlength=10)
        tied = np.flatnonzero(counts == counts.max())
        assert len(tied) == 2 and max(tied) >= 8 and near[0] == max(tied)


def test_unknown_kind_and_params():
    with pytest.raises(ValueError, match="unknown probe kind"):
        course_inputs.make_inputs("nope", 0, {})
    with pytest.raises(ValueError, match="no parameter"):
        course_inputs.make_inputs("knn.distances", 0, {"size": 3})
    with pytest.raises(ValueError, match="seed"):
        course_inputs.make_inputs("knn.distances", -1, {})


# -------------------------------------------------------------------------------------- cell source
def _request_in(src: str) -> dict:
    """The request a probe cell carries: its one argument, a JSON string literal."""
    import json

    tree = ast.parse(src)
    call = tree.body[-1].value
    assert isinstance(call, ast.Call) and len(call.args) == 1 and not call.keywords
    return json.loads(ast.literal_eval(call.args[0]))


def test_probe_cell_source_is_one_json_literal_with_the_inputs_as_data():
    r = request("knn.distances", {"n_train": 5, "metric": "l1"}, seed=123, target="compute_distances")
    sent = _request_in(r.cell_source())
    assert sent["target"] == "compute_distances" and sent["nonce"] == r.nonce and sent["args"] == ["X", "Y"]
    inputs = course_inputs.make_inputs("knn.distances", 123, {"n_train": 5, "metric": "l1"})
    assert np.array_equal(decode(sent["inputs"]["Y"]), inputs["Y"]) and decode(sent["inputs"]["Y"]).shape == (5, 48)
    assert "123" not in r.cell_source().replace(r.nonce, "")  # the seed never reaches the kernel


def test_a_batch_of_images_is_sent_compactly_and_exactly():
    """Integer-valued pixels travel as compressed uint8 and come back as the float64 the grader made: a probe
    on 250 CIFAR-sized images stays a ~1 MB message instead of 8 MB."""
    r = request("knn.distances", {"n_train": 200, "n_test": 50, "dim": 3072}, seed=5, target="f")
    src = r.cell_source()
    assert len(src) < 1_200_000
    sent = _request_in(src)
    inputs = course_inputs.make_inputs("knn.distances", 5, {"n_train": 200, "n_test": 50, "dim": 3072})
    for name in ("X", "Y"):
        got = decode(sent["inputs"][name])
        assert got.dtype == np.float64 and np.array_equal(got, inputs[name])
    x = np.array([0.5, -3.0])  # not integer-valued: sent as it is
    assert decode(course_probe.json.loads(json.dumps(_encode(x)))).tolist() == [0.5, -3.0]


def test_real_valued_inputs_are_not_compressed_in_vain(monkeypatch):
    """Standardised pixels do not shrink under zlib: the grader sends them as they are without trying (the
    3072-dimension distance probe spent 80 ms of CPU per submission compressing and discarding), while
    integer-valued pixels (sent as uint8) are still tried; both arrive exactly."""
    from autograder.probes import request as request_module

    compressed: list[int] = []
    real_compress = request_module.zlib.compress
    monkeypatch.setattr(request_module.zlib, "compress", lambda data, level: compressed.append(len(data))
                        or real_compress(data, level))
    params = {"values": "standardised", "n_train": 8, "n_test": 6, "dim": 3072}
    sent = _request_in(request("knn.distances", params, seed=9, target="f").cell_source())
    inputs = course_inputs.make_inputs("knn.distances", 9, params)
    assert compressed == []
    for name in ("X", "Y"):
        assert "zlib" not in sent["inputs"][name] and np.array_equal(decode(sent["inputs"][name]), inputs[name])
    sent = _request_in(request("knn.distances", {"n_train": 8, "n_test": 6, "dim": 3072}, seed=9).cell_source())
    inputs = course_inputs.make_inputs("knn.distances", 9, {"n_train": 8, "n_test": 6, "dim": 3072})
    assert compressed == [6 * 3072 + 128, 8 * 3072 + 128]  # X (test rows), Y: uint8 .npy, 128-byte header
    for name in ("X", "Y"):
        assert np.array_equal(decode(sent["inputs"][name]), inputs[name])


@pytest.mark.parametrize("kind", ["linear.svm_train", "linear.softmax_train"])
def test_held_out_labels_never_reach_the_kernel(kind):
    r = request(kind, seed=77)
    sent = _request_in(r.cell_source())
    full = course_inputs.make_inputs(kind, 77, {})
    assert "y_test" in full and "y_test" not in sent["inputs"]
    assert set(sent["inputs"]) == {"X_train", "y_train", "learning_rate", "reg", "num_iters", "batch_size",
                                   "X_test", "seed"}
    y_test_npy = course_probe._npy(np.ascontiguousarray(full["y_test"]), [0])
    assert y_test_npy not in r.cell_source()


def test_nonces_are_fresh_per_request():
    test = model.TestSpec("q1", "nb", 1.0, (model.ProbeSpec("polyfit.rms_error", "h", {}),) * 2)
    nonces = [r.nonce for r in probe_requests(test, 5)] + [r.nonce for r in probe_requests(test, 5)]
    assert len(set(nonces)) == 4 and all(len(n) == 32 for n in nonces)


def test_probe_cell_source_runs_against_the_kernel_module(monkeypatch):
    calls = []
    import sys
    import types
    fake = types.ModuleType("course_probe")
    fake.run = lambda *a: calls.append(a)
    monkeypatch.setitem(sys.modules, "course_probe", fake)
    r = request("polyfit.rms_error", seed=9, target="rms")
    exec(r.cell_source(), {})  # noqa: S102
    assert len(calls) == 1 and _request_in(r.cell_source())["nonce"] == r.nonce


@pytest.mark.parametrize("test_id, target, seed", [
    ("t", "f); import os; (", 1),
    ("t'); x=('", "f", 1),
    ("t", "f", -1),
    ("t", "f", True),
])
def test_new_request_rejects_bad_identifiers(test_id, target, seed):
    with pytest.raises(ValueError):
        new_request(test_id, 0, model.ProbeSpec("knn.distances", target, {}), seed)


def test_torch_inputs_are_tensors():
    seen = {}

    def f(w, x, t):
        seen.update(types={type(w), type(x), type(t)})
        return 1.0
    assert run(f, params={"torch": True})["status"] == "ok"
    assert seen["types"] == {torch.Tensor}


def test_instructor_probe_judges_locally(monkeypatch, capsys):
    def good(w, x, t):
        return float(np.sqrt(np.mean(((x[:, None] ** np.arange(len(w))) @ w - t) ** 2)))

    monkeypatch.setattr(course_probe, "_user_namespace", lambda: {"rms_error": good, "bad": lambda w, x, t: 0.0})
    course_probe.probe("polyfit.rms_error", "rms_error", M=2)
    assert "passed" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="bad"):
        course_probe.probe("polyfit.rms_error", "bad")


def test_probe_jobs():
    test = model.TestSpec("q1", "nb", 1.0, (model.ProbeSpec("polyfit.rms_error", "h", {}),
                                             model.ProbeSpec("polyfit.rms_error", "h", {"n": 9})))
    jobs = probe_jobs(probe_requests(test, 5), 10.0)
    assert [j.key for j in jobs] == ["probe:q1:0", "probe:q1:1"]
    assert all(j.kind == "probe" and j.timeout == 10.0 for j in jobs)
    assert decode(_request_in(jobs[1].source)["inputs"]["x"]).shape == (9,)
