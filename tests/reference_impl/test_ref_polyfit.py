"""reference_impl.polyfit: Bishop Table 1.1, ridge monotonicity, stability, agreement with numpy."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from reference_impl import polyfit

X, T = polyfit.BISHOP_FIG_1_2


@pytest.mark.parametrize("M", [0, 1, 3])
def test_bishop_table_1_1_low_orders(M):
    w = polyfit.fit(X, T, M, device="cpu")
    assert w.shape == (M + 1,) and w.dtype == torch.float64
    np.testing.assert_allclose(w.numpy(), polyfit.BISHOP_TABLE_1_1[M], rtol=0, atol=0.01)


def test_bishop_m9_interpolates_and_matches_the_table():
    w = polyfit.fit(X, T, 9, device="cpu")
    assert float(polyfit.rms_error(w, X, T, device="cpu")) < 1e-3
    assert float(w.abs().max()) > 1e4
    # the printed column, up to the 3-decimal rounding of t
    np.testing.assert_allclose(w.numpy(), polyfit.BISHOP_TABLE_1_1[9], rtol=2e-3)


def test_m9_is_accurate_where_normal_equations_are_not():
    # Exact data from known coefficients: a stable solver recovers them far better than ΦᵀΦ (~5e-4).
    w_true = np.array(polyfit.BISHOP_TABLE_1_1[9])
    x = np.linspace(0, 1, 10)
    t = np.vander(x, 10, increasing=True) @ w_true
    w = polyfit.fit(x, t, 9, device="cpu").numpy()
    assert np.max(np.abs(w - w_true) / np.abs(w_true)) < 1e-7


def test_ridge_is_monotone_in_lambda():
    lams = [0.0] + list(np.exp(np.arange(-35.0, 1.0, 2.5)))
    norms, errs = [], []
    for lam in lams:
        w = polyfit.fit(X, T, 9, lam, device="cpu")
        norms.append(float(torch.linalg.norm(w)))
        errs.append(float(polyfit.rms_error(w, X, T, device="cpu")))
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(norms))
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(errs))
    assert norms[-1] < 1.0 and norms[0] > 1e5


@pytest.mark.parametrize("lam", [np.exp(-18), np.exp(-5), 1.0])
def test_ridge_matches_eq_1_4(lam):
    x, t = polyfit.sin_data(15, seed=3)
    x, t = x.numpy(), t.numpy()
    Phi = np.vander(x, 10, increasing=True)
    expected = np.linalg.solve(Phi.T @ Phi + lam * np.eye(10), Phi.T @ t)  # w0 regularised too
    np.testing.assert_allclose(polyfit.fit(x, t, 9, lam, device="cpu").numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_numpy_polyfit_on_many_points_across_chunks(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 2, 70_000)  # > one QR chunk, not in [0, 1]
    t = np.sin(x) + rng.normal(0, 0.3, x.size)
    w = polyfit.fit(x, t, 6, device="cpu").numpy()
    np.testing.assert_allclose(w, np.polyfit(x, t, 6)[::-1], rtol=1e-8, atol=1e-10)


def test_underdetermined_gives_minimum_norm_like_lstsq():
    x, t = np.array([0.5, 0.5, 0.2]), np.array([1.0, 2.0, 0.0])
    expected = np.linalg.lstsq(np.vander(x, 5, increasing=True), t, rcond=None)[0]
    np.testing.assert_allclose(polyfit.fit(x, t, 4, device="cpu").numpy(), expected, rtol=1e-10, atol=1e-12)


def test_design_matrix_predict_and_rms():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    Phi = polyfit.design_matrix(x, 3, device="cpu")
    np.testing.assert_array_equal(Phi.numpy(), np.vander(x, 4, increasing=True))
    w = np.array([1.0, -2.0, 0.5, 0.25])
    np.testing.assert_allclose(polyfit.predict(w, x, device="cpu").numpy(), np.polyval(w[::-1], x), rtol=1e-15)
    t = np.array([1.0, 2.0, 3.0, 4.0])
    e = np.sqrt(np.mean((np.polyval(w[::-1], x) - t) ** 2))
    assert float(polyfit.rms_error(w, x, t, device="cpu")) == pytest.approx(e, rel=1e-14)
    assert polyfit.design_matrix(x, 0, device="cpu").numpy().tolist() == [[1.0]] * 4


def test_sin_data_is_seeded():
    x, t = polyfit.sin_data(10, seed=4)
    _, t2 = polyfit.sin_data(10, seed=4)
    _, t3 = polyfit.sin_data(10, seed=5)
    assert torch.equal(t, t2) and not torch.equal(t, t3)
    np.testing.assert_array_equal(x.numpy(), np.linspace(0, 1, 10))
    _, t0 = polyfit.sin_data(10, noise=0.0)
    np.testing.assert_allclose(t0.numpy(), np.sin(2 * np.pi * x.numpy()), atol=1e-15)
    assert 0.1 < float((t - torch.sin(2 * np.pi * x)).std()) < 0.6


def test_fit_restores_the_thread_count():
    before = torch.get_num_threads()
    polyfit.fit(X, T, 3, device="cpu")
    assert torch.get_num_threads() == before
