"""A grading job: everything one submission's grading needs, as plain picklable data.

Grading is a pure function of the job (submission bytes, assignment spec, seed, options), so it can run
in a local worker process or on a Dask worker on another machine.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A notebook larger than this is not parsed at all (A22: 200 MB file): parser time and memory stay bounded.
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_CELLS = 2000


@dataclass(frozen=True)
class Options:
    sandbox: bool = True
    gpu: bool = False
    cell_timeout: float = 60.0
    budget: float = 600.0  # wall-clock seconds per notebook


@dataclass(frozen=True)
class NotebookFile:
    """One submitted notebook: its bytes, or why they were not read."""

    name: str  # without ".ipynb"
    data: bytes | None
    problem: str = ""  # "not submitted", "file is 210 MB, over the 20 MB limit", ...


@dataclass(frozen=True)
class GradingJob:
    assignment: str
    student: str
    files: tuple[NotebookFile, ...]
    spec: Any  # autograder.spec.AssignmentSpec
    base_seed: int
    options: Options
    submission_hash: str
    seed_key: bytes = b""  # the course's grading key: seeds nobody without it can recompute


def read_submission(folder: Path, notebooks: list[str]) -> tuple[NotebookFile, ...]:
    """The assignment's notebooks from a submission folder; only those names, never other files (A21)."""
    out = []
    for name in notebooks:
        path = Path(folder) / f"{name}.ipynb"
        if path.is_symlink():
            out.append(NotebookFile(name, None, "the notebook is a symbolic link; submit the file itself"))
            continue
        if not path.is_file():
            out.append(NotebookFile(name, None, f"{name}.ipynb was not submitted"))
            continue
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            out.append(NotebookFile(name, None, f"{name}.ipynb is {size / 2**20:.0f} MiB, over the "
                                                f"{MAX_NOTEBOOK_BYTES >> 20} MiB limit"))
            continue
        with open(path, "rb") as fh:
            data = fh.read(MAX_NOTEBOOK_BYTES + 1)
        if len(data) > MAX_NOTEBOOK_BYTES:  # grew while we read it
            out.append(NotebookFile(name, None, f"{name}.ipynb is over the {MAX_NOTEBOOK_BYTES >> 20} MiB limit"))
            continue
        out.append(NotebookFile(name, data))
    return tuple(out)


def submission_hash(files: tuple[NotebookFile, ...]) -> str:
    """sha256 over the notebooks' names and bytes (or their problems): the submission's identity."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        h.update(f.name.encode() + b"\0")
        h.update(hashlib.sha256(f.data).digest() if f.data is not None else b"missing:" + f.problem.encode())
    return h.hexdigest()


def derive_seed(base_seed: int, assignment: str, student: str, test_id: str, key: bytes = b"") -> int:
    """Seed of one test's hidden inputs: deterministic per (key, base seed, assignment, student, test).

    With the course's grading key the seed is an HMAC: the held-out values a seed generates (test labels)
    cannot be recomputed from the repository's code by anyone without the key.
    """
    message = f"{base_seed}\0{assignment}\0{student}\0{test_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest() if key else hashlib.sha256(message).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
