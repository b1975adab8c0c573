"""`course status ASSIGNMENT`: who submitted and when by the server's clock, who is late, who is graded.

Submission times are the server's: the receipt recorded by `course collect`, or for a folder still waiting in
the exchange's inbound, the newest inode change time of its files (set by the server's kernel when they
arrive). Lateness is the policy's (course.toml, extensions, accommodations, a speed test's recorded window),
computed by the gradebook's own compute() on those times. Fetches are not known: nbgrader's file-system
exchange copies outbound into the student's home and leaves nothing on the server side.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

FETCH_NOTE = ("fetched: not known: nbgrader's file-system exchange copies outbound/ into the student's home and "
              "records nothing on the server")


@dataclass
class Pending:
    student_id: str
    version: str
    received_at: dt.datetime  # UTC, server ctime


def _newest_ctime(folder: Path) -> float:
    stats = [folder.lstat()]
    for base, dirs, files in os.walk(folder):
        stats += [Path(base, n).lstat() for n in dirs + files]
    return max(s.st_ctime for s in stats)


def inbound(course, assignment: str, known: set[str]) -> list[Pending]:
    """Submissions of `assignment` in the exchange whose folder `course collect` has not recorded yet."""
    folder = Path(course.exchange) / course.course_id / "inbound"
    if not folder.is_dir():
        return []
    out = []
    for entry in sorted(folder.iterdir()):
        parts = entry.name.split("+")
        if len(parts) < 3 or parts[1] != assignment or entry.name in known or entry.is_symlink():
            continue
        try:
            when = dt.datetime.fromtimestamp(_newest_ctime(entry), dt.UTC)
        except OSError:
            continue  # removed while we looked
        out.append(Pending(parts[0], entry.name, when))
    return out


def _receipts(course, assignment: str) -> tuple[pd.DataFrame, set[str]]:
    from gradebook import course_db

    with course_db.reading(course.db_url) as conn:
        log = course_db.read_receipts(conn)
    return log[log["assignment"] == assignment], set(log["version"])


def submissions(course, assignment: str) -> pd.DataFrame:
    """One row per submitter: newest server time, whether collected, and how many versions."""
    log, known = _receipts(course, assignment)
    ok = log[log["status"] == "accepted"]
    rows = [{"student_id": r.student_id, "received_at": r.received_at, "where": "collected"}
            for r in ok.itertuples()]
    rows += [{"student_id": p.student_id, "received_at": pd.Timestamp(p.received_at), "where": "in the exchange"}
             for p in inbound(course, assignment, known)]
    rejected = set(log.loc[log["status"] != "accepted", "student_id"])
    cols = ["student_id", "received_at", "where", "versions", "rejected"]
    if not rows:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(rows).sort_values("received_at", kind="stable")
    counts = frame.groupby("student_id").size()
    newest = frame.drop_duplicates("student_id", keep="last").set_index("student_id")
    newest["versions"] = counts
    newest["rejected"] = [s in rejected for s in newest.index]
    return newest.reset_index()[cols]


def grade_view(course, policy, assignment: str, subs: pd.DataFrame | None = None):
    """compute() over the records, with each submitter's newest server time in `subs` (if given) as their
    receipt; the roster is extended with submitters it lacks. Returns (grades table, policy with the
    recorded windows, records)."""
    from gradebook import compute, records

    rec = records.load(course, policy)
    policy = records.with_recorded_windows(policy, rec.windows)
    if subs is not None:
        others = rec.receipts[rec.receipts["item"] != assignment]
        mine = pd.DataFrame({"student_id": subs["student_id"], "item": assignment,
                             "received_at": pd.to_datetime(subs["received_at"], utc=True)})
        rec.receipts = pd.concat([others, mine], ignore_index=True) if len(mine) else others
    submitters = set(rec.receipts.loc[rec.receipts["item"] == assignment, "student_id"])
    extra = sorted(submitters - set(rec.roster["student_id"]))
    if extra:
        add = pd.DataFrame({"student_id": extra}).reindex(columns=rec.roster.columns).fillna("")
        rec.roster = pd.concat([rec.roster, add], ignore_index=True)
    return compute.compute(policy, rec), policy, rec


def _late_text(row: pd.Series, assignment: str, policy) -> str:
    """Lateness by the policy from the server time, whether or not the submission is graded yet."""
    from gradebook.times import format_duration

    p = f"{assignment}."
    if pd.isna(row[p + "received"]):
        return ""
    item = policy.items.get(assignment)
    if item is None:  # a speed test: its (recorded) window and the student's accommodation
        late = (pd.Timestamp(row[p + "received"]) - pd.Timestamp(row[p + "window_end"])).total_seconds()
        return f"after window ({format_duration(late, up=True)}) → 0" if late > 0 else "in window"
    late, rule = row[p + "late_s"], item.late
    if not late > 0:
        return "on time"
    text = format_duration(late, up=True)
    if rule is None:
        return f"late {text}"
    if rule.hard_cutoff_s is not None and late > rule.hard_cutoff_s:
        return f"past cutoff ({text} late) → 0"
    if late <= rule.grace_s:
        return f"within grace ({text})"
    return f"late {text}: −{row[p + 'penalty']:.0%}"


def show(course, policy, assignment: str, console) -> None:
    from rich.table import Table

    subs = submissions(course, assignment)
    known = assignment in policy.items or (policy.speedtests is not None and
                                           assignment in [t.name for t in policy.speedtests.tests])
    if not known:
        from course_errors import UserError

        raise UserError(f"{assignment!r} is neither an item nor a speed test of {course.policy_file}; check "
                        "the name (`course policy` lists them)")
    table, policy, _ = grade_view(course, policy, assignment, subs)
    tz = policy.timezone
    by_student = subs.set_index("student_id") if len(subs) else None
    view = Table(title=f"{assignment}: status by the server's clock ({tz.key})")
    for col in ("student", "submitted", "where", "versions", "late?", "graded"):
        view.add_column(col)
    p = f"{assignment}."
    for student, row in table.iterrows():
        sub = by_student.loc[student] if by_student is not None and student in by_student.index else None
        when = "—" if sub is None else f"{pd.Timestamp(sub['received_at']).tz_convert(tz):%Y-%m-%d %H:%M:%S}"
        where = "—" if sub is None else sub["where"] + (" (+ rejected)" if sub["rejected"] else "")
        graded = ("no" if pd.isna(row[p + "raw"]) else f"{row[p + 'raw']:g} / {row[p + 'max']:g}")
        view.add_row(student, when, where, "" if sub is None else str(sub["versions"]),
                     "" if sub is None else _late_text(row, assignment, policy), graded)
    console.print(view)
    n_sub = len(subs)
    n_graded = int(table[p + "raw"].notna().sum())
    console.print(f"{len(table)} student(s); {n_sub} submitted ({int((subs['where'] == 'collected').sum()) if n_sub else 0}"
                  f" collected), {n_graded} graded")
    console.print(FETCH_NOTE)
