"""reference_impl.knn against naive loops, scikit-learn, and crafted ties."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from reference_impl import data, knn


def _naive(X: np.ndarray, Y: np.ndarray, metric: str) -> np.ndarray:
    out = np.empty((X.shape[0], Y.shape[0]))
    for i in range(X.shape[0]):
        for j in range(Y.shape[0]):
            diff = X[i] - Y[j]
            out[i, j] = np.sqrt(np.sum(diff * diff)) if metric == "l2" else np.sum(np.abs(diff))
    return out


@pytest.fixture(scope="module")
def pixels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (23, 48)).astype(np.float64), rng.integers(0, 256, (31, 48)).astype(np.float64)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_distances_equal_naive_double_loop(pixels, metric):
    X, Y = pixels
    D = knn.pairwise_distances(X, Y, metric, device="cpu")
    assert isinstance(D, torch.Tensor) and D.dtype == torch.float64 and D.shape == (23, 31)
    np.testing.assert_allclose(D.numpy(), _naive(X, Y, metric), rtol=1e-14, atol=0)


def test_l1_is_exact_on_integer_pixels(pixels):
    X, Y = pixels
    assert np.array_equal(knn.pairwise_distances(X, Y, "l1", device="cpu").numpy(), _naive(X, Y, "l1"))


def test_squared_l2_is_exact_on_integer_pixels(pixels):
    X, Y = pixels
    D = knn.pairwise_distances(X, Y, "l2", device="cpu").numpy()
    exact = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1)  # integers < 2**53: exact in float64
    np.testing.assert_allclose(D**2, exact, rtol=1e-15)


@pytest.mark.parametrize("scale", [1.0, 0.0137, 1e3])
def test_duplicate_rows_give_zero_not_nan(scale):
    rng = np.random.default_rng(2)
    X = rng.normal(121.3, 55.0, (10, 300)) * scale  # non-integer: the GEMM identity cancels inexactly
    Y = np.vstack([X[::-1], X + 1e-9 * scale])
    D = knn.pairwise_distances(X, Y, "l2", device="cpu").numpy()
    assert np.isfinite(D).all()
    assert np.all(np.diag(D[:, 9::-1]) == 0)  # Y[:10] is X reversed
    # near-duplicates are recomputed directly: accurate, not sqrt(rounding noise)
    np.testing.assert_allclose(np.diag(D[:, 10:]), _naive(X, X + 1e-9 * scale, "l2").diagonal(), rtol=1e-6)


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("budget", [1, 8 * 7, 8 * 31 * 5])
def test_chunking_gives_the_same_result(pixels, metric, budget):
    X, Y = pixels
    # integer pixels: every block is exact, so the results are bit-identical
    full = knn.pairwise_distances(X, Y, metric, device="cpu")
    assert torch.equal(full, knn.pairwise_distances(X, Y, metric, device="cpu", memory_budget=budget))
    # non-integer: a 1-row block may take another BLAS kernel (GEMV), so equal up to rounding
    X = X + np.linspace(0, 1, X.shape[1])
    full = knn.pairwise_distances(X, Y, metric, device="cpu")
    tiny = knn.pairwise_distances(X, Y, metric, device="cpu", memory_budget=budget)
    np.testing.assert_allclose(tiny.numpy(), full.numpy(), rtol=1e-13, atol=0)


def test_float32_distances_are_close(pixels):
    X, Y = pixels
    D32 = knn.pairwise_distances(X, Y, device="cpu", dtype=torch.float32)
    assert D32.dtype == torch.float32
    np.testing.assert_allclose(D32.numpy(), _naive(X, Y, "l2"), rtol=1e-5, atol=0.5)


@pytest.fixture(scope="module")
def tie_free() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    Xtr = rng.normal(size=(300, 20)) + np.repeat(rng.normal(size=(5, 20)), 60, axis=0)
    ytr = np.repeat(np.arange(5) * 2 + 1, 60)  # labels 1, 3, .., 9: not 0..C-1
    Xte = rng.normal(size=(80, 20)) + rng.normal(size=(5, 20))[rng.integers(0, 5, 80)]
    return Xtr, ytr, Xte


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("k", [1, 4, 7, 20])
def test_knn_predict_equals_sklearn_brute_force(tie_free, metric, k):
    Xtr, ytr, Xte = tie_free
    ours = knn.knn_predict(Xtr, ytr, Xte, k, metric, device="cpu", memory_budget=8 * 300 * 9)
    sk = KNeighborsClassifier(k, algorithm="brute", metric="euclidean" if metric == "l2" else "manhattan")
    expected = sk.fit(Xtr, ytr).predict(Xte)
    assert ours.dtype == torch.int64 and ours.shape == (80,)
    assert np.array_equal(ours.numpy(), expected)


def test_equal_distances_take_the_lower_training_index():
    # Six training points at distance 1 from the query (unit vectors ±e_i); their labels reveal which were chosen.
    Xtr = np.vstack([np.eye(3), -np.eye(3), [[5.0, 5.0, 5.0]]])
    ytr = np.array([9, 8, 7, 6, 5, 4, 3])
    Xte = np.zeros((1, 3))
    d, idx = knn.kneighbors(Xtr, Xte, 4, device="cpu")
    assert idx.tolist() == [[0, 1, 2, 3]] and d.tolist() == [[1.0] * 4]
    for k, expected in [(1, 9), (2, 8), (3, 7)]:  # each a count tie among the lowest indices: smallest label
        assert int(knn.knn_predict(Xtr, ytr, Xte, k, device="cpu")[0]) == expected
    # reversed training order (far point dropped): now the lowest index carries label 4
    assert int(knn.knn_predict(Xtr[-2::-1], ytr[-2::-1], Xte, 1, device="cpu")[0]) == 4


def test_ties_at_the_kth_place_are_resolved_stably_in_large_blocks():
    # Many exact ties (integer points), beyond what topk orders: the result must equal a stable full sort.
    rng = np.random.default_rng(4)
    Xtr = rng.integers(0, 3, (500, 4)).astype(float)
    Xte = rng.integers(0, 3, (40, 4)).astype(float)
    d, idx = knn.kneighbors(Xtr, Xte, 9, device="cpu")
    full = ((Xte[:, None] - Xtr[None]) ** 2).sum(-1)
    order = np.argsort(full, axis=1, kind="stable")[:, :9]
    assert np.array_equal(idx.numpy(), order)
    np.testing.assert_allclose(d.numpy(), np.sqrt(np.take_along_axis(full, order, 1)))


def test_vote_tie_goes_to_the_smallest_label_not_the_nearest():
    # k = 4: labels 9 (nearest), 8, 9, 8 -> 2 votes each: the CS231n rule says 8 although 9 is nearest.
    Xtr = np.array([[1.0], [2.0], [3.0], [4.0], [10.0]])
    ytr = np.array([9, 8, 9, 8, 0])
    pred = knn.knn_predict(Xtr, ytr, np.zeros((1, 1)), 4, device="cpu")
    assert pred.tolist() == [8]
    assert knn.knn_predict(Xtr, ytr, np.zeros((1, 1)), 3, device="cpu").tolist() == [9]


def test_cross_validate_k_equals_recomputing_each_k():
    X, y = data.synthetic_cifar(150, seed=5, flatten=True)
    ks = [1, 3, 8, 5, 20]
    res = knn.cross_validate_k(X, y, ks, num_folds=4, device="cpu")
    assert list(res) == ks
    folds_X, folds_y = np.array_split(X, 4), np.array_split(y, 4)
    for k in ks:
        for f in range(4):
            Xtr = np.concatenate(folds_X[:f] + folds_X[f + 1:])
            ytr = np.concatenate(folds_y[:f] + folds_y[f + 1:])
            pred = knn.knn_predict(Xtr, ytr, folds_X[f], k, device="cpu").numpy()
            assert res[k][f] == pytest.approx(np.mean(pred == folds_y[f]), abs=0)


def test_cross_validate_k_with_ties_matches_per_k_predict():
    rng = np.random.default_rng(6)
    X = rng.integers(0, 2, (60, 3)).astype(float)  # heavy ties everywhere
    y = rng.integers(0, 4, 60) * 3
    res = knn.cross_validate_k(X, y, [1, 2, 5, 11], num_folds=3, metric="l1", device="cpu")
    fx, fy = np.array_split(X, 3), np.array_split(y, 3)
    for k, accs in res.items():
        for f in range(3):
            pred = knn.knn_predict(np.concatenate(fx[:f] + fx[f + 1:]), np.concatenate(fy[:f] + fy[f + 1:]), fx[f],
                                   k, "l1", device="cpu").numpy()
            assert accs[f] == np.mean(pred == fy[f])


def test_classifier_matches_knn_predict(tie_free):
    Xtr, ytr, Xte = tie_free
    clf = knn.KNearestNeighbor(device="cpu").train(Xtr, ytr)
    assert torch.equal(clf.predict(Xte, k=5), knn.knn_predict(Xtr, ytr, Xte, 5, device="cpu"))


def _brute_acceptable(dists: np.ndarray, y: np.ndarray, k: int) -> list[set[int]]:
    """Every choice of k neighbours that a (value-)sorting could make: enumerate the tied subsets."""
    from itertools import combinations

    out = []
    for row in dists:
        kth = np.sort(row)[k - 1]
        strict = list(np.flatnonzero(row < kth))
        tied = list(np.flatnonzero(row == kth))
        labels = set()
        for chosen in combinations(tied, k - len(strict)):
            counts = np.bincount(y[strict + list(chosen)], minlength=y.max() + 1)
            labels.add(int(np.argmax(counts)))
        out.append(labels)
    return out


def test_acceptable_labels_match_brute_force_enumeration():
    rng = np.random.default_rng(7)
    Xtr = rng.integers(0, 3, (14, 2)).astype(float)
    ytr = rng.integers(0, 12, 14)
    Xte = rng.integers(0, 3, (25, 2)).astype(float)
    D = knn.pairwise_distances(Xte, Xtr, "l1", device="cpu").numpy()
    for k in (1, 2, 3, 5):
        expected = _brute_acceptable(D, ytr, k)
        assert knn.acceptable_knn_labels(Xtr, ytr, Xte, k, "l1", device="cpu") == expected
        pred = knn.knn_predict(Xtr, ytr, Xte, k, "l1", device="cpu").tolist()
        assert all(p in s for p, s in zip(pred, expected, strict=True))
    assert any(len(s) > 1 for s in expected)  # the data really have ties


def test_acceptable_labels_without_ties_are_the_prediction(tie_free):
    Xtr, ytr, Xte = tie_free
    sets = knn.acceptable_knn_labels(Xtr, ytr, Xte, 5, device="cpu", memory_budget=8 * 300 * 7)
    pred = knn.knn_predict(Xtr, ytr, Xte, 5, device="cpu").tolist()
    assert sets == [{p} for p in pred]


def test_acceptable_labels_crafted_tie_with_large_labels():
    # Query at 0; one neighbour at distance 1 (label 9), three at distance 2 (labels 8, 9, 10), k = 2.
    Xtr = np.array([[1.0], [2.0], [-2.0], [2.0]])
    ytr = np.array([9, 8, 9, 10])
    D = np.abs(Xtr.T)  # (1, 4)
    assert knn.acceptable_labels_from_distances(D, ytr, 2) == [{8, 9}]  # 9+10 -> 9 wins as well; 9+8 -> 8
    assert knn.acceptable_labels_from_distances(D, ytr, 1) == [{9}]
    assert knn.acceptable_labels_from_distances(D, ytr, 3) == [{8, 9}]  # 9,8,10 is a three-way tie -> 8
    assert knn.acceptable_labels_from_distances(D, ytr, 4) == [{9}]
    assert knn.acceptable_labels_from_distances(D + [[0, 0, 1e-12, 0]], ytr, 2, rtol=0.0) == [{8, 9}]
