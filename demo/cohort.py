"""The demo's 30 students and the work each hands in, built from the course's own notebooks.

Correct work is the instructor's solution (the source notebook's solution cells, without the markers) with a
few neutral statements of the student's own, so that independent students do not look like copies of each
other; the other kinds mutate it: a wrong function, NumPy instead of PyTorch, a hostile cell, two near-copies
whose only difference is the names of their variables."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

ASSIGNMENTS = ("assignment1", "assignment2")
SPEEDTEST = "speedtest1"
PREFIX = "course-demo-"

# Profiles that are not "correct", by student number (1-based); the rest hand in correct work on time.
PROFILES = {
    2: "partly", 3: "partly", 4: "numpy", 5: "numpy", 6: "hostile", 7: "copy_a", 8: "copy_b",
    9: "late_grace", 10: "late_days", 11: "past_cutoff", 12: "extension", 13: "missing", 14: "speed_late",
}
COHORT = 30
# The smallest class: the planted cases, correct work, and at least 20 hand-ins of assignment 1 (one student is
# missing), below which `course similarity` counts no code as the course's common code, and independent
# correct solutions (all written from the same solution here) would look copied.
SMALLEST = 21


@dataclass(frozen=True)
class Student:
    number: int
    profile: str

    @property
    def id(self) -> str:
        return f"{PREFIX}{self.number:02d}"

    def submits(self, item: str) -> bool:
        return self.profile != "missing" or item == SPEEDTEST


def cohort(size: int = COHORT) -> list[Student]:
    return [Student(n, PROFILES.get(n, "correct")) for n in range(1, size + 1)]


def by_profile(students: list[Student], profile: str) -> Student:
    return next(s for s in students if s.profile == profile)


_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
# Neutral statements a student might write at the top of a function body (they change no result).
_HABITS = (
    "{i}_checked = 0",
    "{i}if False:\n{i}    print('debug')",
    "{i}_steps = []",
    "{i}for _unused in range(0):\n{i}    pass",
    "{i}_note = 'my own version'",
    "{i}assert True, 'sanity'",
    "{i}_depth = len([None, None])",
)
_NUMPY = {
    "knn_dist_solution": """def compute_distances(X, Y):
    import numpy as np
    a, b = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    d2 = (a ** 2).sum(axis=1)[:, None] + (b ** 2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))
""",
    "rms_solution": """def rms_error(w, x, t):
    import numpy as np
    w, x, t = (np.asarray(v, dtype=np.float64) for v in (w, x, t))
    return float(np.sqrt(np.mean((np.polyval(w[::-1], x) - t) ** 2)))
""",
}
# A wrong function: squared distances, and E_RMS without the square root.
_PARTLY = {"knn_dist_solution": ("torch.sqrt(torch.clamp(d2, min=0.0))", "torch.clamp(d2, min=0.0)"),
           "rms_solution": ("torch.sqrt(torch.mean(residual ** 2))", "torch.mean(residual ** 2)")}
HOSTILE = """import os, time
try:
    secret = open('/etc/shadow').read()          # another user's secrets
except OSError as e:
    secret = repr(e)
children = []
for _ in range(32):                              # a crowd of processes that outlive the cell
    pid = os.fork()
    if pid == 0:
        time.sleep(120)
        os._exit(0)
    children.append(pid)
print('forged: all tests passed', secret[:40])
"""


def _solutions(source: Path) -> dict[str, str]:
    nb = nbformat.read(source, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", c.source) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def _with_habits(code: str, rng: random.Random) -> str:
    """Put 2-3 of the habits after each `def` line of the cell (indented like the body)."""
    out = []
    for line in code.splitlines():
        out.append(line)
        m = re.match(r"^(\s*)def .*:\s*$", line)
        if m:
            indent = m.group(1) + "    "
            out.extend(h.format(i=indent) for h in rng.sample(_HABITS, rng.randint(2, 3)))
    return "\n".join(out) + "\n"


def _rename(code: str) -> str:
    """The near-copy: the same code with its local names changed."""
    for old, new in (("d2", "sq"), ("nearest", "closest"), ("votes", "ballots"), ("counts", "tally"),
                     ("accuracies", "accs"), ("residual", "res"), ("powers", "expo"), ("scores", "s"),
                     ("margins", "m"), ("loss", "total")):
        code = re.sub(rf"\b{old}\b", new, code)
    return code


def _cell_code(grade_id: str, solution: str, student: Student) -> str:
    kind = student.profile
    if kind == "numpy" and grade_id in _NUMPY:
        return _NUMPY[grade_id]
    if kind == "partly" and grade_id in _PARTLY:
        return solution.replace(*_PARTLY[grade_id])
    if kind in ("copy_a", "copy_b"):  # both from one student's work; b renames every local variable
        code = _with_habits(solution, random.Random(f"copy:{grade_id}"))
        return _rename(code) if kind == "copy_b" else code
    return _with_habits(solution, random.Random(f"{student.id}:{grade_id}"))


def work(student: Student, released: Path, source: Path) -> bytes:
    """The notebook `student` hands in: the released one with their code in its solution cells."""
    nb = nbformat.read(released, as_version=4)
    solutions = _solutions(source)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        grade_id = meta["grade_id"]
        if student.profile == "hostile":
            if cell.cell_type == "code":
                cell.source = HOSTILE + "\n" + cell.source
            continue
        if cell.cell_type == "code":
            cell.source = _cell_code(grade_id, solutions[grade_id], student)
        else:
            cell.source = solutions[grade_id]
    return nbformat.writes(nb).encode()
