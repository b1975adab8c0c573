"""reference_impl.data and reference_impl.tables."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from reference_impl import data, knn, tables


def test_synthetic_cifar_shape_range_and_determinism():
    X, y = data.synthetic_cifar(40, seed=3)
    assert X.shape == (40, 32, 32, 3) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() >= 0 and X.max() <= 255 and np.array_equal(X, np.rint(X))
    X2, y2 = data.synthetic_cifar(40, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = data.synthetic_cifar(40, seed=4)
    assert not np.array_equal(X, X3)
    Xf, _ = data.synthetic_cifar(40, seed=3, flatten=True)
    assert np.array_equal(Xf, X.reshape(40, 3072))
    assert 100 < X.mean() < 140 and 40 < X.std() < 70


PINNED = "0c164a7a744546c0"


def test_synthetic_cifar_is_pinned():
    # Same bits on every machine: a change of the generator must be deliberate (update this digest).
    X, y = data.synthetic_cifar(8, seed=0)
    digest = hashlib.sha256(X.astype(np.uint8).tobytes() + y.tobytes()).hexdigest()[:16]
    assert digest == PINNED


def test_knn_beats_chance_clearly_but_not_perfectly():
    Xtr, ytr = data.synthetic_cifar(1000, seed=0, flatten=True)
    Xte, yte = data.synthetic_cifar(200, seed=1, flatten=True)
    acc = float((knn.knn_predict(Xtr, ytr, Xte, 10, device="cpu").numpy() == yte).mean())
    assert 0.15 < acc < 0.6


def test_missing_cifar10_is_one_clear_line(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar10(tmp_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(tmp_path / "cifar-10-batches-py") in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in msg and "download=True" in msg


def test_bishop_table_frame():
    df = tables.bishop_table_1_1()
    assert list(df.columns)[1:] == [f"M = {m}{s}" for m in (0, 1, 3, 9) for s in ("", " (book)")]
    assert len(df) == 11 and df.iloc[-1, 0] == "E_RMS (train)"
    for m in (0, 1, 3):
        ours = df[f"M = {m}"].to_numpy()[: m + 1]
        np.testing.assert_allclose(ours, df[f"M = {m} (book)"].to_numpy()[: m + 1], atol=0.01)
    assert df["M = 9"].iloc[-1] < 1e-3 and df["M = 0"].iloc[-1] == pytest.approx(0.615, abs=0.002)


def test_knn_cv_table_frame():
    df = tables.knn_cv_table(seed=1, n=120, k_choices=(1, 5), num_folds=3)
    assert list(df.columns) == ["k", "mean accuracy", "std", "min", "max"]
    assert df["k"].tolist() == [1, 5]
    assert ((df["min"] <= df["mean accuracy"]) & (df["mean accuracy"] <= df["max"])).all()
    assert ((df["mean accuracy"] >= 0) & (df["mean accuracy"] <= 1)).all()
