"""Closing a speed test: `course collect` (server receipt times, owner check) then `course autograde`'s
run_autograde, then the verdict per student by the gradebook's compute() with the recorded window."""
from __future__ import annotations

import sys

import pandas as pd

from course_errors import UserError


def collect_and_grade(course, test: str, args):
    from autograder.commands import run_autograde
    from autograder.pipeline import Options
    from autograder.spec import load_assignment_spec
    from gradebook.collect import collect

    sandbox = not getattr(args, "no_sandbox", False)
    if sandbox:
        from autograder.model import SandboxUnavailable
        from autograder.sandbox import check_sandbox

        try:
            check_sandbox()
        except SandboxUnavailable as exc:
            raise UserError(f"{exc} (or grade without isolation: --no-sandbox)") from None
    spec = load_assignment_spec(course.source, test)
    receipts = collect(course, test, check_owner=not getattr(args, "no_check_owner", False))
    for r in receipts:
        if r.status != "accepted":
            print(f"REJECTED {r.student_id}: {r.reason}", file=sys.stderr)
    root = course.submitted
    students = sorted(d.name for d in root.iterdir() if (d / test).is_dir()) if root.is_dir() else []
    return run_autograde(course, spec, students, Options(sandbox=sandbox), workers=getattr(args, "workers", None),
                         progress=sys.stderr.isatty())


def verdicts(course, policy, test: str) -> pd.DataFrame:
    """Per student: status (in window / after window / missing / ...), points fraction and the reason."""
    from lifecycle.status import grade_view

    table, policy, _ = grade_view(course, policy, test)
    return _with_reasons(table, policy, test)


def _with_reasons(table: pd.DataFrame, policy, test: str) -> pd.DataFrame:
    from gradebook.times import format_duration

    tz, p = policy.timezone, f"{test}."
    out = []
    for student, r in table.iterrows():
        status = r[p + "status"]
        received = "" if pd.isna(r[p + "received"]) else f"{pd.Timestamp(r[p + 'received']).tz_convert(tz):%H:%M:%S}"
        end = f"{pd.Timestamp(r[p + 'window_end']).tz_convert(tz):%H:%M:%S}"
        if status == "after window":
            late = (pd.Timestamp(r[p + "received"]) - pd.Timestamp(r[p + "window_end"])).total_seconds()
            group, why = "late", (f"received {received}, {format_duration(late, up=True)} after the window closed "
                                  f"at {end} → 0")
        elif status == "in window":
            group, why = "in time", f"received {received} (window to {end}): {r[p + 'raw']:g} / {r[p + 'max']:g}"
        elif status == "missing":
            group, why = "not at all", "no submission"
        else:
            group, why = "in time" if status == "not graded" else "late", f"{status} → 0"
        out.append({"student_id": student, "group": group, "status": status, "fraction": r[p + "fraction"],
                    "reason": why})
    return pd.DataFrame(out, columns=["student_id", "group", "status", "fraction", "reason"])


def show_results(course, policy, test: str, console) -> pd.DataFrame:
    from rich.table import Table

    v = verdicts(course, policy, test)
    for group in ("in time", "late", "not at all"):
        rows = v[v["group"] == group]
        table = Table(title=f"{test}: {group} ({len(rows)})")
        for col in ("student", "score", "why"):
            table.add_column(col)
        for r in rows.itertuples():
            table.add_row(r.student_id, f"{r.fraction:.0%}", r.reason)
        console.print(table)
    return v
