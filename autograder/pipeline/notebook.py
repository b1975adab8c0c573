"""The autograded notebook nbgrader's formgrader and generate_feedback read: built by the trusted parent.

autograded/<student>/<assignment>/<notebook>.ipynb = the course's cells (canonical metadata, so nbgrader
finds its grade cells) with the student's solution code and outputs, their own extra cells where they put
them, and each graded test cell in its RELEASED form (visible part only: hidden regions are never written)
with the verdict as its output. Nothing here executes anything.
"""
from __future__ import annotations

import copy

import nbformat


def _code(source: str, outputs: list[dict], metadata: dict | None = None):
    cell = nbformat.v4.new_code_cell(source=source, metadata=metadata or {})
    cell.outputs = [nbformat.from_dict(o) for o in outputs if isinstance(o, dict) and o.get("output_type")]
    return cell


def autograded_notebook(spec, notebook: str, result: dict):
    canon_nb = spec.notebooks[notebook]
    cells_spec = spec.cells[notebook]
    tests = {t["test_id"]: t for t in result["tests"] if t["notebook"] == notebook}
    ran = [c for c in result.get("cells", []) if c["notebook"] == notebook]
    by_origin = {c["origin"]: c for c in ran if c.get("origin") not in ("", "extra")}
    # the student's own cells follow the canonical cell that preceded them in the run
    extras_after: dict[str | None, list[dict]] = {}
    last: str | None = None
    for c in ran:
        if c.get("origin") == "extra":
            extras_after.setdefault(last, []).append(c)
        else:
            last = c.get("origin")
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(dict(canon_nb.get("metadata", {}))))
    out.cells += [_code(c["source"], c["outputs"]) for c in extras_after.get(None, [])]
    for cs, raw in zip(cells_spec, canon_nb.cells):
        meta = copy.deepcopy(dict(raw.get("metadata", {})))
        if cs.cell_type != "code":
            new = (nbformat.v4.new_markdown_cell if cs.cell_type == "markdown" else nbformat.v4.new_raw_cell)(
                source=cs.student_source if cs.solution else cs.source, metadata=meta)
            out.cells.append(new)
        elif cs.grade_id in tests:
            t = tests[cs.grade_id]
            text = f"{t['status']}: {t['score']:g} / {t['max_score']:g} points. {t['message']}\n"
            out.cells.append(_code(cs.student_source, [{"output_type": "stream", "name": "stdout", "text": text}],
                                   meta))
        elif cs.grade_id in by_origin:
            c = by_origin[cs.grade_id]
            out.cells.append(_code(c["source"], c["outputs"], meta))
        else:
            out.cells.append(_code(cs.student_source, [], meta))
        out.cells += [_code(c["source"], c["outputs"]) for c in extras_after.get(cs.grade_id, [])]
    return out
