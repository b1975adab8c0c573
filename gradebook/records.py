"""Records: what happened, as tables. Loaded at the edges; compute.py never does I/O.

Sources: the nbgrader gradebook (autograded scores), the receipt log written by `course collect`
(server-side receipt times; never the student-written timestamp.txt) and the audit log that
`course import` appends to (roster, manual scores, teams, extensions, accommodations).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from gradebook.policy import Policy, parse_duration
from gradebook.schemas import is_date, parse_when


@dataclass
class Records:
    roster: pd.DataFrame  # student_id, first_name, last_name, email, id_number (roster order)
    scores: pd.DataFrame  # student_id, item, score, max_score (nbgrader)
    receipts: pd.DataFrame  # student_id, item, received_at (UTC) of the graded (latest accepted) version
    manual: pd.DataFrame  # student_id, item, score
    teams: pd.DataFrame  # student_id, team
    team_scores: pd.DataFrame  # team, item, score
    extensions: pd.DataFrame  # student_id, item, extra_s
    accommodations: pd.DataFrame  # student_id, item ('*' = every speed test), extra_s
    windows: dict[str, dict] = field(default_factory=dict)  # speed test -> window recorded at `open`


def empty(columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def empty_records() -> Records:
    return Records(
        roster=empty(("student_id", "first_name", "last_name", "email", "id_number")),
        scores=pd.DataFrame({"student_id": pd.Series(dtype=object), "item": pd.Series(dtype=object),
                             "score": pd.Series(dtype=float), "max_score": pd.Series(dtype=float)}),
        receipts=pd.DataFrame({"student_id": pd.Series(dtype=object), "item": pd.Series(dtype=object),
                               "received_at": pd.Series(dtype="datetime64[ns, UTC]")}),
        manual=empty(("student_id", "item", "score")),
        teams=empty(("student_id", "team")),
        team_scores=empty(("team", "item", "score")),
        extensions=empty(("student_id", "item", "extra_s")),
        accommodations=empty(("student_id", "item", "extra_s")),
    )


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


GRADED_FROM = ("assignment", "student_id", "status", "received_at")  # the receipt log's columns read here


def graded_receipts(log: pd.DataFrame) -> pd.DataFrame:
    """Receipt log -> the graded version per (student, assignment): the newest accepted one by server time."""
    log = log[log["status"] == "accepted"]
    out = pd.DataFrame({"student_id": log["student_id"], "item": log["assignment"],
                        "received_at": log["received_at"]})
    out = out.sort_values("received_at", kind="stable").drop_duplicates(["student_id", "item"], keep="last")
    return out.reset_index(drop=True)


def _extra_seconds(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """'extra' cells (durations, or a new due date for extensions) -> extra_s."""
    secs = []
    for item, extra in zip(frame["item"], frame["extra"], strict=True):
        if is_date(extra):
            due = policy.items[item].due if item in policy.items else None
            secs.append((parse_when(extra) - due).total_seconds() if due else 0.0)
        else:
            secs.append(parse_duration(extra))
    return pd.DataFrame({"student_id": frame["student_id"].to_numpy(), "item": frame["item"].to_numpy(),
                         "extra_s": pd.Series(secs, dtype=float).to_numpy()})


def from_tables(policy: Policy, tables: dict[str, pd.DataFrame], scores: pd.DataFrame | None = None,
                receipts: pd.DataFrame | None = None, fallback_roster: pd.DataFrame | None = None) -> Records:
    """Records from imported tables (as replayed from the audit log) + nbgrader scores + receipts."""
    rec = empty_records()
    roster = tables.get("roster")
    if roster is not None and len(roster):
        rec.roster = roster.reindex(columns=rec.roster.columns).fillna("")
    elif fallback_roster is not None:
        rec.roster = fallback_roster
    if scores is not None:
        rec.scores = scores
    if receipts is not None:
        rec.receipts = receipts
    if "scores" in tables and len(tables["scores"]):
        t = tables["scores"]
        rec.manual = pd.DataFrame({"student_id": t["student_id"], "item": t["item"],
                                   "score": t["score"].astype(float)})
    if "teams" in tables and len(tables["teams"]):
        rec.teams = tables["teams"][["student_id", "team"]].copy()
    if "team_scores" in tables and len(tables["team_scores"]):
        t = tables["team_scores"]
        rec.team_scores = pd.DataFrame({"team": t["team"], "item": t["item"], "score": t["score"].astype(float)})
    for kind in ("extensions", "accommodations"):
        if kind in tables and len(tables[kind]):
            setattr(rec, kind, _extra_seconds(tables[kind], policy))
    return rec


def load(course, policy: Policy) -> Records:  # course: course_dir.CourseDir
    """All records of a course from its database, read-only: audit-log tables, nbgrader scores, receipts."""
    from gradebook import audit, course_db, nbgrader_db

    with course_db.reading(course.db_url) as conn:
        present = course_db.tables(conn)
        tables = audit.replay_events(course_db.audit_events(conn, present))
        scores = nbgrader_db.scores(conn, policy.nbgrader_items, present)
        students = nbgrader_db.students(conn, present)
        receipts = graded_receipts(course_db.read_receipts(conn, present, GRADED_FROM))
        windows = course_db.read_windows(conn, present)
    rec = from_tables(policy, tables, scores, receipts, fallback_roster=students)
    rec.windows = windows
    return rec


def with_recorded_windows(policy: Policy, windows: dict[str, dict]) -> Policy:
    """The policy with each speed test's window as recorded when it was opened (server clock), which
    overrides course.toml's `opens`, duration and grace for that test."""
    if policy.speedtests is None or not windows:
        return policy
    tests = tuple(replace(t, opens=w["opened_at"], duration_s=w["duration_s"], grace_s=w["grace_s"])
                  if (w := windows.get(t.name)) else t for t in policy.speedtests.tests)
    return replace(policy, speedtests=replace(policy.speedtests, tests=tests))
