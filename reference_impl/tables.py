"""Tables for `course demo`: pure functions returning pandas DataFrames (no printing)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reference_impl._validation import check_int

__all__ = ["bishop_table_1_1", "knn_cv_table"]

_ORDERS = (0, 1, 3, 9)


def bishop_table_1_1() -> pd.DataFrame:
    """Our fits of Bishop Fig. 1.2's reconstructed data next to PRML Table 1.1 as printed.

    One row per coefficient w0*..w9* plus a last row "E_RMS (train)"; for each M in (0, 1, 3, 9) a column
    "M = m" (ours) and "M = m (book)"; NaN where an order has no such coefficient (and for the book's E_RMS,
    which the book does not print).
    """
    from reference_impl import polyfit

    x, t = polyfit.BISHOP_FIG_1_2
    rows = [f"w{j}*" for j in range(max(_ORDERS) + 1)] + ["E_RMS (train)"]
    data: dict[str, list[float] | list[str]] = {"": rows}
    for M in _ORDERS:
        w = polyfit.fit(x, t, M, device="cpu")
        ours = [float(v) for v in w] + [np.nan] * (len(rows) - 1 - (M + 1))
        book = list(polyfit.BISHOP_TABLE_1_1[M]) + [np.nan] * (len(rows) - 1 - (M + 1))
        data[f"M = {M}"] = ours + [float(polyfit.rms_error(w, x, t, device="cpu"))]
        data[f"M = {M} (book)"] = book + [np.nan]
    return pd.DataFrame(data)


def knn_cv_table(seed: int = 0, n: int = 1000, k_choices: Sequence[int] = (1, 3, 5, 8, 10, 12, 15, 20, 50),
                 num_folds: int = 5, metric: str = "l2") -> pd.DataFrame:
    """Cross-validated kNN accuracy per k on `synthetic_cifar(n, seed)`: columns k, mean, std, min, max.

    The default (1000 images, 5 folds, 9 values of k) takes about a second on two CPU cores.
    """
    from reference_impl import data, knn

    n = check_int(n, "n", minimum=2)
    X, y = data.synthetic_cifar(n, seed=seed, flatten=True)
    acc = knn.cross_validate_k(X, y, k_choices, num_folds=num_folds, metric=metric)
    return pd.DataFrame({
        "k": list(acc),
        "mean accuracy": [float(np.mean(v)) for v in acc.values()],
        "std": [float(np.std(v)) for v in acc.values()],
        "min": [float(np.min(v)) for v in acc.values()],
        "max": [float(np.max(v)) for v in acc.values()],
    })
