"""Your own numbers for Speed test 2 (week 7): made from the test's name and your student id, so that neighbours have
different ones. The grader makes the same numbers from the student id of your submission."""
import getpass
import hashlib
import os

import numpy as np

TEST = "speedtest2"


def student_id() -> str:
    """Your student id: your JupyterHub name, else your login name (as the course's exchange knows you)."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _rng(student: str) -> np.random.Generator:
    return np.random.default_rng(list(hashlib.sha256(f"{TEST}:{student}".encode()).digest()))


def variant(student: str) -> dict:
    """Q1: one convolutional layer on an input of shape (C, H, W). Q2: a stack of conv/pool layers (k, stride)."""
    rng = _rng(student)
    k = int(rng.choice([3, 5, 7]))
    conv = {"c_in": int(rng.choice([1, 3, 16])), "c_out": int(rng.choice([8, 16, 32, 64])), "k": k,
            "stride": int(rng.choice([1, 2])), "padding": int(rng.integers(0, k // 2 + 1)),
            "h": int(rng.choice([28, 32, 64])), "w": int(rng.choice([28, 32, 64]))}
    layers = [[int(rng.choice([3, 5, 7])), int(rng.choice([1, 2]))] for _ in range(int(rng.integers(3, 7)))]
    layers[int(rng.integers(1, len(layers)))] = [2, 2]  # one 2×2 pooling layer
    return {"q1": conv, "q2": {"layers": layers}}
