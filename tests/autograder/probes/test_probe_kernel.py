"""The kernel side as the sandbox sees it: a top-level `course_probe` on PYTHONPATH, in a real IPython kernel."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.model import PROBE_MIME, ProbeSpec
from autograder.model import TestSpec as Spec
from autograder.probes import grade_test, new_request, payloads_from_outputs, probe_requests

KERNEL_SIDE = Path(__file__).resolve().parents[3] / "autograder" / "kernel_side"


REQUEST = new_request("t", 0, ProbeSpec("knn.distances", "f", {}), 1).message()


def test_kernel_side_imports_no_grader_code_and_no_torch(tmp_path):
    """The kernel side is the probe runner alone: no generator, no reference, no grader module."""
    assert sorted(p.name for p in KERNEL_SIDE.glob("*.py")) == ["__init__.py", "course_probe.py"]
    code = (
        "import sys, json, course_probe\n"
        f"r = json.loads({json.dumps(REQUEST)!r})\n"
        "p = course_probe.build_payload(r, {'f': lambda X, Y: X @ Y.T})\n"
        "assert p['status'] == 'ok', p\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('autograder', 'reference_impl', 'torch')]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(KERNEL_SIDE)}
    proc = subprocess.run([sys.executable, "-c", code],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_probe_through_a_real_kernel(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    env = {**os.environ, "PYTHONPATH": str(KERNEL_SIDE)}
    km.start_kernel(env=env, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        outputs: list[dict] = []

        def hook(msg):
            if msg["msg_type"] in ("display_data", "execute_result"):
                outputs.append({"output_type": msg["msg_type"], "data": msg["content"]["data"], "metadata": {}})

        kc.execute_interactive("import numpy as np\n"
                               "def f(X, Y):\n"
                               "    d2 = (X**2).sum(1)[:, None] + (Y**2).sum(1)[None] - 2 * X @ Y.T\n"
                               "    return np.sqrt(np.maximum(d2, 0))", timeout=60)
        probe = ProbeSpec("knn.distances", "f", {"n_train": 12})
        request = new_request("q1", 0, probe, 77)
        reply = kc.execute_interactive(request.cell_source(), timeout=60, output_hook=hook)
        assert reply["content"]["status"] == "ok"
        assert len(outputs) == 1 and PROBE_MIME in outputs[0]["data"]
        payloads = payloads_from_outputs(outputs)
        verdict = grade_test(Spec("q1", "nb", 1.0, (probe,)), 77, [payloads], [request.nonce])
        assert verdict.status == "passed", verdict
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "course"


@pytest.mark.parametrize("case, expected", [("correct", 1.0), ("zero/pickle_canary", 0.0),
                                            ("zero/float_subclass", 0.0)])
def test_fixture_submission_through_a_real_kernel(tmp_path, case, expected):
    """Student cells run in a kernel, then the probe cells; only payloads come back to be judged."""
    import nbformat

    from autograder.spec import load_assignment_spec

    jupyter_client = pytest.importorskip("jupyter_client")
    spec = load_assignment_spec(FIXTURE / "source", "fixture_hw")
    nb_name = "poly"
    nb = nbformat.read(str(FIXTURE / "submissions" / case / f"{nb_name}.ipynb"), as_version=4)
    Path("/tmp/course-fixture-canary-unpickled").unlink(missing_ok=True)  # absent before: its absence after counts
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "PYTHONPATH": str(KERNEL_SIDE)}, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        for cell in nb.cells:  # the student's cells, test cells left out (they are replaced by probes)
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")):
                kc.execute_interactive(cell.source, timeout=60)
        fractions = {}
        for test in spec.tests_for(nb_name):
            payloads = []
            requests = probe_requests(test, 0)
            for request in requests:
                outputs: list[dict] = []

                def hook(msg, outputs=outputs):
                    if msg["msg_type"] == "display_data":
                        outputs.append({"output_type": "display_data", "data": msg["content"]["data"]})
                kc.execute_interactive(request.cell_source(), timeout=60, output_hook=hook)
                payloads.append(payloads_from_outputs(outputs))
            fractions[test.test_id] = grade_test(test, 0, payloads, [r.nonce for r in requests]).fraction
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    affected = {"correct": "test_fit", "zero/pickle_canary": "test_fit", "zero/float_subclass": "test_rms"}[case]
    assert fractions[affected] == expected, fractions
    assert not os.path.exists("/tmp/course-fixture-canary-unpickled")
