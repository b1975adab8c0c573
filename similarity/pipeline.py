"""The similarity run: find submissions -> read and normalise (parallel) -> fingerprint -> score -> flag.

    result = run(release_dir, submitted_dir, "assignment1", threshold=0.75)

Reading, normalising and fingerprinting each notebook, the costly part, runs in worker processes (the
fingerprint hashes are stable, so workers agree); scoring all pairs at once runs here.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_errors import UserError
from similarity import detect
from similarity.extract import Doc, Malformed, load_many, released
from similarity.normalise import aliases, normalise

DETAIL_LIMIT = 100  # flagged pairs shown passage by passage in the HTML report (the rest are listed)
_INLINE_BELOW = 40  # fewer submissions than this: not worth starting worker processes


@dataclass(frozen=True)
class Pair:
    notebook: str
    a: str
    b: str
    similarity: float
    shared: int
    detail: tuple[detect.Passage, detect.Passage] | None = None


@dataclass
class NotebookResult:
    name: str
    docs: dict[str, Doc]
    similarities: np.ndarray  # every scored pair's similarity (upper triangle), for the histogram
    nothing_own: list[str]  # students with no code of their own (e.g. the released notebook unchanged)
    common_removed: int


@dataclass
class Result:
    assignment: str
    threshold: float
    students: int
    notebooks: list[NotebookResult] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # flagged, highest similarity first
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def pairs_compared(self) -> int:
        return sum(int(nb.similarities.size) for nb in self.notebooks)


def submissions(submitted: Path, assignment: str, notebooks: list[str]) -> list[tuple[str, str, str]]:
    """(student, notebook, path) of every collected submission notebook the release also has."""
    out = []
    for folder in sorted(submitted.glob(f"*/{assignment}")):
        for nb in notebooks:
            path = folder / f"{nb}.ipynb"
            if path.is_file():
                out.append((folder.parent.name, nb, str(path)))
    return out


def _load(tasks: list[tuple[str, str, str]], base_alias: dict[str, str], jobs: int) -> list[Doc | Malformed]:
    if jobs <= 1 or len(tasks) < _INLINE_BELOW:
        return load_many(tasks, base_alias)
    chunk = max(1, min(64, len(tasks) // (jobs * 4)))
    batches = [tasks[i:i + chunk] for i in range(0, len(tasks), chunk)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [d for batch in pool.map(load_many, batches, [base_alias] * len(batches)) for d in batch]


def _boilerplate(cells: list[tuple[str, bool]], alias: dict[str, str]) -> set[int]:
    """Every k-gram of the released code cells (given code and the skeletons of the solution cells)."""
    return detect.boilerplate_hashes([[t for t, _ in normalise(src, alias)] for src, _ in cells])


def _notebook(name: str, docs: list[Doc], boilerplate: set[int], threshold: float) -> tuple[NotebookResult, list[Pair]]:
    fps = [detect.Fingerprint.of(tuple(t for t, _, _ in d.tokens), d.hashes, d.positions, boilerplate) for d in docs]
    removed = detect.drop_common(fps)
    sim, shared = detect.pair_scores(fps)
    iu = np.triu_indices(len(docs), 1)
    flagged = [(float(sim[i, j]), int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(sim >= threshold, 1)))]
    flagged.sort(key=lambda t: (-t[0], docs[t[1]].student, docs[t[2]].student))
    pairs = []
    for rank, (s, i, j) in enumerate(flagged):
        detail = detect.passages(docs[i], fps[i], docs[j], fps[j]) if rank < DETAIL_LIMIT else None
        pairs.append(Pair(name, docs[i].student, docs[j].student, s, int(shared[i, j]), detail))
    nothing = [d.student for d, fp in zip(docs, fps) if not fp.hashes]
    scored = sim[iu]
    return NotebookResult(name, {d.student: d for d in docs}, scored[scored >= 0], nothing, removed), pairs


def run(release_dir: Path, submitted: Path, assignment: str, threshold: float, jobs: int | None = None) -> Result:
    boiler = released(release_dir)
    if not boiler:
        raise UserError(f"{release_dir}: no released notebooks (*.ipynb); run `nbgrader generate_assignment "
                                f"{assignment}` first")
    tasks = submissions(submitted, assignment, sorted(boiler))
    if not tasks:
        raise UserError(f"no submissions of {assignment} in {submitted}/*/{assignment}/; "
                                f"run `course collect {assignment}` first")
    base_alias = aliases([src for cells in boiler.values() for src, _ in cells])
    loaded = _load(tasks, base_alias, jobs or os.cpu_count() or 1)
    result = Result(assignment, threshold, students=len({t[0] for t in tasks}))
    result.malformed = [d for d in loaded if isinstance(d, Malformed)]
    for name in sorted(boiler):
        docs = [d for d in loaded if isinstance(d, Doc) and d.notebook == name]
        if not docs:
            continue
        nb, pairs = _notebook(name, docs, _boilerplate(boiler[name], base_alias), threshold)
        result.notebooks.append(nb)
        result.pairs += pairs
    result.pairs.sort(key=lambda p: (-p.similarity, p.notebook, p.a, p.b))
    return result
