"""Fingerprints and pair scores, built on copydetect (robust winnowing, overlap slices and coverage).

Per notebook:
1. fingerprint every submission: hashes of every K-token k-gram of its normalised tokens, winnowed by
   copydetect (a stable hash, not Python's salted hash(): the same code gives the same figures every run and
   the fingerprints can be made in worker processes);
2. drop the boilerplate: every k-gram of the released notebook's code (skeletons, given code), and k-grams
   found in more than COMMON_SHARE of the submissions (what nearly everybody writes, as MOSS does);
3. score all pairs at once: shared fingerprints by one matrix product over the fingerprints that at least two
   submissions hold (copydetect's own detector compares file by file in Python, O(n^2) calls);
4. for the pairs above the threshold only, copydetect.compare_files finds the matching passages.

similarity = shared fingerprints / the mean fingerprint count of the two (Dice: a pair that shares one of two
functions scores about 0.5, a full copy about 1), with the denominator at least MIN_FINGERPRINTS so that a few
common lines never make a pair look copied. A submission with no fingerprints of its own is never paired.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from copydetect.detector import compare_files
from copydetect.utils import get_token_coverage, winnow

K = 9  # tokens per k-gram: shorter matches are noise (`] , axis = 1 ) )`)
WINDOW = 4  # winnowing window: any match of K + WINDOW - 1 tokens is guaranteed to be found
COMMON_SHARE = 0.5
COMMON_MIN_DOCS = 20  # below this cohort size no k-gram counts as common
MIN_FINGERPRINTS = 12
_BLOCK = 4096
if TYPE_CHECKING:
    from similarity.extract import Doc
_MASK = (1 << 53) - 1  # copydetect's winnowing buffer is float64: keep hashes exact in it
_BASE = np.uint64(1_000_003)
_IDS: dict[str, int] = {}


def kgram_hashes(tokens: list[str] | tuple[str, ...], k: int = K) -> np.ndarray:
    """Stable hash of every k-gram of tokens (a polynomial over crc32 token ids, wrapping in uint64)."""
    if len(tokens) < k:
        return np.zeros(0, dtype=np.int64)
    ids = np.array([_IDS.get(t) or _IDS.setdefault(t, zlib.crc32(t.encode())) for t in tokens], dtype=np.uint64)
    h = np.zeros(len(tokens) - k + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + ids[j:len(ids) - k + 1 + j]
    return (h & np.uint64(_MASK)).astype(np.int64)


def winnowed(tokens: list[str] | tuple[str, ...], k: int = K, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """(selected hashes, their token positions), by copydetect's robust winnowing."""
    hashes = kgram_hashes(tokens, k)
    if not len(hashes):
        return hashes, np.zeros(0, dtype=np.int64)
    selected, idx = winnow(hashes, window, remove_duplicates=False)
    return np.asarray(selected, dtype=np.int64), np.asarray(idx, dtype=np.int64)


@dataclass
class Fingerprint:
    """What copydetect.compare_files reads of a file's fingerprint (its CodeFingerprint attributes)."""

    hashes: set
    hash_idx: dict
    k: int
    filtered_code: tuple
    token_coverage: float
    offsets: np.ndarray

    @classmethod
    def of(cls, tokens: tuple, hashes: np.ndarray, positions: np.ndarray, drop: set[int],
           k: int = K) -> Fingerprint:
        idx: dict[int, list[int]] = {}
        for h, i in zip(hashes.tolist(), positions.tolist()):
            if h not in drop:
                idx.setdefault(h, []).append(i)
        return cls(set(idx), idx, k, tokens, get_token_coverage(idx, k, len(tokens)), np.array([]))

    def drop(self, hashes: set[int]) -> None:
        self.hash_idx = {h: i for h, i in self.hash_idx.items() if h not in hashes}
        self.hashes = set(self.hash_idx)
        self.token_coverage = get_token_coverage(self.hash_idx, self.k, len(self.filtered_code))


def boilerplate_hashes(cells_tokens: list[list[str]], k: int = K) -> set[int]:
    """Every k-gram (not only the winnowed ones) of the instructor's code."""
    return {h for tokens in cells_tokens for h in kgram_hashes(tokens, k).tolist()}


def drop_common(fps: list[Fingerprint], share: float = COMMON_SHARE) -> int:
    """Remove k-grams that more than `share` of the submissions hold; returns how many were removed."""
    if len(fps) < COMMON_MIN_DOCS:
        return 0
    counts: dict[int, int] = {}
    for fp in fps:
        for h in fp.hashes:
            counts[h] = counts.get(h, 0) + 1
    common = {h for h, c in counts.items() if c > share * len(fps)}
    if common:
        for fp in fps:
            fp.drop(common)
    return len(common)


def pair_scores(fps: list[Fingerprint]) -> tuple[np.ndarray, np.ndarray]:
    """(similarity, shared fingerprints), both (n, n) with -1 where a submission has no fingerprints."""
    n = len(fps)
    sizes = np.array([len(fp.hashes) for fp in fps], dtype=np.float64)
    doc_ids = np.repeat(np.arange(n), sizes.astype(np.int64))
    hashes = np.fromiter((h for fp in fps for h in fp.hashes), dtype=np.int64, count=int(sizes.sum()))
    _, col, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    keep = counts[col] >= 2  # a fingerprint only one submission holds is shared with nobody
    doc_ids, col = doc_ids[keep], col[keep]
    _, col = np.unique(col, return_inverse=True)
    shared = np.zeros((n, n), dtype=np.float64)
    for start in range(0, int(col.max(initial=-1)) + 1, _BLOCK):  # bounded memory: a block of columns at a time
        sel = (col >= start) & (col < start + _BLOCK)
        block = np.zeros((n, _BLOCK), dtype=np.float32)
        block[doc_ids[sel], col[sel] - start] = 1.0
        shared += block @ block.T
    denom = np.maximum(np.add.outer(sizes, sizes) / 2, MIN_FINGERPRINTS)
    sim = shared / denom
    empty = sizes == 0
    sim[empty, :] = -1
    sim[:, empty] = -1
    return sim, shared


@dataclass(frozen=True)
class Passage:
    """Matched lines of one side of a pair: per solution cell, the 1-based line numbers that match."""

    lines: dict[int, set[int]]


def passages(doc_a: Doc, fp_a: Fingerprint, doc_b: Doc, fp_b: Fingerprint) -> tuple[Passage, Passage]:
    """The lines of each side that copydetect finds in common (its slices are token ranges here)."""
    _, _, (slices_a, slices_b) = compare_files(fp_a, fp_b)
    return _lines(doc_a, slices_a), _lines(doc_b, slices_b)


def _lines(doc: Doc, slices: np.ndarray) -> Passage:
    out: dict[int, set[int]] = {}
    if len(slices) and slices.shape[-1]:
        for start, end in zip(slices[0], slices[1]):
            for _, cell, line in doc.tokens[int(start):int(end)]:
                last = doc.spans[cell].get(line, line) if doc.spans else line
                out.setdefault(cell, set()).update(range(line, last + 1))
    return Passage(out)
