"""The demo's closing summary: one row per item of the term from grades.csv, the time taken, the outputs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from demo.timing import Clock, Step

LATE = {"within grace", "late", "past cutoff", "after window"}
REFUSED = {"past cutoff", "after window", "before window", "no receipt"}


def autograded_max(source: Path) -> float:
    """Points of the autograded test cells of an item's source notebooks (written answers are graded by hand)."""
    import nbformat

    total = 0.0
    for path in sorted(source.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                total += float(meta.get("points") or 0)
    return total


def counts(grades: pd.DataFrame, item: str, auto_max: float) -> dict[str, int]:
    """graded / full marks of the autograded part / late / refused / missing of one item, from grades.csv."""
    raw = grades[f"{item}.raw"].astype(float)
    status = grades[f"{item}.status"].astype(str)
    return {"students": len(grades), "graded": int(raw.notna().sum()),
            "full marks (autograded)": int((raw >= auto_max - 1e-9).sum()),
            "late": int(status.isin(LATE).sum()), "refused": int(status.isin(REFUSED).sum()),
            "missing": int((status == "missing").sum())}


def table(grades: pd.DataFrame, items: list[str], source: Path) -> dict[str, dict[str, int]]:
    return {item: counts(grades, item, autograded_max(source / item)) for item in items}


def flagged_pairs(similarity_output: str) -> list[str]:
    """`A ~ B (notebook, similarity)` for each row of `course similarity`'s table of flagged pairs."""
    pairs = []
    for line in similarity_output.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        ids = [c for c in cells if c.startswith("course-demo-")]
        if len(ids) == 2 and len(cells) >= 5:
            pairs.append(f"{ids[0]} ~ {ids[1]} ({cells[1]}, {cells[4]})")
    return pairs


def show(rows: dict[str, dict[str, int]], clock: Clock, wall_s: float,
         outputs: dict[str, Path], flagged: list[str], whole_cpu: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    t = Table(title="The demo term: per item")
    t.add_column("item")
    for key in next(iter(rows.values())):
        t.add_column(key, justify="right")
    for item, c in rows.items():
        t.add_row(item, *(str(v) for v in c.values()))
    console.print(t)
    every = "every process of the run" if whole_cpu else "without the sandboxed kernels and the warm grader"
    console.print(_times(f"Time taken: {wall_s:.0f} s in all, per stage (CPU: {every})", "stage", clock.stages))
    slowest = sorted(clock.steps, key=lambda x: -x.wall_s)[:8]
    console.print(_times("The slowest steps (CPU: the step's own processes)", "step", slowest))
    if flagged:
        console.print("[bold]Similarity (assignment1), flagged pairs:[/bold] " + "; ".join(flagged))
    where = Table(title="Outputs")
    where.add_column("what")
    where.add_column("where")
    for what, path in outputs.items():
        where.add_row(what, str(path))
    console.print(where)


def _times(title: str, what: str, steps: list[Step]):
    from rich.table import Table

    t = Table(title=title)
    t.add_column(what)
    t.add_column("wall s", justify="right")
    t.add_column("CPU s", justify="right")
    for st in steps:
        t.add_row(st.name, f"{st.wall_s:.1f}", f"{st.cpu_s:.1f}")
    return t
