"""Rebuild a submitted notebook from the instructor's source of truth (T1–T4, A01–A03).

The grader never trusts the submission's nbgrader metadata or test cells:
- canonical cells are placed in the course order; locked cells get the course's source;
- solution cells (matched by grade_id, first copy wins like nbgrader's DeduplicateIds) get the student's code;
- every graded test cell becomes a ("test", test_id) slot, later expanded into probe cells;
- the student's own extra cells (no or unknown grade_id, duplicates) run right after the canonical cell
  they followed in the submission, so helper functions still work;
- anything tampered (test cell edited, deleted, duplicated, metadata changed, cells reordered, another
  kernel) is restored and noted: never a failed submission.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from autograder.pipeline.parse import Cell, ParsedNotebook
from autograder.spec import SKIP_TAG


@dataclass(frozen=True)
class PlanCell:
    """One step of the rebuilt notebook: student code to run, or a graded test to probe."""

    kind: str  # "code" (run as a student cell) or "test"
    source: str = ""
    test_id: str = ""
    origin: str = ""  # grade_id or "extra" (the student's own cell)
    explore: bool = False  # the course tags it as exploration: left out of the fast grading run


@dataclass
class Rebuilt:
    plan: list[PlanCell]
    tampered: dict[str, str] = field(default_factory=dict)  # test_id -> what was restored
    notes: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _test_tamper(canon, copies: list[Cell]) -> str:
    """What is wrong with the submission's copies of a canonical test cell ("" when nothing)."""
    if not copies:
        return "test cell deleted"
    if len(copies) > 1:
        return f"test cell duplicated ({len(copies)} copies)"
    cell = copies[0]
    meta = cell.nbgrader
    if cell.cell_type != "code":
        return "cell type changed"
    if meta.get("grade") is not True or meta.get("solution") not in (False, None):
        return "nbgrader flags changed"
    try:
        points = float(meta.get("points"))
    except (TypeError, ValueError):
        return "points changed"
    if points != canon.points:
        return f"points changed ({meta.get('points')!r})"
    if _norm(cell.source) != _norm(canon.student_source):
        return "test cell edited"
    return ""


def rebuild(spec, notebook: str, parsed: ParsedNotebook, kernel_name: str | None) -> Rebuilt:
    canonical = spec.cells[notebook]
    test_ids = {t.test_id for t in spec.tests_for(notebook)}
    by_id = {c.grade_id: i for i, c in enumerate(canonical) if c.grade_id}
    counts = Counter(c.grade_id for c in parsed.cells if c.grade_id in by_id)
    first: dict[str, Cell] = {}
    copies: dict[str, list[Cell]] = {}
    extras: dict[int, list[Cell]] = {-1: []}
    anchor = -1
    order: list[int] = []
    out = Rebuilt(plan=[])
    for cell in parsed.cells:
        gid = cell.grade_id
        if gid in by_id:
            copies.setdefault(gid, []).append(cell)
            if gid not in first:
                first[gid] = cell
                anchor = by_id[gid]
                order.append(anchor)
                continue
        elif cell.nbgrader.get("grade") and cell.cell_type == "code":
            out.notes.append(f"{notebook}: cell {cell.index} claims to be graded ({gid or 'no id'}); its "
                             "nbgrader metadata was ignored")
        # the student's own cell (or a duplicate of a canonical one): runs where the student put it
        if cell.cell_type == "code" and not (gid in test_ids):
            extras.setdefault(anchor, []).append(cell)
    if order != sorted(order):
        out.notes.append(f"{notebook}: cells were reordered; the course order was used")
    if kernel_name is not None and kernel_name != _course_kernel(spec, notebook):
        out.notes.append(f"{notebook}: kernel {kernel_name[:40]!r} replaced by the course kernel")

    out.plan += [_extra(c) for c in extras[-1]]
    for i, canon in enumerate(canonical):
        gid = canon.grade_id
        if canon.cell_type == "code" and gid is not None:
            if gid in test_ids:
                problem = _test_tamper(canon, copies.get(gid, []))
                if problem:
                    out.tampered[gid] = problem
                out.plan.append(PlanCell("test", test_id=gid, origin=gid))
            elif canon.is_test:
                pass  # a graded cell without points or probes: nothing to run
            elif canon.solution:
                cell = first.get(gid)
                if cell is None:
                    out.notes.append(f"{notebook}: solution cell {gid} is missing")
                else:
                    if cell.nbgrader.get("solution") is not True or cell.cell_type != "code":
                        out.notes.append(f"{notebook}: nbgrader metadata of {gid} restored")
                    out.plan.append(PlanCell("code", cell.source, origin=gid, explore=canon.explore))
            else:
                cell = first.get(gid)
                if canon.locked or cell is None:
                    if cell is None or _norm(cell.source) != _norm(canon.student_source):
                        out.notes.append(f"{notebook}: read-only cell {gid} restored")
                    out.plan.append(PlanCell("code", canon.student_source, origin=gid, explore=canon.explore))
                else:
                    out.plan.append(PlanCell("code", cell.source, origin=gid, explore=canon.explore))
        elif gid is not None and gid not in first and canon.locked:
            out.notes.append(f"{notebook}: read-only cell {gid} restored")
        out.plan += [_extra(c) for c in extras.get(i, [])]
    dup = sorted(g for g, n in counts.items() if n > 1 and g not in test_ids)
    if dup:
        out.notes.append(f"{notebook}: duplicate grade_id {', '.join(dup)}: the first copy was used as the answer")
    return out


def _extra(cell: Cell) -> PlanCell:
    """A cell without a course grade_id (the notebook's free cells, the student's own). Its exploration tag is
    honoured as written: skipping is only ever a first try, so a wrong tag costs time, never points."""
    return PlanCell("code", cell.source, origin="extra", explore=SKIP_TAG in cell.tags)


def _course_kernel(spec, notebook: str) -> str:
    ks = spec.notebooks[notebook].get("metadata", {}).get("kernelspec", {})
    return ks.get("name", "python3") if isinstance(ks, dict) else "python3"
