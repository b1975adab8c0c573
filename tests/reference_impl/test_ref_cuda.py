"""The CUDA path gives the CPU results (float64; integer pixels make the kNN parts exact)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_impl import data, knn, linear, polyfit

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine: the CUDA path is checked where a GPU is present")
    return torch.device("cuda")


def test_default_device_is_cuda_when_available(cuda):
    assert knn.pairwise_distances(np.zeros((1, 2)), np.ones((1, 2))).device.type == "cuda"


def test_knn_on_cuda_matches_cpu(cuda):
    Xtr, ytr = data.synthetic_cifar(400, seed=0, flatten=True)
    Xte, _ = data.synthetic_cifar(50, seed=1, flatten=True)
    for metric in ("l2", "l1"):
        d_gpu = knn.pairwise_distances(Xte, Xtr, metric, device=cuda)
        d_cpu = knn.pairwise_distances(Xte, Xtr, metric, device="cpu")
        assert d_gpu.device.type == "cuda"
        np.testing.assert_allclose(d_gpu.cpu().numpy(), d_cpu.numpy(), rtol=1e-13)
        assert torch.equal(knn.knn_predict(Xtr, ytr, Xte, 7, metric, device=cuda).cpu(),
                           knn.knn_predict(Xtr, ytr, Xte, 7, metric, device="cpu"))
    cv_gpu = knn.cross_validate_k(Xtr, ytr, [1, 5, 10], device=cuda)
    assert cv_gpu == knn.cross_validate_k(Xtr, ytr, [1, 5, 10], device="cpu")
    # float32 on CUDA must stay IEEE (no TF32) even when the process asked for TF32
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        d32 = knn.pairwise_distances(Xte, Xtr, device=cuda, dtype=torch.float32)
    finally:
        torch.set_float32_matmul_precision(previous)
    ref = knn.pairwise_distances(Xte, Xtr, device="cpu").numpy()
    np.testing.assert_allclose(d32.cpu().numpy(), ref, rtol=1e-5, atol=5.0)


def test_linear_and_polyfit_on_cuda_match_cpu(cuda):
    rng = np.random.default_rng(0)
    W, X, y = rng.normal(size=(20, 4)), rng.normal(size=(30, 20)), rng.integers(0, 4, 30)
    for fn in (linear.svm_loss, linear.softmax_loss):
        lg, gg = fn(W, X, y, 0.1, device=cuda)
        lc, gc = fn(W, X, y, 0.1, device="cpu")
        assert float(lg) == pytest.approx(float(lc), rel=1e-12)
        np.testing.assert_allclose(gg.cpu().numpy(), gc.numpy(), rtol=1e-10, atol=1e-14)
    clf_g, clf_c = linear.Softmax(device=cuda), linear.Softmax(device="cpu")
    hg = clf_g.train(X, y, num_iters=20, batch_size=10)
    hc = clf_c.train(X, y, num_iters=20, batch_size=10)
    np.testing.assert_allclose(hg, hc, rtol=1e-10)
    x, t = polyfit.BISHOP_FIG_1_2
    for M, lam in ((3, 0.0), (9, 0.0), (9, np.exp(-18))):
        np.testing.assert_allclose(polyfit.fit(x, t, M, lam, device=cuda).cpu().numpy(),
                                   polyfit.fit(x, t, M, lam, device="cpu").numpy(), rtol=1e-7)
