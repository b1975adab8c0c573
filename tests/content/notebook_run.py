"""Run a course notebook top to bottom in a real Jupyter kernel (the venv's Python) and inspect its outputs."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
FIGURE_PROMISE = "The next cell draws"  # the phrase with which the text announces a figure
RESULT_TAG = "@@course-test-result@@"


def execute(path: Path, cwd: Path, *, allow_errors: bool = False, extra_source: str | None = None,
            timeout: int = 600) -> Any:
    """The executed notebook; `extra_source` runs as one more cell at the end (its output: last_result)."""
    nb = nbformat.read(str(path), as_version=4)
    nb = copy.deepcopy(nb)
    if extra_source is not None:
        nb.cells.append(nbformat.v4.new_code_cell(extra_source))
    # "python3" resolves to the kernel of the running interpreter (jupyter_client substitutes sys.executable)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def errors(nb: Any) -> list[tuple[int, dict]]:
    return [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.output_type == "error"]


def has_image(cell: Any) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def figure_cells(nb: Any) -> tuple[list[int], list[int]]:
    """(indices of the code cells the text promises a figure for, indices of code cells with an image)."""
    promised = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and FIGURE_PROMISE in " ".join(cell.source.split()):
            nxt = next((j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"), None)
            assert nxt is not None, f"cell {i} promises a figure but no code cell follows"
            promised.append(nxt)
    drawn = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and has_image(c)]
    return promised, drawn


def last_result(nb: Any) -> Any:
    """The JSON the extra cell printed after RESULT_TAG."""
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []) if o.output_type == "stream")
    match = re.search(re.escape(RESULT_TAG) + r"(.*)", text)
    assert match, f"the extra cell printed no result: {text[-500:]!r}"
    return json.loads(match.group(1))


def traceback_text(error_output: Any) -> str:
    """An error output's traceback as plain text (IPython colours it with ANSI escapes)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error_output.get("traceback", [])))
