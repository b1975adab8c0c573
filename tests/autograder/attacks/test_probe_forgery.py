"""A fully hostile kernel cannot make a wrong function pass, for every probe kind.

One synthetic assignment holds one graded test per registered kind. Each attack notebook defines, for every
kind, a "solution" that computes nothing: it reads every frame (locals and globals, up the whole stack) and
returns the first value there whose shape fits the expected result. The attacks, run in the real sandbox:

- frames:  the functions walk the stack from inside the probe call (held-out labels were once reachable);
- helper:  student code replaces the kernel-side helper's call function with one that harvests the request;
- forge:   a pre_run_cell hook reads the probe cell, publishes its own result with the request's nonce, and
           silences the real helper, so the forged result is the only one;
- double:  the hook publishes a forged result and lets the real one through as well.

Every test must score 0. The control (`leaked`) proves the harvester works: with the held-out labels and
one answer planted in the kernel's globals (what the old protocol exposed), the same functions score.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.model import SandboxUnavailable
from autograder.probes import KINDS
from autograder.probes.inputs import make_inputs

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NOTEBOOK = "forgery"


def target(kind: str) -> str:
    return "attack_" + kind.replace(".", "_")


# The expected result's shape from the arguments, as an attacker who read the notebook's API would know it.
SHAPES = {
    "knn.distances": "lambda X, Y: (len(X), len(Y))",
    "knn.predict_labels": "lambda dists, y_train, k: (len(dists),)",
    "knn.cross_validate": "lambda X, y, k_choices, num_folds: (len(k_choices), num_folds)",
    "linear.svm_loss": "lambda W, X, y, reg: tuple(W.shape)",
    "linear.softmax_loss": "lambda W, X, y, reg: tuple(W.shape)",
    "polyfit.design_matrix": "lambda x, M: (len(x), M + 1)",
    "polyfit.fit": "lambda x, t, M, lam: (M + 1,)",
    "polyfit.rms_error": "lambda w, x, t: ()",
    "polyfit.predict": "lambda w, x: (len(x),)",
}

# Per-student kinds: the answer is a variable; the numbers are the student's own (public to them), the
# answers are computed only in the grader. The attack defines each variable from what it can harvest.
QUESTION = {"speed.image_distances": "img", "speed.knn_vote": "vote", "speed.rms_of_fit": "fit",
            "speed.conv_shape": "conv", "speed.conv_params": "conv", "speed.receptive_field": "rf",
            "speed.rnn_params": "rnn", "speed.kmeans_step": "km"}
VALUE_SHAPES = {"speed.image_distances": "(2,)", "speed.conv_shape": "(3,)", "speed.kmeans_step": "(4,)"}
NUMBERS_MODULE = '''
def variant(student):
    return {"img": {"a": [[1, 2], [3, 4]], "b": [[4, 3], [2, 1]]},
            "vote": {"dists": [3.0, 1.0, 2.0, 5.0], "labels": [7, 9, 7, 1], "k": 3},
            "fit": {"w": [0.5, 1.0], "x": [0.0, 1.0, 2.0, 3.0], "t": [0.0, 3.0, 2.0, 4.0]},
            "conv": {"c_in": 3, "c_out": 16, "k": 5, "stride": 2, "padding": 1, "h": 32, "w": 28},
            "rf": {"layers": [[3, 1], [2, 2], [5, 1]]},
            "rnn": {"cell": "lstm", "input_size": 10, "hidden_size": 20},
            "km": {"points": [[0, 0], [5, 5], [-4, 1], [6, 0]], "centroids": [[0, 1], [5, 4], [-5, 0]]}}
'''

HARVEST = '''
import sys, gc, json
import numpy as np

def _walk(value, out, depth=0):
    if depth > 4 or len(out) > 5000:
        return
    if isinstance(value, np.ndarray):
        out.append(value)
    elif type(value).__name__ == "Tensor":
        out.append(value.detach().cpu().numpy())
    elif isinstance(value, dict):
        for v in list(value.values()):
            _walk(v, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in list(value)[:64]:
            _walk(v, out, depth + 1)

def harvest(args, shape):
    """Every array reachable from any frame of the stack, then from the garbage collector."""
    found = []
    frame = sys._getframe(1)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name, value in list(scope.items()):
                if not name.startswith("__"):
                    _walk(value, found)
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, np.ndarray):
            found.append(obj)
    ids = {id(a) for a in args}
    for cand in found:
        if id(cand) in ids or any(cand is a for a in args):
            continue
        if tuple(cand.shape) == tuple(shape) and cand.size > 0:
            return cand
    return np.zeros(shape) if shape else 0.0
'''


def _functions() -> str:
    """A cheating definition for every kind's target."""
    out = []
    for kind, spec in sorted(KINDS.items()):
        name = target(kind)
        if spec.call.style == "value":
            out.append(f"{name} = harvest([], {VALUE_SHAPES.get(kind, '()')})\n")
        elif spec.call.style == "classifier":
            out.append(
                f"class {name}:\n"
                f"    def train(self, X, y, **kw):\n"
                f"        self.y = y\n"
                f"    def predict(self, X, **kw):\n"
                f"        return harvest([X, self.y], (len(X),))\n")
        elif kind in ("linear.svm_loss", "linear.softmax_loss"):
            out.append(f"def {name}(*args):\n"
                       f"    dW = harvest(list(args), ({SHAPES[kind]})(*args))\n"
                       f"    return float(np.sum(dW)), dW\n")
        elif kind == "speed.l1_l2":
            out.append(f"def {name}(*args):\n    return harvest(list(args), ()), harvest(list(args), ())\n")
        else:
            out.append(f"def {name}(*args):\n    return harvest(list(args), ({SHAPES[kind]})(*args))\n")
    return "\n".join(out)


HELPER_SWAP = '''
import course_probe
_real_call = course_probe._call
def _call(request, target, inputs):
    if request["style"] == "classifier":  # skip the student's code: answer from the request itself
        return harvest([inputs[a] for a in request["train_args"]], (len(inputs[request["args"][0]]),))
    return _real_call(request, target, inputs)
course_probe._call = _call
'''

FORGE_HOOK = '''
import course_probe
from IPython import get_ipython
from IPython.display import publish_display_data

def _forge(info):
    src = info.raw_cell
    if "course_probe" not in src or "run(" not in src:
        return
    import ast
    request = json.loads(ast.literal_eval(src.split("run(", 1)[1].rsplit(")", 1)[0]))
    inputs = {k: course_probe._decode(v, False) for k, v in request["inputs"].items()}
    result = 0.0
    for v in inputs.values():
        if isinstance(v, np.ndarray):
            result = v
    payload = {"v": 2, "nonce": request["nonce"], "target": request["target"], "status": "ok",
               "result": course_probe.encode_item(result)}
    publish_display_data({course_probe.PROBE_MIME: payload})

get_ipython().events.register("pre_run_cell", _forge)
'''

SILENCE = "course_probe.publish = lambda payload: None\n"


def _question_param(kind: str) -> str:
    return f", question={QUESTION[kind]!r}" if kind in QUESTION else ""


def _source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, kind in enumerate(sorted(KINDS)):
        sol = nbformat.v4.new_code_cell("### BEGIN SOLUTION\npass\n### END SOLUTION")
        sol.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": f"sol_{i}",
                                    "schema_version": 3}
        test = nbformat.v4.new_code_cell(
            "### BEGIN HIDDEN TESTS\n"
            "from autograder.kernel_side.course_probe import probe\n"
            f"probe({kind!r}, {target(kind)!r}{_question_param(kind)})\n"
            "### END HIDDEN TESTS")
        test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": f"t_{i}",
                                     "points": 1, "schema_version": 3}
        nb.cells += [sol, test]
    return nb


# The control student: the same functions, answering zeros (deterministic, whatever the kernel holds).
CONTROL = "\ndef harvest(args, shape):\n    return np.zeros(shape) if shape else 0.0\n"


def _submission(source: nbformat.NotebookNode, prelude: str, suffix: str = "") -> bytes:
    from autograder.spec import student_source

    nb = nbformat.reads(nbformat.writes(source), as_version=4)
    first = True
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):  # as released: hidden tests removed
            cell.source = student_source(cell.source, "code", False, "test")
        if meta.get("solution"):
            cell.source = (prelude + HARVEST + _functions() + suffix) if first else "pass"
            first = False
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grading_job import GRADING_KEY, grade

    from autograder.pipeline.job import derive_seed
    from autograder.sandbox import check_sandbox, open_slot
    from autograder.spec import load_assignment_spec

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")
    src = tmp_path_factory.mktemp("forgery-src")
    (src / "hw").mkdir()
    source = _source_notebook()
    nbformat.write(source, str(src / "hw" / f"{NOTEBOOK}.ipynb"))
    (src / "hw" / "my_numbers.py").write_text(NUMBERS_MODULE)
    spec = load_assignment_spec(src, "hw")
    key = GRADING_KEY

    # the control: what the old protocol let a kernel reach (one kind's held-out labels), planted in its globals
    attacks = {"frames": "", "helper": HELPER_SWAP, "forge": FORGE_HOOK + SILENCE, "double": FORGE_HOOK}
    for test, kind in zip(spec.tests, sorted(KINDS)):
        if KINDS[kind].per_student:
            continue
        inputs = make_inputs(kind, derive_seed(0, "hw", "mallory", test.test_id, key), {})
        if "y_test" in inputs:
            attacks[f"leaked:{test.test_id}"] = f"import numpy as np\nLEAK = np.array({inputs['y_test'].tolist()})\n"
    results = {}
    with open_slot(sandbox=True) as slot:
        # the control student is graded first and again after every attacker, on the same slot
        for name, prelude in {"control": None, **attacks, "control after": None}.items():
            files = {NOTEBOOK: _submission(source, "", CONTROL) if prelude is None else _submission(source, prelude)}
            result = grade(spec, files, slot, student="mallory", cell_timeout=120.0, budget=900.0)
            results[name] = {t.test_id: t for t in result.tests}
    kinds = dict(zip((t.test_id for t in spec.tests), sorted(KINDS)))
    return results, kinds


@pytest.mark.parametrize("attack", ["frames", "helper", "forge", "double"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_hostile_kernel_cannot_pass_a_wrong_function(graded, attack, kind):
    results, kinds = graded
    test_id = next(t for t, k in kinds.items() if k == kind)
    record = results[attack][test_id]
    assert record.status != "tampered_restored", record.message  # the attacks leave the test cells as released
    assert record.score == 0.0, (attack, kind, record.status, record.message)
    if attack == "double":
        assert record.status == "rejected" and "2 results" in record.message
    if attack == "forge":
        assert record.status in ("failed", "wrong_type"), record.message


def test_the_harvester_finds_what_reaches_the_kernel(graded):
    """Control: with the held-out labels planted in the kernel (as the old protocol exposed them), the
    frame-reading classifiers score full marks, so the attacks above are able to pass where a key is reachable."""
    results, kinds = graded
    trained = [t for t, k in kinds.items() if KINDS[k].call.style == "classifier" and "train" in k]
    assert trained
    for test_id in trained:
        record = results[f"leaked:{test_id}"][test_id]
        assert record.status == "passed", record.message


def test_the_attackers_change_nothing_for_the_student_graded_after_them(graded):
    results, _kinds = graded
    before = {t: (r.status, r.score, r.message) for t, r in results["control"].items()}
    after = {t: (r.status, r.score, r.message) for t, r in results["control after"].items()}
    assert before == after


def test_spec_covers_every_kind():
    assert len(_source_notebook().cells) == 2 * len(KINDS)
    assert set(SHAPES) | set(QUESTION) | {k for k, s in KINDS.items() if s.call.style == "classifier"} == set(KINDS)


def test_kernel_side_folder_holds_no_generator():
    folder = Path(__file__).resolve().parents[3] / "autograder" / "kernel_side"
    text = "".join(p.read_text() for p in folder.glob("*.py"))
    assert "default_rng" not in text and "y_test" not in text
