"""Your own numbers for Speed test 1 (week 4): made from the test's name and your student id, so that neighbours have
different ones. The grader makes the same numbers from the student id of your submission."""
import getpass
import hashlib
import os

import numpy as np

TEST = "speedtest1"


def student_id() -> str:
    """Your student id: your JupyterHub name, else your login name (as the course's exchange knows you)."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _rng(student: str) -> np.random.Generator:
    return np.random.default_rng(list(hashlib.sha256(f"{TEST}:{student}".encode()).digest()))


def variant(student: str) -> dict:
    """Q1: two 4×4 grey-scale images. Q2: a straight-line fit y = w0 + w1·x and four points (x, t)."""
    rng = _rng(student)
    a, b = rng.integers(0, 21, size=(2, 4, 4))
    w = rng.integers(-3, 4, size=2).astype(float) / 2
    x = np.sort(rng.choice(np.arange(-4, 5), size=4, replace=False)).astype(float)
    t = w[0] + w[1] * x + rng.integers(-20, 21, size=4) / 10
    return {"q1": {"a": a.tolist(), "b": b.tolist()},
            "q2": {"w": w.tolist(), "x": x.tolist(), "t": t.tolist()}}
