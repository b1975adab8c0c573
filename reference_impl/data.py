"""Data for the reference implementations: a seeded synthetic CIFAR-like generator and the CIFAR-10 loader.

`synthetic_cifar` needs no download: integer pixels 0..255 shaped like CIFAR-10 (per-pixel mean ≈ 120,
std ≈ 55), with a fixed, weak low-rank class structure so that kNN beats chance clearly but stays far from
perfect (1-NN on 5000/500 real CIFAR-10 images scores about 27 %). Only elementwise numpy
operations on numpy's `default_rng` streams are used, so the data are identical across runs and machines.

`load_cifar10` is the only function of reference_impl that touches files.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from reference_impl._validation import check_int

__all__ = ["CIFAR10_FOLDER", "CIFAR10_URL", "load_cifar10", "synthetic_cifar"]

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
_CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")

# The class structure comes from its own stream so that every `seed` draws samples of the same classes.
_STRUCTURE_SEED = 20_260_101
_MEAN = 120.0
_CLASS_AMPLITUDE = 4.2  # strength of the class pattern (the knob behind kNN accuracy)
_SAMPLE_AMPLITUDE = 46.0  # per-sample coarse variation (pose, background) that hides the class
_PIXEL_NOISE = 14.0
_BRIGHTNESS = 22.0


def _upsample(a: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upsampling of the two spatial axes (exact, no interpolation arithmetic)."""
    return np.repeat(np.repeat(a, factor, axis=-3), factor, axis=-2)


def _class_patterns(num_classes: int) -> np.ndarray:
    rng = np.random.default_rng([_STRUCTURE_SEED, num_classes])
    # Low rank: each class mixes three shared coarse patterns, plus a colour tint of its own.
    basis = _upsample(rng.standard_normal((3, 4, 4, 3)), 8)  # (3, 32, 32, 3)
    mix = rng.standard_normal((num_classes, 3))
    tint = rng.standard_normal((num_classes, 1, 1, 3)) * 0.5
    patterns = np.zeros((num_classes, 32, 32, 3))
    for r in range(3):  # explicit order of additions: same bits everywhere
        patterns += mix[:, r, None, None, None] * basis[r]
    return _CLASS_AMPLITUDE * (patterns + tint)


def synthetic_cifar(n: int, seed: int = 0, num_classes: int = 10, *, flatten: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): X float64 with integer values 0..255, shape (n, 32, 32, 3) or (n, 3072) when `flatten`;
    y int64 labels in 0..num_classes−1 drawn uniformly. The same (n, seed, num_classes) gives the same data,
    and a larger n extends a smaller one's sample stream only approximately (draw train and test with
    different seeds)."""
    n = check_int(n, "n", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if not isinstance(flatten, bool):
        raise ValueError(f"flatten must be True or False, got {flatten!r}")  # noqa: TRY004 - project rule: ValueError
    patterns = _class_patterns(num_classes)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=n, dtype=np.int64)
    coarse = _upsample(rng.standard_normal((n, 8, 8, 3)), 4) * _SAMPLE_AMPLITUDE
    noise = rng.standard_normal((n, 32, 32, 3)) * _PIXEL_NOISE
    brightness = rng.standard_normal((n, 1, 1, 1)) * _BRIGHTNESS
    X = patterns[y] + coarse
    X += noise
    X += brightness
    X += _MEAN
    X = np.clip(np.rint(X), 0.0, 255.0)
    return (X.reshape(n, -1) if flatten else X), y


def load_cifar10(root: str | os.PathLike[str], download: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) as CS231n's `load_CIFAR10`: X float64 (N, 32, 32, 3), y int64.

    Reads `root/cifar-10-batches-py` through `torchvision.datasets.CIFAR10`. Missing files raise a
    one-line FileNotFoundError naming the folder and how to get the data, unless `download` is True.
    """
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError(f"root must be a path to the folder holding {CIFAR10_FOLDER}, got {root!r}")  # noqa: TRY004 - project rule: ValueError
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")  # noqa: TRY004 - project rule: ValueError
    root_path = Path(root).expanduser()
    folder = root_path / CIFAR10_FOLDER
    missing = [f for f in _CIFAR10_FILES if not (folder / f).is_file()]
    if missing and not download:
        raise FileNotFoundError(
            f"CIFAR-10 not found in {folder} (missing {', '.join(missing)}): download cifar-10-python.tar.gz "
            f"from {CIFAR10_URL} and extract it in {root_path}, or call load_cifar10({str(root_path)!r}, "
            f"download=True) on a machine with network")
    from torchvision.datasets import CIFAR10  # slow import, needed only here

    out: list[Any] = []
    for train in (True, False):
        ds = CIFAR10(str(root_path), train=train, download=download)
        out.append(np.asarray(ds.data, dtype=np.float64))
        out.append(np.asarray(ds.targets, dtype=np.int64))
    return out[0], out[1], out[2], out[3]
