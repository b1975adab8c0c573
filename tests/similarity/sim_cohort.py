"""A synthetic cohort of assignment-1 submissions: independent students and planted copies.

Independent student i (0..24) uses implementation (i // 5, i % 5) of (compute_distances, predict_labels) and
(i % 5, (i // 5 + i % 5) % 5) of (svm, softmax): every student has a different combination, and two students
share at most one of the two functions of a notebook, as independent students who happen to write the same
function would. Planted copies take one student's notebooks and disguise them the way copiers do.
"""
from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

from sim_impls import CV, DIST, KNN_CLASS, L1, LABELS, PREDICT, SOFTMAX, SVM, TRAIN_STEP, TWINS

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "release" / "assignment1"
CELLS = {"knn": ("knn_dist_solution", "knn_labels_solution"),
         "linear_classifier": ("svm_vectorized_solution", "softmax_vectorized_solution")}
POOLS = {"knn_dist_solution": ("dist", DIST), "knn_labels_solution": ("labels", LABELS),
         "svm_vectorized_solution": ("svm", SVM), "softmax_vectorized_solution": ("softmax", SOFTMAX)}
N_INDEPENDENT = 25
WORDS = ["alpha", "bravo", "carbon", "delta", "ember", "fjord", "gamma", "harbor", "iris", "jade", "kilo", "lumen",
         "mango", "nadir", "onyx", "pixel", "quartz", "raven", "sigma", "tundra", "umber", "vortex", "willow", "xenon"]


def choices(i: int) -> dict[str, int]:
    a, b = divmod(i, 5)
    return {"knn_dist_solution": a, "knn_labels_solution": b, "svm_vectorized_solution": b, "softmax_vectorized_solution": (a + b) % 5}


def independent(i: int) -> dict[str, str]:
    """grade_id -> the student's code for each solution cell."""
    return {gid: POOLS[gid][1][v] for gid, v in choices(i).items()}


def rename(src: str, salt: int) -> str:
    """Every variable and parameter renamed consistently (graded function names stay: the grader calls them)."""
    tree = ast.parse(src)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    new = {n: f"{WORDS[(k * 7 + salt) % len(WORDS)]}_{k}" for k, n in enumerate(sorted(names))}
    lines = src.splitlines(keepends=True)
    edits = []
    prev = ""
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NAME and tok.string in new and prev not in (".", "def", "class"):
            edits.append(tok)
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev = tok.string
    for tok in reversed(edits):
        row, col = tok.start
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new[tok.string] + line[col + len(tok.string):]
    return "".join(lines)


def decorate(src: str) -> str:
    """Comments and blank lines added: a header, a comment on every other line, a blank line every third."""
    out = ["# my own solution, written from scratch", ""]
    for n, line in enumerate(src.splitlines()):
        out.append(line + (f"  # step {n}" if n % 2 and line.strip() else ""))
        if n % 3 == 2:
            out.append("")
    return "\n".join(out) + "\n"


def twins(i: int) -> dict[str, str]:
    """The student's code with loops rewritten as comprehensions where a rewrite exists."""
    code = independent(i)
    for gid, v in choices(i).items():
        code[gid] = TWINS.get((POOLS[gid][0], v), code[gid])
    return code


def reorder(code: dict[str, str]) -> dict[str, str]:
    """Both functions of each notebook in its first solution cell, in the opposite order."""
    out = dict(code)
    for first, second in CELLS.values():
        out[first] = code[second] + "\n\n" + code[first]
        out[second] = "# (defined above)\npass\n"
    return out


# copier -> (original student, disguise)
PLANTED = {
    "copy_renamed": (7, lambda i: {g: decorate(rename(s, 1)) for g, s in independent(i).items()}),
    "copy_reordered": (12, lambda i: {g: rename(s, 2) for g, s in reorder(independent(i)).items()}),
    "copy_loops": (20, lambda i: {g: rename(s, 3) for g, s in twins(i).items()}),
    "copy_everything": (15, lambda i: {g: decorate(rename(s, 4)) for g, s in reorder(twins(i)).items()}),
}


def notebook(name: str, code: dict[str, str] | None) -> dict:
    """The released notebook with the given solution cells filled in (None: submitted unchanged)."""
    nb = json.loads((RELEASE / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if code is not None and gid in code:
            cell["source"] = code[gid]
    return nb


def write(submitted: Path, student: str, code: dict[str, str] | None, assignment: str = "assignment1") -> None:
    folder = submitted / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name in CELLS:
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook(name, code), indent=1))


def student_name(i: int) -> str:
    return f"s{i:03d}"


def build(submitted: Path) -> dict[str, str]:
    """The cohort under submitted/; returns copier -> original student."""
    for i in range(N_INDEPENDENT):
        write(submitted, student_name(i), independent(i))
    planted = {}
    for copier, (orig, disguise) in PLANTED.items():
        write(submitted, copier, disguise(orig))
        planted[copier] = student_name(orig)
    write(submitted, "unchanged_a", None)
    write(submitted, "unchanged_b", None)
    return planted


def _classifier(rng) -> str:
    """The released LinearClassifier cell with its two stubs filled in."""
    nb = json.loads((RELEASE / "linear_classifier.ipynb").read_text())
    src = next("".join(c["source"]) for c in nb["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade_id") == "classifier_solution")
    stub = "# YOUR CODE HERE\n            raise NotImplementedError()"
    src = src.replace(stub, TRAIN_STEP[rng.integers(len(TRAIN_STEP))], 1)
    stub = "# YOUR CODE HERE\n        raise NotImplementedError()"
    return src.replace(stub, PREDICT[rng.integers(len(PREDICT))], 1)


# Small habits that differ between honest students who chose the same approach (regex -> replacement).
HABITS = [
    (r", axis=1\)", ", 1)"),
    (r"(\w+)\.T\b", r"\1.transpose()"),
    (r"(\w+) \*\* 2", r"np.square(\1)"),
    (r"\bin range\(", "in np.arange("),
    (r"(\w+) @ (\w+)", r"np.dot(\1, \2)"),
    (r"\n    return (.+)", r"\n    result = \1\n    return result"),
    (r"(\n    def \w+\(self, X[^)]*\):\n)", r"\1        X = np.asarray(X)\n"),
    (r"(\ndef \w+\((W, )?X, [^)]*\):\n)", r"\1    assert X.ndim == 2, 'X must be a matrix'\n"),
    (r"np\.(\w+)\((\w+)\)\.", r"np.\1(\2, dtype=None)."),
    (r"\bnp\.maximum\(0, ", "np.maximum(0.0, "),
]


def random_student(rng) -> dict[str, str]:
    """Every solution cell of assignment 1 filled in, variants drawn at random, habits, names and comments
    varied."""
    pools = {"knn_dist_solution": DIST, "knn_l1_solution": L1, "knn_labels_solution": LABELS,
             "knn_class_solution": KNN_CLASS, "knn_cv_solution": CV, "svm_vectorized_solution": SVM,
             "softmax_vectorized_solution": SOFTMAX}
    code = {gid: pool[rng.integers(len(pool))] for gid, pool in pools.items()}
    code["classifier_solution"] = _classifier(rng)
    habits = [h for h in HABITS if rng.random() < 0.5]
    for gid, src in code.items():
        for pattern, repl in habits:
            src = re.sub(pattern, repl, "\n" + src)[1:]
        code[gid] = src
    salt = int(rng.integers(1000))
    return {gid: decorate(rename(src, salt)) if rng.random() < 0.5 else rename(src, salt)
            for gid, src in code.items()}
