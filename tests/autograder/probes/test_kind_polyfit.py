"""Polynomial fitting: Bishop Fig. 1.2 data, M = 0, 1, 3 by coefficients (rtol 1e-6), M = 9 by predictions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from probe_helpers import SEEDS


def phi(x, M):
    return x[:, None] ** np.arange(M + 1)


def lstsq_fit(x, t, M, lam=0.0):
    P = phi(x, M)
    if lam:
        A = np.vstack([P, np.sqrt(lam) * np.eye(M + 1)])
        return np.linalg.lstsq(A, np.concatenate([t, np.zeros(M + 1)]), rcond=None)[0]
    return np.linalg.lstsq(P, t, rcond=None)[0]


def normal_eq_fit(x, t, M, lam=0.0):
    P = phi(x, M)
    return np.linalg.solve(P.T @ P + lam * np.eye(M + 1), P.T @ t)


def torch_fit(x, t, M, lam=0.0):
    P = torch.tensor(phi(x, M))
    return torch.linalg.solve(P.T @ P + lam * torch.eye(M + 1, dtype=torch.float64), P.T @ torch.tensor(t))


@pytest.mark.parametrize("M", [0, 1, 3, 9])
@pytest.mark.parametrize("fn", [lstsq_fit, normal_eq_fit, torch_fit], ids=["lstsq", "normal", "torch"])
def test_bishop_fits_pass(run, fn, M):
    v = run(fn, "polyfit.fit", {"data": "bishop", "M": M})
    assert v.status == "passed", v.message


@pytest.mark.parametrize("lam", [float(np.exp(-18)), float(np.exp(-5)), 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_ridge_fits_pass(run, lam, seed):
    for fn in (lstsq_fit, normal_eq_fit):
        assert run(fn, "polyfit.fit", {"M": 9, "lam": lam}, seed).status == "passed"


def test_column_vector_and_matrix_forms_pass(run):
    assert run(lambda x, t, M, lam: lstsq_fit(x, t, M)[:, None], "polyfit.fit", {"data": "bishop"}).status \
        == "passed"
    assert run(lambda x, t, M, lam: np.matrix(lstsq_fit(x, t, M)), "polyfit.fit", {"data": "bishop"}).status \
        == "passed"


def test_polyfit_order_is_reported(run):
    v = run(lambda x, t, M, lam: np.polyfit(x, t, M), "polyfit.fit", {"data": "bishop", "M": 3})
    assert v.status == "failed" and "reverse order" in v.message


def test_lambda_convention_slips_fail_with_hint(run):
    v = run(lambda x, t, M, lam: normal_eq_fit(x, t, M, lam / 2), "polyfit.fit", {"M": 3, "lam": 0.01})
    assert v.status == "failed" and "λ/2" in v.message
    v = run(lambda x, t, M, lam: normal_eq_fit(x, t, M, 0.0), "polyfit.fit", {"M": 3, "lam": 0.01})
    assert v.status == "failed" and "no λ" in v.message


def test_float32_m9_fails_and_small_m_float32_passes(run):
    assert run(lambda x, t, M, lam: lstsq_fit(x, t, M).astype(np.float32), "polyfit.fit",
               {"data": "bishop", "M": 3}).status == "passed"
    v = run(lambda x, t, M, lam: np.linalg.lstsq(phi(x, M).astype(np.float32), t.astype(np.float32),
                                                 rcond=None)[0], "polyfit.fit", {"data": "bishop", "M": 9})
    assert v.status == "failed" and "float64" in v.message


def test_wrong_fit_fails(run):
    v = run(lambda x, t, M, lam: lstsq_fit(x, t, M) + 0.01, "polyfit.fit", {"data": "bishop", "M": 3})
    assert v.status == "failed" and "coefficients differ" in v.message
    v = run(lambda x, t, M, lam: lstsq_fit(x, t, M) * 1.01, "polyfit.fit", {"data": "bishop", "M": 9})
    assert v.status == "failed" and "predictions" in v.message


def test_design_matrix(run):
    assert run(phi, "polyfit.design_matrix", {"M": 5}).status == "passed"
    assert run(lambda x, M: phi(x, M).astype(np.float32), "polyfit.design_matrix").status == "passed"
    assert run(lambda x, M: np.vander(x, M + 1, increasing=True), "polyfit.design_matrix").status == "passed"
    v = run(lambda x, M: np.vander(x, M + 1), "polyfit.design_matrix")
    assert v.status == "failed" and "reverse order" in v.message
    v = run(lambda x, M: phi(x, M)[:, 1:], "polyfit.design_matrix")
    assert v.status == "failed" and "columns" in v.message


def rms(w, x, t):
    return float(np.sqrt(np.mean((phi(x, len(w) - 1) @ w - t) ** 2)))


@pytest.mark.parametrize("form", [float, np.float64, np.float32, np.array, torch.tensor])
def test_rms_forms_pass(run, form):
    assert run(lambda w, x, t: form(rms(w, x, t)), "polyfit.rms_error").status == "passed"


@pytest.mark.parametrize("bug, hint", [
    (lambda w, x, t: rms(w, x, t) ** 2, "square root"),
    (lambda w, x, t: 0.5 * len(x) * rms(w, x, t) ** 2, "not E"),
    (lambda w, x, t: rms(w, x, t) / np.sqrt(2), "factor 2"),
])
def test_rms_bugs_fail_with_hint(run, bug, hint):
    v = run(bug, "polyfit.rms_error")
    assert v.status == "failed" and hint in v.message


def test_rms_wrong_types(run):
    assert run(lambda w, x, t: [rms(w, x, t)], "polyfit.rms_error").status == "wrong_type"
    assert run(lambda w, x, t: str(rms(w, x, t)), "polyfit.rms_error").status == "wrong_type"
    assert run(lambda w, x, t: np.full(3, rms(w, x, t)), "polyfit.rms_error").status == "wrong_type"

    class Liar(float):
        def __eq__(self, other):
            return True
    assert run(lambda w, x, t: Liar(rms(w, x, t)), "polyfit.rms_error").status == "wrong_type"


def test_predict(run):
    assert run(lambda w, x: phi(x, len(w) - 1) @ w, "polyfit.predict").status == "passed"
    assert run(lambda w, x: np.polyval(w[::-1], x), "polyfit.predict").status == "passed"
    v = run(lambda w, x: np.polyval(w, x), "polyfit.predict")
    assert v.status == "failed" and "w[0]" in v.message
