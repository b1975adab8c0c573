"""Linear classifiers f(x, W) = xW: multiclass SVM and softmax losses with gradients, seeded SGD.

Conventions (those of the course's skeletons): W (D, C), X (N, D), y (N,) with
0 ≤ y < C; the data term is averaged over N; regularisation `reg * sum(W * W)` with gradient `2 * reg * W`;
SVM margin Δ = 1, a margin counts only when strictly > 0; softmax scores are shifted by the row maximum.
Losses are returned as 0-d tensors (`float(loss)` gives the number), gradients as tensors shaped like W, in
`dtype` (float64 by default) on `device` (`None`: CUDA when available, else CPU).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from reference_impl._validation import (
    as_float_tensor,
    as_labels,
    check_dtype,
    check_float,
    check_int,
    resolve_device,
)

__all__ = ["LinearClassifier", "LinearSVM", "Softmax", "softmax_loss", "svm_loss"]


def _loss_inputs(W: Any, X: Any, y: Any, reg: Any, device: Any, dtype: Any
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    dev = resolve_device(device)
    dtype = check_dtype(dtype)
    Wt = as_float_tensor(W, "W", ndim=2, dtype=dtype, device=dev)
    Xt = as_float_tensor(X, "X", ndim=2, dtype=dtype, device=dev)
    if Xt.shape[1] != Wt.shape[0]:
        raise ValueError(f"X must have W.shape[0]={Wt.shape[0]} columns (X is (N, D), W is (D, C)), "
                         f"got X of shape {tuple(Xt.shape)}")
    if Xt.shape[0] == 0:
        raise ValueError("X must have at least one row")
    yt = as_labels(y, "y", n=Xt.shape[0], num_classes=Wt.shape[1], device=dev)
    return Wt, Xt, yt, check_float(reg, "reg", minimum=0.0)


def svm_loss(W: Any, X: Any, y: Any, reg: float, *, device: Any = None,
             dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Multiclass SVM (hinge) loss and its gradient: `(loss 0-d tensor, dW (D, C))`.

    L = 1/N Σᵢ Σ_{j≠yᵢ} max(0, sⱼ − s_yᵢ + 1) + reg·ΣW². At a margin of exactly 0 the subgradient 0 is used.
    """
    return _svm(*_loss_inputs(W, X, y, reg, device, dtype))


def _svm(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """svm_loss on inputs already checked (the SGD loop: validated once, before it starts)."""
    n = X.shape[0]
    rows = torch.arange(n, device=X.device)
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + 1.0
    margins[rows, y] = 0.0
    active = (margins > 0).to(W.dtype)
    loss = (margins * active).sum() / n + reg * (W * W).sum()
    # Each active margin adds x to its class column and subtracts x from the correct class column.
    coef = active
    coef[rows, y] = -active.sum(dim=1)
    dW = X.T @ coef / n + 2.0 * reg * W
    return loss, dW


def softmax_loss(W: Any, X: Any, y: Any, reg: float, *, device: Any = None,
                 dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax cross-entropy loss and its gradient: `(loss 0-d tensor, dW (D, C))`.

    L = 1/N Σᵢ (log Σⱼ e^{sⱼ} − s_yᵢ) + reg·ΣW², with the scores shifted by their row maximum first.
    """
    return _softmax(*_loss_inputs(W, X, y, reg, device, dtype))


def _softmax(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax_loss on inputs already checked."""
    n = X.shape[0]
    rows = torch.arange(n, device=X.device)
    scores = X @ W
    shifted = scores - scores.max(dim=1, keepdim=True).values  # exp never overflows
    log_norm = torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    log_prob = shifted - log_norm
    loss = -log_prob[rows, y].sum() / n + reg * (W * W).sum()
    dscores = torch.exp(log_prob)
    dscores[rows, y] -= 1.0
    dW = X.T @ dscores / n + 2.0 * reg * W
    return loss, dW


class LinearClassifier(ABC):
    """Shared SGD training and prediction; subclasses define `loss`.

    `W` stays None until the first `train`, which initialises it lazily to 0.001·randn(D, C) from the
    training seed (C = max(y) + 1) and keeps it for later calls, as in CS231n.
    """

    def __init__(self, *, device: Any = None, dtype: torch.dtype = torch.float64) -> None:
        self.device = resolve_device(device)
        self.dtype = check_dtype(dtype)
        self.W: torch.Tensor | None = None

    def loss(self, X_batch: Any, y_batch: Any, reg: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, dW) of a minibatch at the current W, inputs checked."""
        if self.W is None:
            raise ValueError("W is not set: call train(X, y) before loss")
        return self._batch_loss(*_loss_inputs(self.W, X_batch, y_batch, reg, self.device, self.dtype))

    @abstractmethod
    def _batch_loss(self, W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, dW) on checked tensors: LinearSVM and Softmax define it."""

    def train(self, X: Any, y: Any, learning_rate: float = 1e-3, reg: float = 1e-5, num_iters: int = 100,
              batch_size: int = 200, seed: int = 0) -> list[float]:
        """Plain minibatch SGD `W -= learning_rate * dW`; returns the loss of every iteration.

        Batches are drawn with replacement from a CPU `torch.Generator` seeded with `seed`, so the same
        seed gives the same batches (and initial W) on every device.
        """
        Xt = as_float_tensor(X, "X", ndim=2, dtype=self.dtype, device=self.device)
        if Xt.shape[0] == 0:
            raise ValueError("X must have at least one row")
        yt = as_labels(y, "y", n=Xt.shape[0], device=self.device)
        learning_rate = check_float(learning_rate, "learning_rate", minimum=0.0, strict=True)
        reg = check_float(reg, "reg", minimum=0.0)
        num_iters = check_int(num_iters, "num_iters", minimum=0)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        seed = check_int(seed, "seed", minimum=0)
        n, d = Xt.shape
        gen = torch.Generator(device="cpu").manual_seed(seed)
        if self.W is None:
            num_classes = int(yt.max()) + 1
            self.W = (0.001 * torch.randn(d, num_classes, generator=gen, dtype=torch.float64)).to(
                device=self.device, dtype=self.dtype)
        elif self.W.shape[0] != d:
            raise ValueError(f"X must have {self.W.shape[0]} columns to match the trained W, got {d}")
        if int(yt.max()) >= self.W.shape[1]:
            raise ValueError(f"y must hold labels < {self.W.shape[1]} (the classes of the trained W), "
                             f"got {int(yt.max())}")
        history: list[float] = []
        for _ in range(num_iters):
            batch = torch.randint(n, (batch_size,), generator=gen).to(self.device)
            loss, grad = self._batch_loss(self.W, Xt[batch], yt[batch], reg)  # checked once, above
            history.append(float(loss))
            self.W -= learning_rate * grad
        return history

    def predict(self, X: Any) -> torch.Tensor:
        """Labels (N,) int64: the argmax of the scores X W (first maximum on ties)."""
        if self.W is None:
            raise ValueError("W is not set: call train(X, y) before predict")
        Xt = as_float_tensor(X, "X", ndim=2, dtype=self.dtype, device=self.device)
        if Xt.shape[1] != self.W.shape[0]:
            raise ValueError(f"X must have {self.W.shape[0]} columns to match W, got {Xt.shape[1]}")
        return (Xt @ self.W).argmax(dim=1)


class LinearSVM(LinearClassifier):
    """Linear classifier trained with the multiclass SVM loss (`svm_loss`)."""

    def _batch_loss(self, W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _svm(W, X, y, reg)


class Softmax(LinearClassifier):
    """Linear classifier trained with the softmax cross-entropy loss (`softmax_loss`)."""

    def _batch_loss(self, W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _softmax(W, X, y, reg)
