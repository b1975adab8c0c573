"""Your own numbers for Speed test 3 (week 9): made from the test's name and your student id, so that neighbours have
different ones. The grader makes the same numbers from the student id of your submission."""
import getpass
import hashlib
import os

import numpy as np

TEST = "speedtest3"


def student_id() -> str:
    """Your student id: your JupyterHub name, else your login name (as the course's exchange knows you)."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def _rng(student: str) -> np.random.Generator:
    return np.random.default_rng(list(hashlib.sha256(f"{TEST}:{student}".encode()).digest()))


def variant(student: str) -> dict:
    """Q1: one recurrent layer (RNN, GRU or LSTM) with its sizes. Q2: six 2-D points and three centroids."""
    rng = _rng(student)
    rnn = {"cell": str(rng.choice(["rnn", "gru", "lstm"])), "input_size": int(rng.integers(5, 65)),
           "hidden_size": int(rng.integers(4, 65))}
    centroids = rng.choice(np.arange(-6, 7), size=(3, 2), replace=False).astype(float)
    while True:  # every point strictly nearest one centroid: no tie to argue about
        points = rng.integers(-8, 9, size=(6, 2)).astype(float)
        d2 = ((points[:, None] - centroids[None]) ** 2).sum(-1)
        if all(np.sort(row)[0] < np.sort(row)[1] for row in d2):
            break
    return {"q1": rnn, "q2": {"points": points.tolist(), "centroids": centroids.tolist()}}
