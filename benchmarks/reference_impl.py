"""Side-by-side speed of reference_impl against its peers, measured in one process.

    python benchmarks/reference_impl.py [--quick]

Prints, with the BLAS libraries in use (threadpoolctl):
  1. L2 distance throughput (float32) as a ratio of numpy's bare sgemm X @ Y.T rate on the same shapes;
  2. knn_predict vs scikit-learn KNeighborsClassifier(algorithm="brute"), identical labels asserted;
  3. cross_validate_k (distances once per fold) vs recomputing every k from scratch, results asserted equal;
  4. polyfit.fit at M = 9 vs numpy.polyfit, coefficients compared.
Timings are medians after one warm-up; a shared machine makes them noisy (the load average is printed).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# This file is named like the package it measures: drop its folder from the path, put the repository's first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [os.path.dirname(_HERE)] + [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def _race(ours: Callable[[], Any], peer: Callable[[], Any], repeats: int, rounds: int = 2,
          warmup: tuple[bool, bool] = (True, True)) -> tuple[float, float, Any, Any]:
    """Median times of `ours` and `peer` in blocks (ours, peer, ours, peer, ...: `rounds` of each), each block
    a discarded warm-up call (when `warmup` says so for that side) then `repeats` timed calls. Blocks, not
    strict alternation: OpenBLAS's and torch's OpenMP threads keep spinning after a call and slow the other
    library's next call several-fold; rounds spread bursts of load from other processes over both sides.
    Returns (t_ours, t_peer, result_ours, result_peer)."""
    times: dict[int, list[float]] = {0: [], 1: []}
    results: dict[int, Any] = {}
    for _ in range(rounds):
        for side, fn in enumerate((ours, peer)):
            if warmup[side]:
                results[side] = fn()
            for _ in range(repeats):
                t0 = time.perf_counter()
                results[side] = fn()
                times[side].append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1]), results[0], results[1]


def _blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    rows = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads, "
            f"{os.path.basename(i.get('filepath', ''))})" for i in threadpool_info()]
    return "; ".join(rows) or "none found"


def _row(name: str, ours: float, peer: float, peer_name: str, goal: float, extra: str = "") -> str:
    ratio = peer / ours
    mark = "ok" if ratio >= goal else "below goal"
    return (f"{name:<34} ours {ours * 1e3:9.1f} ms | {peer_name} {peer * 1e3:9.1f} ms | "
            f"speed-up {ratio:5.2f}x (goal >= {goal}x: {mark}){extra}")


def bench_l2(n_x: int, n_y: int, repeats: int) -> str:
    from reference_impl import data, knn

    X, _ = data.synthetic_cifar(n_x, seed=1, flatten=True)
    Y, _ = data.synthetic_cifar(n_y, seed=2, flatten=True)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    Xt, Yt = torch.from_numpy(X32), torch.from_numpy(Y32)
    t_ours, t_np, D, _ = _race(lambda: knn.pairwise_distances(Xt, Yt, device="cpu", dtype=torch.float32),
                               lambda: X32 @ Y32.T, repeats)
    D64 = knn.pairwise_distances(X[:50], Y, device="cpu").numpy()
    err = float(np.abs(D[:50].numpy() - D64).max())
    flop = 2.0 * n_x * n_y * X.shape[1]
    return (f"L2 distances {n_x}x{n_y}x{X.shape[1]} float32: ours {flop / t_ours / 1e9:6.1f} GFLOP/s "
            f"({t_ours * 1e3:.0f} ms, incl. norms, clamp, sqrt) | numpy sgemm {flop / t_np / 1e9:6.1f} GFLOP/s "
            f"({t_np * 1e3:.0f} ms) | ratio {t_np / t_ours:4.2f} (goal >= 0.9: "
            f"{'ok' if t_np / t_ours >= 0.9 else 'below goal'}); max |float32 - float64| = {err:.3g}")


def bench_knn(n_train: int, n_test: int, k: int, repeats: int) -> list[str]:
    from sklearn.neighbors import KNeighborsClassifier

    from reference_impl import data, knn

    Xtr, ytr = data.synthetic_cifar(n_train, seed=0, flatten=True)
    Xte, _ = data.synthetic_cifar(n_test, seed=1, flatten=True)
    lines = []
    for dtype, np_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
        a, b = Xtr.astype(np_dtype), Xte.astype(np_dtype)
        at, bt = torch.from_numpy(a), torch.from_numpy(b)

        def sk(a=a, b=b) -> np.ndarray:
            return KNeighborsClassifier(k, algorithm="brute").fit(a, ytr).predict(b)

        t_ours, t_sk, pred, pred_sk = _race(
            lambda at=at, bt=bt, dtype=dtype: knn.knn_predict(at, ytr, bt, k, device="cpu", dtype=dtype), sk, repeats)
        same = np.array_equal(pred.numpy(), pred_sk)
        assert same, f"knn_predict and scikit-learn disagree on {int((pred.numpy() != pred_sk).sum())} labels"
        lines.append(_row(f"knn_predict {n_test}x{n_train} k={k} {str(dtype)[6:]}", t_ours, t_sk, "sklearn brute",
                          2.0, "; labels identical"))
    return lines


def bench_cv(n: int, repeats: int) -> str:
    from reference_impl import data, knn

    X, y = data.synthetic_cifar(n, seed=0, flatten=True)
    Xt = torch.from_numpy(X)
    ks = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
    folds = 5

    def per_k() -> dict[int, list[float]]:
        fx, fy = np.array_split(X, folds), np.array_split(y, folds)
        out: dict[int, list[float]] = {}
        for k in ks:
            out[k] = []
            for f in range(folds):
                Xtr = np.concatenate(fx[:f] + fx[f + 1:])
                ytr = np.concatenate(fy[:f] + fy[f + 1:])
                pred = knn.knn_predict(Xtr, ytr, fx[f], k, device="cpu").numpy()
                out[k].append(float(np.mean(pred == fy[f])))
        return out

    # The peer is ~10x slower: one timed call each; ours is warmed up (the other library's threads spin).
    t_ours, t_peer, res, res_peer = _race(lambda: knn.cross_validate_k(Xt, y, ks, folds, device="cpu"), per_k,
                                          1, rounds=1, warmup=(True, False))
    assert res == res_peer, "cross_validate_k differs from per-k recomputation"
    return _row(f"cross_validate_k n={n}, 5 folds, 10 k", t_ours, t_peer, "per-k recompute", 8.0,
                "; accuracies identical")


def bench_polyfit(n: int, repeats: int) -> str:
    from reference_impl import polyfit

    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, n)
    t = np.sin(2 * np.pi * x) + rng.normal(0.0, 0.3, n)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    t_ours, t_np, w, w_np = _race(lambda: polyfit.fit(xt, tt, 9, device="cpu"), lambda: np.polyfit(x, t, 9),
                                  repeats)
    w_np = w_np[::-1]
    rel = float(np.max(np.abs(w.numpy() - w_np)) / np.max(np.abs(w_np)))
    e_ours = float(polyfit.rms_error(w, xt, tt, device="cpu"))
    e_np = float(polyfit.rms_error(w_np, xt, tt, device="cpu"))
    return _row(f"polyfit.fit N={n:.0e} M=9 float64", t_ours, t_np, "numpy.polyfit", 2.0,
                f"; max coef diff / max|w| = {rel:.1e}, E_RMS ours - numpy = {e_ours - e_np:+.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in well under 30 s")
    args = parser.parse_args(argv)
    if args.quick:
        sizes = {"l2": (500, 5000), "knn": (5000, 200), "cv": 600, "poly": 200_000, "repeats": 2}
    else:
        sizes = {"l2": (2000, 20000), "knn": (20000, 1000), "cv": 2500, "poly": 1_000_000, "repeats": 1}
    r = sizes["repeats"]
    load = os.getloadavg()
    print(f"reference_impl benchmark ({'quick' if args.quick else 'default'} sizes), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    print(f"BLAS: {_blas_info()}")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs "
          "(other processes on a shared machine make the timings noisy)")
    print(bench_l2(*sizes["l2"], r))
    for line in bench_knn(*sizes["knn"], k=10, repeats=r):
        print(line)
    print(bench_cv(sizes["cv"], r))
    print(bench_polyfit(sizes["poly"], 5))
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
