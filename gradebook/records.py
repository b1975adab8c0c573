"""Records: what happened, as tables. Loaded at the edges; compute.py never does I/O.

Sources: the nbgrader gradebook (autograded scores), the receipt log written by `course collect`
(server-side receipt times; never the student-written timestamp.txt) and the audit log that
`course import` appends to (roster, manual scores, teams, extensions, accommodations).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def nbgrader_scores(db_url: str, course_id: str, assignments: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, students) as nbgrader reports them; an absent SQLite file reads as empty (never created)."""
    rec = empty_records()
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_file():
        return rec.scores, rec.roster
    from nbgrader.api import Gradebook, MissingEntry

    rows: list[dict] = []
    with Gradebook(db_url, course_id=course_id) as gb:
        students = pd.DataFrame(
            [{"student_id": s["id"], "first_name": s.get("first_name") or "", "last_name": s.get("last_name") or "",
              "email": s.get("email") or "", "id_number": s.get("lms_user_id") or ""} for s in gb.student_dicts()],
            columns=rec.roster.columns)
        for name in assignments:
            try:
                gb.find_assignment(name)
            except MissingEntry:
                continue
            for d in gb.submission_dicts(name):
                rows.append({"student_id": d["student"], "item": name, "score": float(d["score"] or 0.0),
                             "max_score": float(d["max_score"] or 0.0)})
    scores = pd.DataFrame(rows, columns=rec.scores.columns) if rows else rec.scores
    return scores.astype({"score": float, "max_score": float}), students


def read_receipts(path: Path) -> pd.DataFrame:
    """Receipt log -> the graded version per (student, assignment): the newest accepted one by server time."""
    if not path.is_file():
        return empty_records().receipts
    log = pd.read_csv(path, dtype=str, keep_default_na=False)
    log = log[log["status"] == "accepted"]
    out = pd.DataFrame({"student_id": log["student_id"], "item": log["assignment"],
                        "received_at": pd.to_datetime(log["received_at"], utc=True, format="ISO8601")})
    out = out.sort_values("received_at").drop_duplicates(["student_id", "item"], keep="last")
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


def load(course, policy: Policy) -> Records:  # course: autograder.course_dir.CourseDir
    """All records of a course: audit-log tables, nbgrader scores, receipts."""
    from gradebook import audit

    tables = audit.current_tables(audit.store_dir(course))
    scores, students = nbgrader_scores(course.db_url, course.course_id, policy.nbgrader_items)
    receipts = read_receipts(audit.store_dir(course) / "receipts.csv")
    return from_tables(policy, tables, scores, receipts, fallback_roster=students)
