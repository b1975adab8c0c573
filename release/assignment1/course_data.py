"""Images for Assignment 1: real CIFAR-10 when the instructor's copy is there, otherwise a synthetic look-alike.

    from course_data import load_images
    data = load_images(num_train=2000, num_test=200)   # prints which data it loaded
    data.X_train   # (num_train, 3072) float32 tensor of pixel values 0..255 (32 x 32 x 3, channels last)
    data.y_train   # (num_train,) int64 tensor of labels 0..9
    data.source    # "CIFAR-10" or "synthetic"

Where CIFAR-10 is looked for: the folder named by the environment variable CIFAR10_DIR, or, when that is not
set, /srv/dl-course/data/cifar10. Either must hold `cifar-10-batches-py` (the extracted
cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html); nothing is ever downloaded.
- CIFAR10_DIR set but no complete CIFAR-10 there: a FileNotFoundError that names the folder and the fix.
- CIFAR10_DIR not set and nothing at the default folder: the synthetic set, and the printed line says so.

The synthetic set: integer pixels 0..255 with CIFAR-10's shape and roughly its pixel statistics, ten classes
that differ by a weak, coarse colour pattern hidden under large per-image variation, so that nearest
neighbours and linear classifiers beat chance (10 %) clearly but stay far from perfect. It is seeded: the same
call gives the same images on every machine. Its accuracies are NOT CIFAR-10 accuracies.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ENV_VAR = "CIFAR10_DIR"
DEFAULT_DIR = "/srv/dl-course/data/cifar10"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SYNTHETIC_CLASSES = tuple(f"class {i}" for i in range(10))

# The synthetic generator (same constants and random streams as the course's reference generator).
_STRUCTURE_SEED = 20_260_101  # the class patterns come from their own stream: every seed shares the classes
_MEAN, _CLASS_AMPLITUDE, _SAMPLE_AMPLITUDE, _PIXEL_NOISE, _BRIGHTNESS = 120.0, 4.2, 46.0, 14.0, 22.0
TRAIN_SEED, TEST_SEED = 0, 1


@dataclass(frozen=True)
class ImageData:
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    source: str  # "CIFAR-10" or "synthetic"

    def images(self, X: torch.Tensor) -> torch.Tensor:
        """Rows of X as (N, 32, 32, 3) images scaled to [0, 1] on the CPU, ready for plt.imshow."""
        return (X.detach().reshape(-1, 32, 32, 3).float().cpu() / 255.0).clamp(0.0, 1.0)


def _upsample(a: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(a, factor, axis=-3), factor, axis=-2)


def _class_patterns(num_classes: int) -> np.ndarray:
    rng = np.random.default_rng([_STRUCTURE_SEED, num_classes])
    basis = _upsample(rng.standard_normal((3, 4, 4, 3)), 8)  # three shared coarse patterns
    mix = rng.standard_normal((num_classes, 3))
    tint = rng.standard_normal((num_classes, 1, 1, 3)) * 0.5  # and a colour tint per class
    patterns = np.zeros((num_classes, 32, 32, 3))
    for r in range(3):  # a fixed order of additions: the same bits on every machine
        patterns += mix[:, r, None, None, None] * basis[r]
    return _CLASS_AMPLITUDE * (patterns + tint)


def synthetic_images(n: int, seed: int, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): X float64 (n, 3072) with integer values 0..255, y int64 (n,) labels drawn uniformly."""
    patterns = _class_patterns(num_classes)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=n, dtype=np.int64)
    coarse = _upsample(rng.standard_normal((n, 8, 8, 3)), 4) * _SAMPLE_AMPLITUDE  # pose, background
    noise = rng.standard_normal((n, 32, 32, 3)) * _PIXEL_NOISE
    brightness = rng.standard_normal((n, 1, 1, 1)) * _BRIGHTNESS
    X = patterns[y] + coarse
    X += noise
    X += brightness
    X += _MEAN
    return np.clip(np.rint(X), 0.0, 255.0).reshape(n, -1), y


def cifar10_folder() -> tuple[Path, bool]:
    """(folder that should hold cifar-10-batches-py, whether the student or instructor named it explicitly)."""
    named = os.environ.get(ENV_VAR)
    return Path(named or DEFAULT_DIR).expanduser(), bool(named)


def _cifar10_missing(root: Path) -> list[str]:
    return [f for f in CIFAR10_FILES if not (root / CIFAR10_FOLDER / f).is_file()]


def _load_cifar10(root: Path, num_train: int, num_test: int) -> tuple[np.ndarray, ...]:
    from torchvision.datasets import CIFAR10  # imported only when the data are there: it takes seconds

    train = CIFAR10(str(root), train=True, download=False)
    test = CIFAR10(str(root), train=False, download=False)
    return (train.data[:num_train].reshape(num_train, -1), np.asarray(train.targets[:num_train]),
            test.data[:num_test].reshape(num_test, -1), np.asarray(test.targets[:num_test]))


def load_images(num_train: int, num_test: int, device: torch.device | str = "cpu",
                verbose: bool = True) -> ImageData:
    """The first num_train training and num_test test images, as float32 pixel rows on `device`."""
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 50_000:
            raise ValueError(f"load_images: {name} must be a whole number between 1 and 50000, not {value!r}")
    root, named = cifar10_folder()
    missing = _cifar10_missing(root)
    if named and missing:
        raise FileNotFoundError(
            f"{ENV_VAR}={root} holds no complete CIFAR-10 (missing {root / CIFAR10_FOLDER}/{missing[0]}): "
            f"extract cifar-10-python.tar.gz from {CIFAR10_URL} into {root}, or unset {ENV_VAR} to use the "
            f"synthetic images")
    if not missing:
        arrays, source, classes = _load_cifar10(root, num_train, num_test), "CIFAR-10", CIFAR10_CLASSES
        where = f"from {root}"
    else:
        (X_tr, y_tr), (X_te, y_te) = synthetic_images(num_train, TRAIN_SEED), synthetic_images(num_test, TEST_SEED)
        arrays, source, classes = (X_tr, y_tr, X_te, y_te), "synthetic", SYNTHETIC_CLASSES
        where = f"(no CIFAR-10 at {root}; set {ENV_VAR} to a folder holding {CIFAR10_FOLDER} to use it)"
    X_tr, y_tr, X_te, y_te = arrays
    data = ImageData(
        X_train=torch.as_tensor(np.asarray(X_tr, dtype=np.float32), device=device),
        y_train=torch.as_tensor(np.asarray(y_tr, dtype=np.int64), device=device),
        X_test=torch.as_tensor(np.asarray(X_te, dtype=np.float32), device=device),
        y_test=torch.as_tensor(np.asarray(y_te, dtype=np.int64), device=device),
        classes=classes, source=source,
    )
    if verbose:
        label = "CIFAR-10" if source == "CIFAR-10" else "synthetic CIFAR-like images"
        print(f"Data: {label} {where}: {num_train} training and {num_test} test images of 32 x 32 x 3")
    return data
