"""Benchmark: `course similarity` on 600 submissions of assignment 1 (goal: under a minute on 2 cores).

The cohort is generated (tests/similarity/sim_cohort.py): every solution cell of both notebooks filled in with
one of 2-5 honest implementations, names and comments varied, five planted copies. The figure is the whole
command minus printing: read and normalise every notebook (2 worker processes), fingerprint, score every pair
of each notebook, find the passages of the flagged pairs, write the HTML report and the summary.

Peers, measured in the same run on the same notebooks:
- copydetect's own pipeline (CopyDetector: its pygments filter, fingerprints, then a Python loop over file pairs;
  its input, the solution code as .py files, is written beforehand and not timed). Run on two subsets, its
  time is fitted as a * files + b * pairs and extrapolated to the full cohort;
- naive all-pairs difflib (SequenceMatcher.ratio on our normalised tokens) on a subset, per pair, extrapolated.
Extrapolated figures are marked as such.
"""
from __future__ import annotations

import argparse
import difflib
import itertools
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the package.
sys.path[:] = [str(ROOT), str(ROOT / "tests" / "similarity")] + [
    p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
import sim_cohort

from similarity import pipeline, report
from similarity.extract import Doc, load_doc, released

RELEASE = ROOT / "release" / "assignment1"


def make_cohort(submitted: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    students = [sim_cohort.random_student(rng) for _ in range(n - 5)]
    for i, code in enumerate(students):
        sim_cohort.write(submitted, f"s{i:04d}", code)
    for j in range(5):  # planted copies: renamed, commented, functions reordered
        code = {g: sim_cohort.decorate(sim_cohort.rename(s, 50 + j)) for g, s in students[j].items()}
        sim_cohort.write(submitted, f"copy{j}", sim_cohort.reorder(code))


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def ours(submitted: Path, out: Path, jobs: int, threshold: float) -> tuple[float, float, pipeline.Result]:
    """(wall s, CPU s of this process and its workers, result)."""
    t0, c0 = time.perf_counter(), _cpu()
    result = pipeline.run(RELEASE, submitted, "assignment1", threshold, jobs)
    report.write(result, out / "similarity.html", out / "similarity.json")
    return time.perf_counter() - t0, _cpu() - c0, result


def _code_files(submitted: Path, dest: Path, students: list[str]) -> Path:
    """The solution cells of each notebook as dest/<student>/<notebook>.py (copydetect reads files)."""
    for s in students:
        for nb in sim_cohort.CELLS:
            doc = load_doc(s, nb, submitted / s / "assignment1" / f"{nb}.ipynb", {})
            (dest / s).mkdir(parents=True, exist_ok=True)
            (dest / s / f"{nb}.py").write_text("\n\n".join(doc.cells))
    return dest


def copydetect_time(submitted: Path, tmp: Path, students: list[str]) -> float:
    from copydetect import CopyDetector

    code = _code_files(submitted, tmp / f"cd{len(students)}", students)
    boiler = tmp / "boilerplate"
    if not boiler.exists():
        boiler.mkdir()
        for nb, cells in released(RELEASE).items():
            (boiler / f"{nb}.py").write_text("\n\n".join(src for src, _ in cells))
    detector = CopyDetector(test_dirs=[str(code)], ref_dirs=[str(code)], boilerplate_dirs=[str(boiler)],
                            extensions=["py"], same_name_only=True, ignore_leaf=True, autoopen=False, silent=True)
    t0 = time.perf_counter()
    detector.run()
    return time.perf_counter() - t0


def difflib_per_pair(docs: list[Doc]) -> float:
    seqs = [[t for t, _, _ in d.tokens] for d in docs]
    t0 = time.perf_counter()
    pairs = list(itertools.combinations(seqs, 2))
    for a, b in pairs:
        difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return (time.perf_counter() - t0) / len(pairs)


def pairs_of(n: int) -> int:
    return n * (n - 1) // 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.75)
    ap.add_argument("--peer-students", type=int, nargs=2, default=(30, 60),
                    help="two subset sizes for the copydetect fit (the second also for difflib)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        submitted = tmp / "submitted"
        make_cohort(submitted, args.students)
        students = sorted(p.name for p in submitted.iterdir())
        n, notebooks = len(students), len(sim_cohort.CELLS)
        load = os.getloadavg()[0]
        t_ours, cpu, result = ours(submitted, tmp, args.jobs, args.threshold)
        planted = sum(1 for p in result.pairs if p.a.startswith("copy") or p.b.startswith("copy"))
        print(f"ours: {n} students x {notebooks} notebooks, {result.pairs_compared} pairs compared, "
              f"{len(result.pairs)} flagged (>= {args.threshold}; {planted} involve a planted copy), "
              f"{args.jobs} workers: {t_ours:.1f} s wall, {cpu:.1f} s CPU "
              f"(machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start)")

        n1, n2 = args.peer_students
        t1 = copydetect_time(submitted, tmp, students[:n1])
        t2 = copydetect_time(submitted, tmp, students[:n2])
        # t = a * files + b * pairs, files = notebooks * n, pairs = notebooks * n(n-1)/2
        m = np.array([[notebooks * n1, notebooks * pairs_of(n1)], [notebooks * n2, notebooks * pairs_of(n2)]])
        a, b = np.linalg.solve(m, [t1, t2])
        a, b = max(a, 0.0), max(b, 0.0)
        t_cd = a * notebooks * n + b * notebooks * pairs_of(n)
        print(f"peer copydetect CopyDetector.run: {n1} students {t1:.2f} s, {n2} students {t2:.2f} s -> "
              f"extrapolated to {n}: {t_cd:.1f} s (ratio {t_cd / t_ours:.1f}x)")

        docs = [d for nb in result.notebooks for d in list(nb.docs.values())[:n2] if nb.name == "knn"]
        per_pair = difflib_per_pair(docs)
        t_dl = per_pair * result.pairs_compared
        print(f"peer difflib all pairs: {per_pair * 1e3:.2f} ms per pair on {pairs_of(len(docs))} pairs -> "
              f"extrapolated to {result.pairs_compared} pairs: {t_dl:.0f} s (ratio {t_dl / t_ours:.0f}x)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
