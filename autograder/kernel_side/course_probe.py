"""Kernel-side probe runner: call the student's code on the inputs the grader sent, publish the result as data.

The grader sends a cell such as

    import course_probe as _course_probe
    _course_probe.run('{"v": 2, "nonce": "…", "target": "compute_distances", "style": "function",
                        "args": ["X", "Y"], "inputs": {"X": {"npy": "<base64>"}, …}, …}')

`run` decodes the inputs (`.npy` without pickle), looks the target up in the notebook namespace, calls it
(catching BaseException, SystemExit and KeyboardInterrupt included), and publishes ONE display output of
MIME type PROBE_MIME whose JSON payload is:

    {"v": 2, "nonce", "target",
     "status": "ok" | "raised" | "missing" | "too_large",
     "result": ITEM | null,            # status "ok"
     "error": {"type", "message"}}     # other statuses

    ITEM = {"type": "numpy.ndarray", "npy": "<base64 .npy bytes>"}     # encodable values
         | {"type": "builtins.tuple", "items": [ITEM, ...]}           # tuples / lists (one level deep)
         | {"type": "mymodule.Evil"}                                   # anything else: type name only

Only exact types are encoded (`type(x) is ...`, never isinstance): numpy.ndarray and numpy.matrix with
bool/int/uint/float dtypes, exact torch.Tensor (converted to numpy), Python int/float/bool and numpy scalars.
Methods of student-defined subclasses are never called.

Nothing here is trusted, and nothing here can decide a verdict: the request holds no expected value and no
held-out data, and the grader judges whatever is published as untrusted data. This module imports only the
standard library and numpy (torch only when the request asks for tensors).
"""
from __future__ import annotations

import base64
import io
import json
import sys
import zlib
from typing import Any

import numpy as np

PROBE_MIME = "application/vnd.course.probe+json"  # = autograder.model.PROBE_MIME (kernel side imports no grader)
PAYLOAD_VERSION = 2
MAX_PAYLOAD_BYTES = 16 * 2**20  # total .npy bytes per result
MAX_ITEMS = 16  # elements of a returned tuple/list
MAX_MESSAGE = 300

_SCALAR_TYPES = (int, float, bool)
_NUMPY_SCALARS = (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64,
)
_ARRAY_KINDS = "biuf"  # bool, signed, unsigned, float: nothing that needs pickle or a custom dtype


class _TooLarge(Exception):
    pass


def type_name(x: object) -> str:
    t = type(x)  # type() cannot be overridden by the object; __module__/__qualname__ could lie, but only
    return f"{getattr(t, '__module__', '?')}.{getattr(t, '__qualname__', '?')}"  # name the type, never trusted


def _npy(array: np.ndarray, budget: list[int]) -> str:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    data = buf.getvalue()
    budget[0] += len(data)
    if budget[0] > MAX_PAYLOAD_BYTES:
        raise _TooLarge()
    return base64.b64encode(data).decode("ascii")


def _torch_tensor_type() -> type | None:
    torch = sys.modules.get("torch")  # never import torch here: only a student who used it returns tensors
    t = getattr(torch, "Tensor", None) if torch is not None else None
    return t if isinstance(t, type) else None


def encode_item(x: object, budget: list[int] | None = None, depth: int = 0) -> dict[str, Any]:
    """Plain-data form of one returned value (see the module docstring)."""
    budget = budget if budget is not None else [0]
    name = type_name(x)
    t = type(x)
    if t is tuple or t is list:
        if depth >= 1 or len(x) > MAX_ITEMS:  # type: ignore[arg-type]
            return {"type": name}
        return {"type": name, "items": [encode_item(v, budget, depth + 1) for v in x]}  # type: ignore[attr-defined]
    if t is np.ndarray or t is np.matrix:
        dtype = x.dtype  # type: ignore[attr-defined]
        if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
            return {"type": name, "dtype": str(dtype) if dtype.kind != "V" else "structured"}
        arr = np.asarray(x) if t is np.matrix else x
        return {"type": name, "npy": _npy(np.ascontiguousarray(arr), budget)}
    if t in _SCALAR_TYPES or t in _NUMPY_SCALARS:
        try:
            arr = np.asarray(x)  # exact builtin / numpy scalar: no student method involved
        except OverflowError:  # an int beyond int64
            return {"type": name}
        if arr.dtype.kind not in _ARRAY_KINDS:  # numpy 2 turns ints beyond int64 into object arrays
            return {"type": name}
        return {"type": name, "npy": _npy(arr, budget)}
    tensor = _torch_tensor_type()
    if tensor is not None and t is tensor:
        try:
            arr = x.detach().cpu().resolve_conj().resolve_neg().numpy()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - bfloat16, sparse, meta tensors ...: report the type only
            return {"type": name}
        if arr.dtype.kind not in _ARRAY_KINDS:
            return {"type": name, "dtype": str(arr.dtype)}
        return {"type": name, "npy": _npy(np.ascontiguousarray(arr), budget)}
    return {"type": name}


def _describe(exc: BaseException) -> dict[str, str]:
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "<unprintable message>"
    return {"type": type(exc).__name__, "message": message[:MAX_MESSAGE]}


def _decode(value: Any, as_torch: bool) -> Any:
    if isinstance(value, dict) and "npy" in value:
        data = base64.b64decode(value["npy"])
        arr = np.load(io.BytesIO(zlib.decompress(data) if value.get("zlib") else data), allow_pickle=False)
        if "as" in value:  # sent in a smaller exact dtype: back to the one the notebook states
            arr = arr.astype(np.dtype(value["as"]))
        if as_torch:
            import torch

            return torch.from_numpy(arr)
        return arr
    if isinstance(value, list):
        return [_decode(v, as_torch) for v in value]
    return value


def _seed_rngs(seed: int) -> None:
    """Students' SGD samples minibatches with np.random or torch: seeded, a re-grade gives the same result."""
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def _call(request: dict[str, Any], target: object, inputs: dict[str, Any]) -> object:
    if request["style"] == "value":
        return target
    args = [inputs[a] for a in request["args"]]
    if request["style"] == "function":
        return target(*args)  # type: ignore[operator]
    if request.get("seed_rngs"):
        _seed_rngs(int(inputs["seed"]))
    model = target()  # type: ignore[operator]
    model.train(*[inputs[a] for a in request["train_args"]], **{k: inputs[k] for k in request["train_kwargs"]})
    return model.predict(*args, **{k: inputs[k] for k in request["predict_kwargs"]})


def build_payload(request: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    """Run one probe request against `namespace` and return the payload (nothing published)."""
    target = request["target"]
    payload: dict[str, Any] = {"v": PAYLOAD_VERSION, "nonce": request["nonce"], "target": target,
                               "status": "ok", "result": None}
    if target not in namespace:
        payload["status"] = "missing"
        payload["error"] = {"type": "NameError",
                            "message": f"{target} is not defined; run the cell that defines it"}
        return payload
    inputs = {name: _decode(v, bool(request.get("torch"))) for name, v in request["inputs"].items()}
    try:
        result = _call(request, namespace[target], inputs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt are the student's too
        payload["status"] = "raised"
        payload["error"] = _describe(exc)
        return payload
    try:
        payload["result"] = encode_item(result)
    except _TooLarge:
        payload["status"] = "too_large"
        payload["error"] = {"type": "TooLarge",
                            "message": f"the result is larger than {MAX_PAYLOAD_BYTES // 2**20} MiB"}
    return payload


def _user_namespace() -> dict[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("course_probe.run must be called inside an IPython kernel")
    return shell.user_ns


def publish(payload: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({PROBE_MIME: payload})


def run(request_json: str) -> None:
    """Entry point of a probe cell: run the request in the kernel's namespace and publish its payload."""
    publish(build_payload(json.loads(request_json), _user_namespace()))


def probe(kind: str, target: str, **params: Any) -> None:
    """Hidden-test declaration. In an instructor's kernel: judge the current solution locally.

    The grader never executes hidden tests (it parses these calls); this function only helps instructors
    check their source notebook. It needs the trusted `autograder.probes` (absent in students' kernels).
    """
    try:
        from autograder.model import ProbeSpec
        from autograder.probes import judge, new_request
    except ImportError:
        print(f"probe {kind} on {target}: declared (grader not importable here, nothing checked)")
        return
    spec = ProbeSpec(kind=kind, target=target, params=dict(params))
    request = new_request("local", 0, spec, 12345)
    payload = build_payload(request.message(), _user_namespace())
    verdict = judge(spec, request.seed, payload, request.nonce)
    print(f"probe {kind} on {target}: {verdict.status} ({verdict.fraction:.2f}) {verdict.message}")
    if verdict.status != "passed":
        raise AssertionError(f"{target}: {verdict.message}")
