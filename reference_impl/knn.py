"""k-nearest-neighbour reference: distances, stable neighbour selection, CS231n votes, cross-validation of k.

All functions take numpy arrays or torch tensors and return **torch tensors** (labels int64, distances in
`dtype`, float64 by default) on `device` (`None`: CUDA when available, else CPU). Distances are computed in
row blocks of at most `memory_budget` bytes, so the working memory stays bounded; only `pairwise_distances`
returns a full matrix, the classifiers keep the k nearest per block.

Conventions:
- L2 through ‖x‖² + ‖y‖² − 2x·y (one GEMM), clamped at 0 before the square root; entries small enough for
  cancellation to matter (near-duplicate rows) are recomputed directly, so duplicates give exactly 0.
- L1 with `torch.cdist(p=1)`, exact on integer pixels in float64.
- Neighbours are ordered by (distance, training index): among equal distances the lower index comes first.
- A vote tie goes to the smallest label (CS231n: "break ties by choosing the smaller label").
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from reference_impl._validation import (
    as_float_tensor,
    as_labels,
    check_dtype,
    check_float,
    check_int,
    resolve_device,
)

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "KNearestNeighbor",
    "acceptable_knn_labels",
    "acceptable_labels_from_distances",
    "cross_validate_k",
    "kneighbors",
    "knn_predict",
    "pairwise_distances",
]

DEFAULT_MEMORY_BUDGET = 512 * 2**20  # bytes per distance block: large enough for GEMM efficiency
_METRICS = ("l2", "l1")
# d² below tau·(‖x‖² + max‖y‖²) may have lost most digits to cancellation: recompute those directly.
_CANCEL_TAU = {torch.float64: 1e-6, torch.float32: 1e-4}


# --------------------------------------------------------------------------------------------- validation
def _check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or metric.lower() not in _METRICS:
        raise ValueError(f"metric must be 'l2' or 'l1', got {metric!r}")
    return metric.lower()


def _check_budget(memory_budget: Any) -> int:
    return check_int(memory_budget, "memory_budget", minimum=1)


def _pair(X: Any, Y: Any, xname: str, yname: str, dtype: Any, device: Any
          ) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = check_dtype(dtype)
    dev = resolve_device(device)
    Xt = as_float_tensor(X, xname, ndim=2, dtype=dtype, device=dev)
    Yt = as_float_tensor(Y, yname, ndim=2, dtype=dtype, device=dev)
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"{xname} and {yname} must have the same number of columns, "
                         f"got {Xt.shape[1]} and {Yt.shape[1]}")
    return Xt, Yt


@contextlib.contextmanager
def _ieee_matmul(t: torch.Tensor) -> Iterator[None]:
    """No TF32 for the reference's float32 GEMMs on CUDA, whatever the process set globally."""
    if t.device.type != "cuda" or t.dtype != torch.float32:
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


# --------------------------------------------------------------------------------------------- distances
def _rows_per_block(n_cols: int, itemsize: int, memory_budget: int) -> int:
    return max(1, memory_budget // max(1, n_cols * itemsize))


def _sq_l2_block(Xc: torch.Tensor, Y: torch.Tensor, xx: torch.Tensor, yy: torch.Tensor,
                 out: torch.Tensor | None = None) -> torch.Tensor:
    """Squared L2 distances of the rows of Xc to the rows of Y, clamped at 0, near-duplicates exact."""
    d2 = torch.addmm(yy[None, :], Xc, Y.T, beta=1.0, alpha=-2.0, out=out)
    d2.add_(xx[:, None]).clamp_(min=0.0)
    tau = _CANCEL_TAU.get(d2.dtype, 1e-2)
    bound = (xx + (yy.max() if yy.numel() else 0.0)) * tau
    # Row minima first (a reduction without temporaries): most blocks have no near-duplicate at all.
    rows = (d2.amin(dim=1) < bound).nonzero(as_tuple=True)[0]
    if rows.numel():
        r, c = (d2[rows] < bound[rows, None]).nonzero(as_tuple=True)
        r = rows[r]
        step = max(1, 2**22 // max(1, Xc.shape[1]))  # bounded temporaries for the direct recomputation
        for s in range(0, r.numel(), step):
            rs, cs = r[s:s + step], c[s:s + step]
            d2[rs, cs] = (Xc[rs] - Y[cs]).square().sum(dim=1)
    return d2


def _sq_norms(X: torch.Tensor) -> torch.Tensor:
    """Row sums of squares. float64: einsum (a batched dot product, exact for integer pixels, ~5x faster
    than X.square().sum(1)). Lower precision: einsum accumulates sequentially (~1e-4 relative error in
    float32), so use vector_norm's careful reduction (a few ulp) squared."""
    if X.dtype == torch.float64:
        return torch.einsum("ij,ij->i", X, X)
    return torch.linalg.vector_norm(X, dim=1).square()


def _distance_blocks(X: torch.Tensor, Y: torch.Tensor, metric: str, memory_budget: int, *, squared: bool,
                     norms: tuple[torch.Tensor, torch.Tensor] | None = None
                     ) -> Iterator[tuple[int, int, torch.Tensor]]:
    """Yield (row start, row stop, block of distances of X[start:stop] to all of Y); `norms` may carry
    precomputed squared row norms of X and Y (cross-validation reuses them across folds)."""
    rows = _rows_per_block(Y.shape[0], X.element_size(), memory_budget)
    if metric == "l2":
        xx, yy = norms if norms is not None else (_sq_norms(X), _sq_norms(Y))
    with _ieee_matmul(X):
        for i in range(0, X.shape[0], rows):
            j = min(i + rows, X.shape[0])
            if metric == "l2":
                block = _sq_l2_block(X[i:j], Y, xx[i:j], yy)
                if not squared:
                    block.sqrt_()
            else:
                block = torch.cdist(X[i:j], Y, p=1.0)
            yield i, j, block


def pairwise_distances(X: Any, Y: Any, metric: str = "l2", *, device: Any = None,
                       dtype: torch.dtype = torch.float64,
                       memory_budget: int = DEFAULT_MEMORY_BUDGET) -> torch.Tensor:
    """Distance matrix D[i, j] = ‖X[i] − Y[j]‖ (metric "l2") or Σ|X[i] − Y[j]| ("l1").

    X (n, d), Y (m, d); returns a (n, m) tensor of `dtype` on `device`. Blocks of rows are computed in place
    in the output, each at most `memory_budget` bytes of distances (L1: one extra block; L2: a mask over
    the rows that hold near-duplicates), so memory beyond the inputs and the output stays bounded: e.g.
    10000 x 50000 x 3072 in float64 needs 0.25 + 1.2 GB of inputs, 4 GB of output and ~1 GB of blocks.
    """
    metric = _check_metric(metric)
    memory_budget = _check_budget(memory_budget)
    Xt, Yt = _pair(X, Y, "X", "Y", dtype, device)
    out = torch.empty((Xt.shape[0], Yt.shape[0]), dtype=Xt.dtype, device=Xt.device)
    if out.numel() == 0:
        return out
    if metric == "l1":
        for i, j, block in _distance_blocks(Xt, Yt, metric, memory_budget, squared=False):
            out[i:j] = block
        return out
    # L2 writes each block straight into the output: no second copy of the matrix.
    rows = _rows_per_block(Yt.shape[0], Xt.element_size(), memory_budget)
    xx, yy = _sq_norms(Xt), _sq_norms(Yt)
    with _ieee_matmul(Xt):
        for i in range(0, Xt.shape[0], rows):
            j = min(i + rows, Xt.shape[0])
            _sq_l2_block(Xt[i:j], Yt, xx[i:j], yy, out=out[i:j]).sqrt_()
    return out


# --------------------------------------------------------------------------------------------- neighbours
def _stable_smallest(block: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k smallest entries per row and their columns, ordered by (value, column)."""
    # topk's choice among values equal to the k-th is unspecified: rows where such a tie crosses the
    # k-th place (the (k+1)-th smallest equals the k-th) are redone with a stable full sort (rare on real
    # data; crafted ties in tests).
    if k < block.shape[1]:
        vals, idx = torch.topk(block, k + 1, dim=1, largest=False, sorted=True)
        crossing = vals[:, k] == vals[:, k - 1]
        vals, idx = vals[:, :k], idx[:, :k]
    else:
        vals, idx = torch.topk(block, k, dim=1, largest=False, sorted=True)
        crossing = torch.zeros(block.shape[0], dtype=torch.bool, device=block.device)
    if bool(crossing.any()):
        rows = crossing.nonzero(as_tuple=True)[0]
        v, i = torch.sort(block[rows], dim=1, stable=True)
        vals[rows], idx[rows] = v[:, :k], i[:, :k]
    # Order within the k: by index first, then a stable sort by value keeps lower indices first among ties.
    idx, perm = torch.sort(idx, dim=1)
    vals = vals.gather(1, perm)
    vals, perm = torch.sort(vals, dim=1, stable=True)
    idx = idx.gather(1, perm)
    return vals, idx


def _neighbors(X_train: torch.Tensor, X_test: torch.Tensor, k: int, metric: str, memory_budget: int,
               norms: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(squared L2 or L1 distances, training indices) of the k nearest, shape (n_test, k); `norms` =
    (test, train) squared row norms when already known."""
    vals = torch.empty((X_test.shape[0], k), dtype=X_train.dtype, device=X_train.device)
    idx = torch.empty((X_test.shape[0], k), dtype=torch.int64, device=X_train.device)
    for i, j, block in _distance_blocks(X_test, X_train, metric, memory_budget, squared=True, norms=norms):
        vals[i:j], idx[i:j] = _stable_smallest(block, k)
    return vals, idx


def _validated_knn_inputs(X_train: Any, y_train: Any | None, X_test: Any, k: Any, metric: Any, device: Any,
                          dtype: Any, memory_budget: Any
                          ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, int, str, int]:
    metric = _check_metric(metric)
    memory_budget = _check_budget(memory_budget)
    Xtr, Xte = _pair(X_train, X_test, "X_train", "X_test", dtype, device)
    if Xtr.shape[0] == 0:
        raise ValueError("X_train must have at least one row")
    ytr = None if y_train is None else as_labels(y_train, "y_train", n=Xtr.shape[0], device=Xtr.device)
    k = check_int(k, "k", minimum=1, maximum=Xtr.shape[0])
    return Xtr, ytr, Xte, k, metric, memory_budget


def kneighbors(X_train: Any, X_test: Any, k: int, metric: str = "l2", *, device: Any = None,
               dtype: torch.dtype = torch.float64, memory_budget: int = DEFAULT_MEMORY_BUDGET
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest training rows of every test row: (distances (n_test, k), indices (n_test, k) int64).

    Ordered by (distance, training index), so among equal distances the lower index comes first.
    """
    Xtr, _, Xte, k, metric, budget = _validated_knn_inputs(X_train, None, X_test, k, metric, device, dtype,
                                                           memory_budget)
    vals, idx = _neighbors(Xtr, Xte, k, metric, budget)
    return (vals.sqrt() if metric == "l2" else vals), idx


def _encode(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sorted distinct labels, codes): voting on codes keeps "smallest code" = "smallest label"."""
    classes, codes = torch.unique(y, sorted=True, return_inverse=True)
    return classes, codes


def _votes(neighbor_codes: torch.Tensor, num_classes: int, ks: Iterable[int]) -> Iterator[tuple[int, torch.Tensor]]:
    """For each k (ascending), the winning code of the first k neighbours; argmax returns the first maximum,
    i.e. the smallest label among tied counts. Counts grow incrementally from one k to the next."""
    counts = torch.zeros((neighbor_codes.shape[0], num_classes), dtype=torch.int64, device=neighbor_codes.device)
    done = 0
    for k in ks:
        cols = neighbor_codes[:, done:k]
        counts.scatter_add_(1, cols, torch.ones_like(cols))
        done = k
        yield k, counts.argmax(dim=1)


def knn_predict(X_train: Any, y_train: Any, X_test: Any, k: int, metric: str = "l2", *, device: Any = None,
                dtype: torch.dtype = torch.float64, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> torch.Tensor:
    """Labels (n_test,) int64 by majority vote of the k nearest training rows (stable ties, smallest label)."""
    Xtr, ytr, Xte, k, metric, budget = _validated_knn_inputs(X_train, y_train, X_test, k, metric, device,
                                                             dtype, memory_budget)
    assert ytr is not None
    classes, codes = _encode(ytr)
    _, idx = _neighbors(Xtr, Xte, k, metric, budget)
    (_, winner), = _votes(codes[idx], classes.numel(), [k])
    return classes[winner]


def cross_validate_k(X: Any, y: Any, k_choices: Iterable[int], num_folds: int = 5, metric: str = "l2", *,
                     device: Any = None, dtype: torch.dtype = torch.float64,
                     memory_budget: int = DEFAULT_MEMORY_BUDGET) -> dict[int, list[float]]:
    """CS231n cross-validation: `{k: [accuracy on fold f for f in range(num_folds)]}`.

    Folds follow `np.array_split` of the rows in order; fold f is validated against the other folds
    concatenated in order (so "lower training index" means the same as in the notebook). Distances are
    computed once per fold and sorted once up to max(k); every k then only votes.
    """
    metric = _check_metric(metric)
    budget = _check_budget(memory_budget)
    dev = resolve_device(device)
    Xt = as_float_tensor(X, "X", ndim=2, dtype=check_dtype(dtype), device=dev)
    yt = as_labels(y, "y", n=Xt.shape[0], device=dev)
    n = Xt.shape[0]
    num_folds = check_int(num_folds, "num_folds", minimum=2, maximum=max(2, n))
    if n < num_folds:
        raise ValueError(f"X must have at least num_folds={num_folds} rows, got {n}")
    folds = np.array_split(np.arange(n), num_folds)
    n_train_min = n - max(len(f) for f in folds)
    if isinstance(k_choices, (str, bytes)) or not isinstance(k_choices, Iterable):
        raise ValueError(f"k_choices must be an iterable of integers, got {k_choices!r}")  # noqa: TRY004 - project rule: ValueError
    ks = [check_int(k, "k_choices", minimum=1, maximum=n_train_min) for k in k_choices]
    if not ks:
        raise ValueError("k_choices must hold at least one k")
    order = sorted(set(ks))
    classes, codes = _encode(yt)
    result: dict[int, list[float]] = {k: [] for k in dict.fromkeys(ks)}
    sq = _sq_norms(Xt) if metric == "l2" else None  # once for all folds
    for f, val in enumerate(folds):
        train = np.concatenate([folds[g] for g in range(num_folds) if g != f])
        tr = torch.as_tensor(train, device=dev)
        va = torch.as_tensor(val, device=dev)
        norms = None if sq is None else (sq[va], sq[tr])
        _, idx = _neighbors(Xt[tr], Xt[va], order[-1], metric, budget, norms)
        nb_codes = codes[tr][idx]
        truth = codes[va]
        for k, winner in _votes(nb_codes, classes.numel(), order):
            result[k].append(float((winner == truth).double().mean()))
    return result


class KNearestNeighbor:
    """CS231n-style classifier: `train` memorises, `predict(X, k)` votes (see `knn_predict`)."""

    def __init__(self, metric: str = "l2", *, device: Any = None, dtype: torch.dtype = torch.float64,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.metric = _check_metric(metric)
        self.device = resolve_device(device)
        self.dtype = check_dtype(dtype)
        self.memory_budget = _check_budget(memory_budget)
        self.X_train: torch.Tensor | None = None
        self.y_train: torch.Tensor | None = None

    def train(self, X: Any, y: Any) -> KNearestNeighbor:
        X_t = as_float_tensor(X, "X", ndim=2, dtype=self.dtype, device=self.device)
        if X_t.shape[0] == 0:
            raise ValueError("X must have at least one row")
        self.y_train = as_labels(y, "y", n=X_t.shape[0], device=self.device)
        self.X_train = X_t
        return self

    def predict(self, X: Any, k: int = 1) -> torch.Tensor:
        """Labels (n,) int64 on the classifier's device."""
        if self.X_train is None or self.y_train is None:
            raise ValueError("X_train is not set: call train(X, y) before predict")
        return knn_predict(self.X_train, self.y_train, X, k, self.metric, device=self.device, dtype=self.dtype,
                           memory_budget=self.memory_budget)


# --------------------------------------------------------------------------------------------- fair grading
def acceptable_labels_from_distances(dists: Any, y_train: Any, k: int, rtol: float = 1e-9) -> list[set[int]]:
    """Per row of `dists` (n_test, n_train): every label a correct k-NN vote can return.

    Neighbours whose distance ties the k-th smallest one (|d − d_k| ≤ rtol·max(1, |d_k|)) may be chosen in
    any way (students sort with unstable argsorts); all strictly closer neighbours are always
    in. A label L is acceptable when some choice of the tied neighbours makes L win the vote under the
    smallest-label rule: L must get strictly more votes than every smaller label and at least as many as
    every larger one. Without ties this is exactly {knn_predict's label}.
    """
    D = as_float_tensor(dists, "dists", ndim=2, dtype=torch.float64, device=torch.device("cpu"))
    y = as_labels(y_train, "y_train", n=D.shape[1])
    k = check_int(k, "k", minimum=1, maximum=max(1, D.shape[1]))
    if D.shape[1] == 0:
        raise ValueError("dists must have at least one column (training row)")
    rtol = check_float(rtol, "rtol", minimum=0.0)
    classes, codes = _encode(y)
    C = classes.numel()
    kth = torch.kthvalue(D, k, dim=1).values[:, None]
    tol = rtol * kth.abs().clamp(min=1.0)
    strict = D < kth - tol
    tied = (D - kth).abs() <= tol
    onehot = torch.nn.functional.one_hot(codes, C).to(torch.int64)  # (n_train, C)
    S = (strict.to(torch.int64) @ onehot).numpy()  # votes every choice gets, per label
    T = (tied.to(torch.int64) @ onehot).numpy()  # tied neighbours available, per label
    m = k - S.sum(axis=1)  # how many tied neighbours get chosen
    ok = np.zeros_like(S, dtype=bool)
    lab = np.arange(C)
    for L in range(C):
        c_L = np.minimum(T[:, L], m)  # as many L as possible: never hurts L
        count_L = S[:, L] + c_L
        cap = count_L[:, None] - (lab[None, :] < L)  # a smaller label wins a count tie against L
        cap[:, L] = count_L  # L itself is not a rival
        feasible = (S <= cap).all(axis=1) & (count_L > 0)
        room = np.minimum(T, np.maximum(cap - S, 0))
        room[:, L] = 0
        ok[:, L] = feasible & (room.sum(axis=1) >= m - c_L)
    cls = classes.tolist()
    return [{cls[c] for c in np.flatnonzero(row)} for row in ok]


def acceptable_knn_labels(X_train: Any, y_train: Any, X_test: Any, k: int, metric: str = "l2",
                          rtol: float = 1e-9, *, device: Any = None, dtype: torch.dtype = torch.float64,
                          memory_budget: int = DEFAULT_MEMORY_BUDGET) -> list[set[int]]:
    """`acceptable_labels_from_distances` on the reference distances, block by block (never the full matrix).

    Returns one set of labels per test row; `knn_predict`'s label is always in it.
    """
    Xtr, ytr, Xte, k, metric, budget = _validated_knn_inputs(X_train, y_train, X_test, k, metric, device,
                                                             dtype, memory_budget)
    rtol = check_float(rtol, "rtol", minimum=0.0)
    assert ytr is not None
    y_cpu = ytr.cpu()
    out: list[set[int]] = []
    for _, _, block in _distance_blocks(Xte, Xtr, metric, budget, squared=False):
        out.extend(acceptable_labels_from_distances(block.cpu(), y_cpu, k, rtol))
    return out
