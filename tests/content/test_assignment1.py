"""Assignment 1 (kNN, linear classifiers) as teaching material: both notebooks run, draw what they promise and
print which data they use; the released notebooks fail only in the stubs; the points add up to the course
policy; the data helper's synthetic images are the reference generator's and a missing CIFAR-10 is one clear
line; and, per graded function, correct torch float32 / float64 / NumPy answers score full marks while
plausible wrong answers score 0 on that function only, and fail a visible check too.
"""
from __future__ import annotations

import importlib
import re
import sys
import tomllib

import numpy as np
import pytest
from notebook_run import ROOT, errors, execute, figure_cells, traceback_text

from autograder.probes.local import exec_cells, judge_locally
from autograder.spec import load_assignment_spec, student_source

ASSIGNMENT = "assignment1"
SOURCE, RELEASE = ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT
NOTEBOOKS = ("knn", "linear_classifier")
# knn: sample grid, distance matrix, cross-validation; linear: loss curve, heat maps + templates
EXPECTED_FIGURES = {"knn": 3, "linear_classifier": 2}
DRAWN_WITHOUT_SOLUTIONS = {"knn": 1, "linear_classifier": 0}  # only the sample grid needs no exercise


@pytest.fixture(scope="module")
def spec():
    return load_assignment_spec(ROOT / "source", ASSIGNMENT)


@pytest.fixture(scope="module")
def no_cifar(tmp_path_factory):
    """CIFAR10_DIR unset and the default folder absent: the notebooks use the synthetic images."""
    data = importlib.import_module("course_data") if str(SOURCE) in sys.path else _course_data()
    assert not (data.Path(data.DEFAULT_DIR) / data.CIFAR10_FOLDER).exists(), "this machine has CIFAR-10"
    return data


def _course_data():
    sys.path.insert(0, str(SOURCE))
    try:
        return importlib.import_module("course_data")
    finally:
        sys.path.remove(str(SOURCE))


@pytest.fixture(scope="module")
def one_thread_kernels():
    with pytest.MonkeyPatch.context() as mp:  # kernels inherit it: many small tensor operations
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def executed(no_cifar, one_thread_kernels):
    # run in the notebooks' own folder: course_data.py sits next to them, as nbgrader releases it
    return {name: execute(SOURCE / f"{name}.ipynb", SOURCE) for name in NOTEBOOKS}


@pytest.fixture(scope="module")
def executed_release(no_cifar, one_thread_kernels):
    return {name: execute(RELEASE / f"{name}.ipynb", RELEASE, allow_errors=True) for name in NOTEBOOKS}


def _stream(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.output_type == "stream")


# ------------------------------------------------------------------------------------ the notebooks run
@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_runs_and_draws_every_promised_figure(executed, name):
    nb = executed[name]
    assert errors(nb) == [], [f"cell {i}: {o.ename}: {o.evalue}" for i, o in errors(nb)]
    promised, drawn = figure_cells(nb)
    assert len(promised) == EXPECTED_FIGURES[name], f"{name}: {len(promised)} figures promised"
    assert promised == drawn, f"{name}: figures promised after cells {promised}, images in cells {drawn}"
    text = _stream(nb)
    assert "Data: synthetic CIFAR-like images (no CIFAR-10 at" in text, "the notebook must say which data it uses"
    assert "CIFAR-10 accuracy" not in text


@pytest.mark.slow
def test_knn_results_are_printed(executed):
    text = _stream(executed["knn"])
    match = re.search(r"best k by cross-validation: (\d+); test accuracy with k = \1: ([\d.]+)%", text)
    assert match, text[-800:]
    assert int(match.group(1)) in (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
    assert 10.0 < float(match.group(2)) <= 100.0, "better than chance (10 %)"


@pytest.mark.slow
def test_linear_results_are_printed(executed):
    text = _stream(executed["linear_classifier"])
    for name in ("LinearSVM", "Softmax"):
        match = re.search(rf"{name}: best learning rate \S+, reg \S+: validation ([\d.]+)%, test ([\d.]+)%", text)
        assert match and float(match.group(2)) > 15.0, f"{name}: {text[-800:]}"
    assert "relative error against autograd" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_released_notebook_fails_only_in_the_stubs(executed_release, name):
    nb = executed_release[name]
    found = errors(nb)
    assert found, "the released notebook ran without a single NotImplementedError: are the solutions stripped?"
    assert {o.ename for _, o in found} == {"NotImplementedError"}, \
        [f"cell {i}: {o.ename}: {o.evalue}" for i, o in found]
    for i, out in found:  # raised by a stub, i.e. from inside a solution region
        assert "raise NotImplementedError()" in traceback_text(out), f"cell {i}: {traceback_text(out)[-300:]}"
    first_solution = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    assert all(i > first_solution for i, _ in found), "cells before the first exercise must run cleanly"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            assert not [o for o in cell.outputs if o.output_type == "error"], f"solution cell {i} fails when defined"
    promised, drawn = figure_cells(nb)
    assert drawn == promised[:DRAWN_WITHOUT_SOLUTIONS[name]]


# ------------------------------------------------------------------------------------------ data helper
def test_synthetic_images_are_the_reference_generator(no_cifar):
    from reference_impl.data import synthetic_cifar

    for n, seed in ((7, 0), (5, 1)):
        X, y = no_cifar.synthetic_images(n, seed)
        X_ref, y_ref = synthetic_cifar(n, seed=seed, flatten=True)
        assert np.array_equal(X, X_ref) and np.array_equal(y, y_ref)


def test_load_images_without_cifar_is_synthetic_and_says_so(no_cifar, monkeypatch, capsys):
    monkeypatch.delenv(no_cifar.ENV_VAR, raising=False)
    data = no_cifar.load_images(12, 4)
    out = capsys.readouterr().out
    assert data.source == "synthetic" and "synthetic CIFAR-like images" in out and no_cifar.ENV_VAR in out
    assert tuple(data.X_train.shape) == (12, 3072) and str(data.X_train.dtype) == "torch.float32"
    assert tuple(data.y_test.shape) == (4,) and str(data.y_test.dtype) == "torch.int64"
    assert float(data.X_train.min()) >= 0 and float(data.X_train.max()) <= 255
    assert tuple(data.images(data.X_test).shape) == (4, 32, 32, 3)
    again = no_cifar.load_images(12, 4, verbose=False)
    assert bool((again.X_train == data.X_train).all()), "the synthetic images are seeded"


@pytest.mark.parametrize("content", ["empty", "partial"])
def test_named_cifar_folder_without_the_data_is_one_clear_error(no_cifar, monkeypatch, tmp_path, content):
    if content == "partial":
        (tmp_path / no_cifar.CIFAR10_FOLDER).mkdir()
        (tmp_path / no_cifar.CIFAR10_FOLDER / "data_batch_1").write_bytes(b"x")
    monkeypatch.setenv(no_cifar.ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        no_cifar.load_images(10, 10)
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path) in msg and no_cifar.CIFAR10_URL in msg
    assert f"unset {no_cifar.ENV_VAR}" in msg


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, 60_000])
def test_bad_sizes_are_refused(no_cifar, bad):
    with pytest.raises(ValueError, match="num_train must be a whole number"):
        no_cifar.load_images(bad, 10)


# ------------------------------------------------------------------------------------------- the points
def test_points_add_up_to_course_policy(spec):
    policy = tomllib.loads((ROOT / "course.toml").read_text())
    manual = [c for name in NOTEBOOKS for c in spec.cells[name] if c.grade and c.solution]
    assert [c.cell_type for c in manual] == ["markdown"], "one manually graded written answer"
    assert spec.total_points + sum(c.points for c in manual) == pytest.approx(policy["items"][ASSIGNMENT]["points"])


def test_rubric_sums_to_the_answer_points_and_stays_in_source(spec):
    (answer,) = [c for c in spec.cells["knn"] if c.grade and c.solution]
    items = [float(p) for p in re.findall(r"^- \*\*(\d+(?:\.\d+)?) \(question \d\)\.\*\*", answer.source, re.MULTILINE)]
    assert len(items) == 2 and sum(items) == pytest.approx(answer.points), items
    released = (RELEASE / "knn.ipynb").read_text()
    assert "Rubric" not in released and "Model answer" not in released and "YOUR ANSWER HERE" in released
    assert (RELEASE / "course_data.py").read_text() == (SOURCE / "course_data.py").read_text()


# ------------------------------------------------- per graded function: right answers and wrong answers
# Every notebook's setup cells run once; each variant then runs the solution cells (one of them changed) and
# the visible checks as a student would, in a copy of that namespace, and is judged through the same probe
# requests and comparators as grading.
SEEDS = (3, 4242)  # the same mistake must cost every student the same


@pytest.fixture(scope="module")
def setups(spec):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many tiny operations: one thread is faster and unaffected by a loaded machine
    out = {}
    sys.path.insert(0, str(SOURCE))
    try:
        for name in NOTEBOOKS:
            sources = [c.source for c in spec.cells[name]
                       if c.cell_type == "code" and c.grade_id and not c.solution and not c.grade]
            out[name] = exec_cells(sources)
        yield out
    finally:
        sys.path.remove(str(SOURCE))
        torch.set_num_threads(threads)


def _apply(source: str, changes: list[tuple[str, str]], grade_id: str) -> str:
    for old, new in changes:
        assert old in source, f"{grade_id} no longer contains {old!r}: update this test"
        source = source.replace(old, new)
    return source


def run_variant(spec, setups, name: str, changes: dict[str, list[tuple[str, str]]], seed: int):
    """(visible failures {test_id: message}, verdicts {test_id: Verdict}) of the notebook with `changes`."""
    ns = dict(setups[name])
    visible: dict[str, str] = {}
    for cell in spec.cells[name]:
        if cell.cell_type != "code" or not cell.grade_id:
            continue
        if cell.solution:
            exec_cells([_apply(cell.source, changes.get(cell.grade_id, []), cell.grade_id)], ns)
        elif cell.is_test:
            try:
                with np.errstate(all="ignore"):
                    exec_cells([student_source(cell.source, "code", False, cell.grade_id)], ns)
            except Exception as exc:  # noqa: BLE001 - any failing visible check counts
                visible[cell.grade_id] = f"{type(exc).__name__}: {exc}"
    unknown = set(changes) - {c.grade_id for c in spec.cells[name]}
    assert not unknown, unknown
    with np.errstate(all="ignore"):
        verdicts = {t.test_id: judge_locally(ns, t, seed) for t in spec.tests_for(name)}
    return visible, verdicts


def _region(body: str) -> str:
    return "    ### BEGIN SOLUTION\n" + body.strip("\n") + "\n    ### END SOLUTION"


def _replace_region(source: str, body: str) -> list[tuple[str, str]]:
    start, end = source.index("    ### BEGIN SOLUTION"), source.index("    ### END SOLUTION")
    return [(source[start:end + len("    ### END SOLUTION")], _region(body))]


# A float32 student: converts the inputs, computes and returns float32 tensors.
FLOAT32 = {
    "knn": {
        "knn_dist_solution": [("    d2 = (X * X)", "    X, Y = X.float(), Y.float()\n    d2 = (X * X)")],
        "knn_l1_solution": [("    D = torch.empty(", "    X, Y = X.float(), Y.float()\n    D = torch.empty(")],
        "knn_labels_solution": [("    nearest = torch.topk(dists,", "    dists = dists.float()\n    nearest = torch.topk(dists,")],
        "knn_class_solution": [("self.X_train, self.y_train = X, y", "self.X_train, self.y_train = X.float(), y"),
                               ("compute_distances(X, self.X_train)", "compute_distances(X.float(), self.X_train)")],
        "knn_cv_solution": [("    X_folds, y_folds = torch.tensor_split(X,", "    X = X.float()\n    X_folds, y_folds = torch.tensor_split(X,"),
                            ("num_folds, dtype=torch.float64)", "num_folds)"), (".double().mean()", ".float().mean()")],
    },
    "linear_classifier": {
        **{g: [("    N, C = X.shape[0], W.shape[1]\n", "    W, X = W.float(), X.float()\n    N, C = X.shape[0], W.shape[1]\n")]
           for g in ("svm_naive_solution", "softmax_naive_solution")},
        **{g: [("    N = X.shape[0]\n", "    W, X = W.float(), X.float()\n    N = X.shape[0]\n")]
           for g in ("svm_vectorized_solution", "softmax_vectorized_solution")},
        "classifier_solution": [("        num_train, dim = X.shape\n", "        X = X.float()\n        num_train, dim = X.shape\n"),
                                ("torch.argmax(X @ self.W, dim=1)", "torch.argmax(X.float() @ self.W, dim=1)")],
    },
}

NUMPY_KNN = {
    "knn_dist_solution": """
    import numpy as np
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    d2 = np.sum(X ** 2, axis=1)[:, None] + np.sum(Y ** 2, axis=1)[None, :] - 2 * X @ Y.T
    return np.sqrt(np.maximum(d2, 0))""",
    "knn_l1_solution": """
    import numpy as np
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    return np.stack([np.abs(Y - x).sum(axis=1) for x in X])""",
    "knn_labels_solution": """
    import numpy as np
    dists, y_train = np.asarray(dists), np.asarray(y_train)
    y_pred = np.zeros(dists.shape[0])
    for i in range(dists.shape[0]):
        y_pred[i] = np.argmax(np.bincount(y_train[np.argsort(dists[i])[:k]]))
    return y_pred""",
    "knn_cv_solution": """
    import numpy as np
    X, y = np.asarray(X), np.asarray(y)
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    acc = np.zeros((len(k_choices), num_folds))
    for f in range(num_folds):
        X_tr = np.concatenate([X_folds[i] for i in range(num_folds) if i != f])
        y_tr = np.concatenate([y_folds[i] for i in range(num_folds) if i != f])
        dists = compute_distances(X_folds[f], X_tr)
        for j, k in enumerate(k_choices):
            acc[j, f] = np.mean(predict_labels(dists, y_tr, k) == y_folds[f])
    return acc""",
}
NUMPY_KNN_CLASS = '''import numpy as np


class KNearestNeighbor:
    def train(self, X, y):
        self.X_train, self.y_train = np.asarray(X), np.asarray(y)

    def predict(self, X, k=1):
        return predict_labels(compute_distances(np.asarray(X), self.X_train), self.y_train, k)
'''
_NP_HEAD = """
    import numpy as np
    W, X, y = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64), np.asarray(y)
    N, C = X.shape[0], W.shape[1]
    rows = np.arange(N)"""
NUMPY_LINEAR = {
    "svm_naive_solution": _NP_HEAD + """
    dW, loss = np.zeros(W.shape), 0.0
    for i in range(N):
        scores = X[i].dot(W)
        for j in range(C):
            margin = scores[j] - scores[y[i]] + 1
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W""",
    "svm_vectorized_solution": _NP_HEAD + """
    scores = X @ W
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    coef = (margins > 0).astype(float)
    coef[rows, y] = -coef.sum(axis=1)
    return margins.sum() / N + reg * np.sum(W * W), X.T @ coef / N + 2 * reg * W""",
    "softmax_naive_solution": _NP_HEAD + """
    dW, loss = np.zeros(W.shape), 0.0
    for i in range(N):
        scores = X[i].dot(W)
        p = np.exp(scores - scores.max())
        p /= p.sum()
        loss -= np.log(p[y[i]])
        for j in range(C):
            dW[:, j] += (p[j] - (j == y[i])) * X[i]
    return loss / N + reg * np.sum(W * W), dW / N + 2 * reg * W""",
    "softmax_vectorized_solution": _NP_HEAD + """
    scores = X @ W
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[rows, y])) + reg * np.sum(W * W)
    p[rows, y] -= 1
    return loss, X.T @ p / N + 2 * reg * W""",
}
NUMPY_LINEAR_CLASS = '''import numpy as np


class LinearClassifier:
    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        X, y = np.asarray(X), np.asarray(y)
        num_train, dim = X.shape
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, int(np.max(y)) + 1)
        loss_history = []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            self.W -= learning_rate * grad
            loss_history.append(float(loss))
        return loss_history

    def predict(self, X):
        return np.argmax(np.asarray(X) @ self.W, axis=1)


class LinearSVM(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
'''


def _numpy_changes(spec, name: str) -> dict[str, list[tuple[str, str]]]:
    bodies, whole = (NUMPY_KNN, ("knn_class_solution", NUMPY_KNN_CLASS)) if name == "knn" else \
        (NUMPY_LINEAR, ("classifier_solution", NUMPY_LINEAR_CLASS))
    changes = {g: _replace_region(spec.cell(name, g).source, body) for g, body in bodies.items()}
    changes[whole[0]] = [(spec.cell(name, whole[0]).source, whole[1])]
    return changes


def _variants(spec, name):
    return {"float64": {}, "float32": FLOAT32[name], "numpy": _numpy_changes(spec, name)}


@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.parametrize("variant", ["float64", "float32", "numpy"])
def test_correct_torch_float32_float64_and_numpy_answers_score_full_marks(spec, setups, name, variant):
    visible, verdicts = run_variant(spec, setups, name, _variants(spec, name)[variant], seed=SEEDS[0])
    assert visible == {}, f"{variant}: visible checks fail: {visible}"
    assert len(verdicts) == {"knn": 5, "linear_classifier": 5}[name]
    bad = {t: v for t, v in verdicts.items() if v.fraction != 1.0}
    assert not bad, f"{variant}: {bad}"


# (notebook, solution grade_id, [(old, new), ...], graded test, expected fraction there, other tests that may
#  lose points too because they call the changed function, fragment of the visible check's message)
_BOTH_REG = ("reg * torch.sum(W * W)\n    dW = dW / N + 2 * reg * W", "0.5 * reg * torch.sum(W * W)\n    dW = dW / N + reg * W")
_KNN_USERS = ("test_knn_class", "test_knn_cv")
_ADDMM = ("(X * X).sum(dim=1)[:, None] + (Y * Y).sum(dim=1)[None, :] - 2.0 * (X @ Y.T)",
          "torch.addmm((X * X).sum(dim=1)[:, None] + (Y * Y).sum(dim=1)[None, :], X, Y.T, alpha=-2.0)")
WRONG = [
    # L2 distances
    ("knn", "knn_dist_solution", [("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.clamp(d2, min=0.0)")],
     "test_knn_dist", 0.0, (), "squared distances"),
    ("knn", "knn_dist_solution", [("torch.clamp(d2, min=0.0))", "torch.clamp(d2, min=0.0) / X.shape[1])")],
     "test_knn_dist", 0.0, (), "expected"),
    ("knn", "knn_dist_solution", [("- 2.0 * (X @ Y.T)", "+ 2.0 * (X @ Y.T)")], "test_knn_dist", 0.0, _KNN_USERS,
     "expected"),
    ("knn", "knn_dist_solution", [("min=0.0))", "min=0.0)).T")], "test_knn_dist", 0.0, _KNN_USERS, "(3, 2)"),
    # no clamp: NaN on (nearly) identical standardised images, for every seed; the classifier and
    # cross-validation use integer pixels, where float64 is exact, so they keep their points
    ("knn", "knn_dist_solution", [("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.sqrt(d2)")], "test_knn_dist", 0.0,
     (), "clamp the squared distances at 0"),
    ("knn", "knn_dist_solution", [("    d2 = (X * X)", "    X, Y = X.float(), Y.float()\n    d2 = (X * X)"),
                                  ("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.sqrt(d2)")], "test_knn_dist", 0.0,
     (), "clamp the squared distances at 0"),
    ("knn", "knn_dist_solution", [_ADDMM, ("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.sqrt(d2)")],
     "test_knn_dist", 0.0, (), "clamp the squared distances at 0"),
    # an epsilon under the root: √ε where the distance is 0
    ("knn", "knn_dist_solution", [("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.sqrt(torch.clamp(d2, min=0.0) + 1e-8)")],
     "test_knn_dist", 0.0, (), "add nothing under the square root"),
    # L1 distances
    ("knn", "knn_l1_solution", [("(Y - X[i]).abs().sum(dim=1)", "((Y - X[i]) ** 2).sum(dim=1).sqrt()")],
     "test_knn_l1", 0.0, (), "these are L2 distances"),
    ("knn", "knn_l1_solution", [("(Y - X[i]).abs().sum(dim=1)", "(Y - X[i]).sum(dim=1)")], "test_knn_l1", 0.0, (),
     "absolute value"),
    ("knn", "knn_l1_solution", [("(Y - X[i]).abs().sum(dim=1)", "(Y - X[i]).abs().max(dim=1).values")],
     "test_knn_l1", 0.0, (), "expected"),
    # the vote: the tie rules cost the vote's points only, not the classifier's or cross-validation's
    ("knn", "knn_labels_solution", [("return torch.argmax(counts, dim=1)",
                                     "return num_classes - 1 - torch.argmax(counts.flip(1), dim=1)")],
     "test_knn_labels", 0.0, (), "SMALLER label"),
    ("knn", "knn_labels_solution", [("    return torch.argmax(counts, dim=1)",
                                     ("    import collections\n    return torch.tensor([collections.Counter(r)"
                                      ".most_common(1)[0][0] for r in votes.tolist()])"))],
     "test_knn_labels", 0.0, (), "SMALLER label"),
    ("knn", "knn_labels_solution", [("torch.topk(dists, k, dim=1", "torch.topk(dists, 1, dim=1")],
     "test_knn_labels", 0.0, _KNN_USERS, "k = 4"),
    ("knn", "knn_labels_solution", [("largest=False)", "largest=True)")], "test_knn_labels", 0.0, _KNN_USERS,
     "k = 1"),
    # the classifier
    ("knn", "knn_class_solution", [("self.y_train, k)", "self.y_train, 1)")], "test_knn_class", 0.0, (),
     "pass k on"),
    ("knn", "knn_class_solution", [("predict_labels(compute_distances(", "predict_labels(compute_distances_l1(")],
     "test_knn_class", 0.0, (), "L2 distance"),
    ("knn", "knn_class_solution", [("compute_distances(X, self.X_train)", "compute_distances(self.X_train, X)")],
     "test_knn_class", 0.0, (), "one label per test point"),
    # cross-validation
    ("knn", "knn_cv_solution", [("for i in range(num_folds) if i != f]", "for i in range(num_folds)]")],
     "test_knn_cv", 0.0, (), "held-out fold"),
    ("knn", "knn_cv_solution", [("torch.tensor_split(X, num_folds), torch.tensor_split(y, num_folds)",
                                 "torch.chunk(X, num_folds), torch.chunk(y, num_folds)")],
     "test_knn_cv", 0.0, (), "torch.chunk"),
    ("knn", "knn_cv_solution", [("accuracies[j, f] = (pred", "accuracies[j, f] = 100 * (pred")], "test_knn_cv",
     0.0, (), "percentages"),
    ("knn", "knn_cv_solution", [("return accuracies", "return accuracies.T")], "test_knn_cv", 0.0, (),
     "one row per k"),
    # SVM, loops
    ("linear_classifier", "svm_naive_solution", [_BOTH_REG], "test_svm_naive", 0.0, (), "0.5 * reg"),
    ("linear_classifier", "svm_naive_solution", [("loss = loss / N + reg", "loss = loss + reg"),
                                                 ("dW = dW / N + 2", "dW = dW + 2")],
     "test_svm_naive", 0.0, (), "average the loss"),
    ("linear_classifier", "svm_naive_solution", [("scores[yi] + 1.0", "scores[yi]")], "test_svm_naive", 0.0, (),
     "expected loss"),
    ("linear_classifier", "svm_naive_solution", [("            if j == yi:\n                continue\n", "")],
     "test_svm_naive", 0.5, (), "no margin of its own"),
    # SVM, vectorised
    ("linear_classifier", "svm_vectorized_solution", [("/ N + reg * torch.sum", "/ N + 0.5 * reg * torch.sum"),
                                                      ("/ N + 2 * reg * W", "/ N + reg * W")],
     "test_svm_vectorized", 0.0, (), "0.5 * reg"),
    ("linear_classifier", "svm_vectorized_solution", [("    margins[rows, y] = 0.0\n", "")], "test_svm_vectorized",
     0.0, ("test_training",), "no margin of its own"),
    ("linear_classifier", "svm_vectorized_solution", [("margins.sum() / N", "margins.sum()"),
                                                      ("X.T @ coefficients / N", "X.T @ coefficients")],
     "test_svm_vectorized", 0.0, ("test_training",), "average the loss"),
    ("linear_classifier", "svm_vectorized_solution", [("[:, None] + 1.0", "[:, None]")], "test_svm_vectorized", 0.0,
     (), "expected loss"),
    # softmax, loops
    ("linear_classifier", "softmax_naive_solution", [_BOTH_REG], "test_softmax_naive", 0.0, (), "0.5 * reg"),
    ("linear_classifier", "softmax_naive_solution", [("loss = loss / N + reg", "loss = loss + reg"),
                                                     ("dW = dW / N + 2", "dW = dW + 2")],
     "test_softmax_naive", 0.0, (), "average the loss"),
    ("linear_classifier", "softmax_naive_solution", [(" + reg * torch.sum(W * W)", ""), (" + 2 * reg * W", "")],
     "test_softmax_naive", 0.0, (), "regularisation reg * sum(W * W) is missing"),
    ("linear_classifier", "softmax_naive_solution", [("        scores = scores - scores.max()\n", "")],
     "test_softmax_naive", 2 / 3, (), "subtract each row's maximum"),
    # softmax, vectorised
    ("linear_classifier", "softmax_vectorized_solution", [(".mean() + reg * torch.sum", ".mean() + 0.5 * reg * torch.sum"),
                                                          ("/ N + 2 * reg * W", "/ N + reg * W")],
     "test_softmax_vectorized", 0.0, (), "0.5 * reg"),
    ("linear_classifier", "softmax_vectorized_solution", [(".mean() + reg", ".sum() + reg"),
                                                          ("X.T @ probs / N", "X.T @ probs")],
     "test_softmax_vectorized", 0.0, ("test_training",), "average the loss"),
    ("linear_classifier", "softmax_vectorized_solution", [("torch.exp(scores).sum(dim=1, keepdim=True)",
                                                           "torch.exp(scores).sum(dim=0, keepdim=True)")],
     "test_softmax_vectorized", 0.0, ("test_training",), "expected loss"),
    ("linear_classifier", "softmax_vectorized_solution", [("    scores = scores - scores.max(dim=1, keepdim=True).values\n", "")],
     "test_softmax_vectorized", 2 / 3, (), "subtract each row's maximum"),
    # SGD
    ("linear_classifier", "classifier_solution", [("self.W -= learning_rate * grad", "self.W += learning_rate * grad")],
     "test_training", 0.0, (), "does not go down"),
    ("linear_classifier", "classifier_solution", [("self.W -= learning_rate * grad", "W = self.W - learning_rate * grad")],
     "test_training", 0.0, (), "does not go down"),
    ("linear_classifier", "classifier_solution", [("torch.argmax(X @ self.W, dim=1)", "torch.argmin(X @ self.W, dim=1)")],
     "test_training", 0.0, (), "training accuracy"),
    ("linear_classifier", "classifier_solution", [("torch.argmax(X @ self.W, dim=1)", "torch.argmax(X @ self.W, dim=0)")],
     "test_training", 0.0, (), "one label per row"),
]


@pytest.mark.parametrize("name, grade_id, changes, test_id, fraction, users, message", WRONG,
                         ids=[f"{w[1]}-{i}" for i, w in enumerate(WRONG)])
def test_each_mistake_costs_its_function_only_and_fails_a_visible_check(spec, setups, name, grade_id, changes,
                                                                        test_id, fraction, users, message):
    for seed in SEEDS:  # the same mistake costs every student the same
        visible, verdicts = run_variant(spec, setups, name, {grade_id: changes}, seed)
        assert verdicts[test_id].fraction == pytest.approx(fraction), verdicts[test_id]
        others = {t: v for t, v in verdicts.items() if t != test_id and t not in users and v.fraction != 1.0}
        assert not others, f"the mistake in {grade_id} also costs points in {others}"
    assert test_id in visible and message in visible[test_id], f"visible checks: {visible}"
    unrelated = set(visible) - {test_id, *users}
    assert not unrelated, f"visible checks of other functions fail too: {unrelated}"


# Correct in other ways than the solution: full marks, and the visible checks pass.
RIGHT = [
    ("knn", "knn_dist_solution", [("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.sqrt(torch.abs(d2))")]),
    ("knn", "knn_dist_solution", [_ADDMM]),
    ("knn", "knn_dist_solution", [_ADDMM, ("    d2 = ", "    X, Y = X.float(), Y.float()\n    d2 = ")]),
    ("knn", "knn_dist_solution", [("(X * X).sum(dim=1)[:, None] + (Y * Y).sum(dim=1)[None, :]",
                                   "torch.einsum('ij,ij->i', X, X)[:, None] + torch.einsum('ij,ij->i', Y, Y)[None, :]")]),
    ("knn", "knn_dist_solution", [("torch.sqrt(torch.clamp(d2, min=0.0))",
                                   "torch.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(dim=2))")]),
    ("knn", "knn_dist_solution", [("    d2 = ", "    X, Y = X.float(), Y.float()\n    d2 = "),
                                  ("torch.sqrt(torch.clamp(d2, min=0.0))",
                                   "torch.sqrt(((X[:, None, :] - Y[None, :, :]) ** 2).sum(dim=2))")]),
    ("knn", "knn_labels_solution", [("    return torch.argmax(counts, dim=1)",
                                     ("    return torch.stack([torch.bincount(v, minlength=num_classes).argmax() "
                                      "for v in votes])"))]),
    ("linear_classifier", "softmax_vectorized_solution", [("scores.max(dim=1, keepdim=True).values", "scores.max()")]),
    ("linear_classifier", "softmax_vectorized_solution", [("torch.log(torch.exp(scores).sum(dim=1, keepdim=True))",
                                                           "torch.logsumexp(scores, dim=1, keepdim=True)")]),
]


@pytest.mark.parametrize("name, grade_id, changes", RIGHT, ids=[f"{r[1]}-{i}" for i, r in enumerate(RIGHT)])
def test_other_correct_answers_pass_visible_and_hidden(spec, setups, name, grade_id, changes):
    for seed in SEEDS if grade_id == "knn_dist_solution" else SEEDS[1:]:  # near 0, rounding differs per seed
        visible, verdicts = run_variant(spec, setups, name, {grade_id: changes}, seed)
        assert visible == {} and all(v.fraction == 1.0 for v in verdicts.values()), (seed, visible, verdicts)


def _unclamped_forms():
    import torch

    def torch_sq(X, Y):
        return (X * X).sum(dim=1)[:, None] + (Y * Y).sum(dim=1)[None, :] - 2.0 * (X @ Y.T)

    def addmm(X, Y):
        return torch.addmm((X * X).sum(dim=1)[:, None] + (Y * Y).sum(dim=1)[None, :], X, Y.T, alpha=-2.0)

    def np_sq(X, Y):
        return np.sum(X**2, axis=1)[:, None] + np.sum(Y**2, axis=1)[None, :] - 2 * X @ Y.T

    t = torch.from_numpy
    return {
        "torch float64": lambda X, Y: torch_sq(t(X), t(Y)),
        "torch float32": lambda X, Y: torch_sq(t(X).float(), t(Y).float()),
        "addmm float64": lambda X, Y: addmm(t(X), t(Y)),
        "addmm float32": lambda X, Y: addmm(t(X).float(), t(Y).float()),
        "numpy float64": np_sq,
        "numpy float32": lambda X, Y: np_sq(X.astype(np.float32), Y.astype(np.float32)),
    }


def test_every_hidden_l2_probe_gets_nan_from_unclamped_code_for_every_seed(spec):
    """A missing clamp costs the whole L2 test whatever the seed: each of its probes alone gives unclamped
    no-loop code a squared distance below 0. (The parameters were chosen on 500 seeds; 40 keep this cheap.)"""
    from autograder.probes.inputs import make_inputs

    test = spec.test("knn", "test_knn_dist")
    forms = _unclamped_forms()
    for probe in test.probes:
        for seed in range(40):
            inputs = make_inputs(probe.kind, seed, probe.params)
            for name, squared in forms.items():
                d2 = np.asarray(squared(inputs["X"], inputs["Y"]))
                assert (d2 < 0).any(), f"{probe.params}, seed {seed}: {name} without the clamp gives no NaN"
