"""A histogram as inline SVG for the course's HTML pages (`course report`, `course similarity`)."""
from __future__ import annotations

import io

import numpy as np


def histogram_svg(values: np.ndarray, *, title: str, xlabel: str, ylabel: str, bins: int,
                  value_range: tuple[float, float], figsize: tuple[float, float],
                  mark: float | None = None, log: bool = False) -> str:
    """`mark` draws a dashed line (a threshold); `log` scales the counts (a few outliers among thousands)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    ax.hist(values, bins=bins, range=value_range, color="#4472c4", edgecolor="white")
    if mark is not None:
        ax.axvline(mark, color="#c00000", linestyle="--", linewidth=1)
    if log:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # the XML prolog is not allowed inside HTML
