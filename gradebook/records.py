"""Records: what happened, as tables. Loaded at the edges; compute.py never does I/O.

Sources: the nbgrader gradebook (autograded scores), the receipt log written by `course collect`
(server-side receipt times; never the student-written timestamp.txt) and the audit log that
`course import` appends to (roster, manual scores, teams, extensions, accommodations).
"""
from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from course_errors import UserError
from gradebook.policy import Policy, parse_duration


class RecordError(UserError, ValueError):
    """A bad CSV row: file, line, field, and how to fix it."""


# kind -> (key columns, value columns, required value columns)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "roster": (("student_id",), ("first_name", "last_name", "email", "id_number"), ()),
    "scores": (("student_id", "item"), ("score", "comment"), ("score",)),
    "teams": (("student_id",), ("team",), ("team",)),
    "team_scores": (("team", "item"), ("score", "comment"), ("score",)),
    "extensions": (("student_id", "item"), ("extra",), ("extra",)),
    "accommodations": (("student_id", "item"), ("extra",), ("extra",)),
}
RECEIPT_COLUMNS = ("assignment", "student_id", "version", "received_at", "owner_uid", "expected_uid", "status",
                   "reason", "path")


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
# CSV validation (course import)
# --------------------------------------------------------------------------------------------------


def parse_when(text: str) -> dt.datetime:
    """An ISO date-time that carries its offset ('2022-03-18T23:59:00+02:00'); naive ones are refused."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time; write e.g. 2022-03-18T23:59:00+02:00") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add the offset, e.g. {text.strip()}+02:00")
    return value.astimezone(dt.UTC)


def parse_extra(text: str, allow_date: bool) -> str:
    """Validate an extension / extra-time cell; returns it normalised (kept as text in the audit log)."""
    text = text.strip()
    if allow_date and ("-" in text or "T" in text):
        parse_when(text)
        return text
    parse_duration(text)
    return text


def read_csv_rows(path: Path, kind: str, policy: Policy, roster_ids: set[str] | None) -> list[dict[str, str]]:
    """Validate a CSV of `kind` completely; return its rows. Raises RecordError on the first bad cell."""
    if kind not in KINDS:
        raise RecordError(f"unknown record kind {kind!r}; use one of: {', '.join(KINDS)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    keys, values, required = KINDS[kind]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise RecordError(f"{path} line 1: empty file; the header must be: {','.join(keys + required)}")
    for col in header:
        if col not in keys + values:
            raise RecordError(f"{path} line 1: unknown column {col!r}; {kind} CSV columns are "
                              f"{', '.join(keys + values)}")
    for col in keys + required:
        if col not in header:
            raise RecordError(f"{path} line 1: missing column {col!r}; {kind} CSV needs {', '.join(keys + required)}")
    if len(set(header)) != len(header):
        raise RecordError(f"{path} line 1: a column appears twice in the header")

    if kind == "roster":
        roster_ids = None  # the roster itself defines who exists
    seen: dict[tuple[str, ...], int] = {}
    members: dict[str, int] = {}
    rows: list[dict[str, str]] = []
    for lineno, cells in enumerate(reader, 2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise RecordError(f"{path} line {lineno}: {len(cells)} fields, the header has {len(header)}; "
                              "quote values that contain commas")
        row = {h: c.strip() for h, c in zip(header, cells, strict=True)}

        def bad(field: str, why: str) -> RecordError:
            return RecordError(f"{path} line {lineno}: field {field!r}: {why}")  # noqa: B023

        for k in keys:
            if not row[k]:
                raise bad(k, "empty; every row needs it")
            if "|" in row[k]:
                raise bad(k, f"{row[k]!r} contains '|'; use letters, digits, '-', '_', '.' or '@'")
        key = tuple(row[k] for k in keys)
        if key in seen:
            raise bad(keys[-1], f"duplicate row for {'/'.join(key)} (first on line {seen[key]}); keep one")
        seen[key] = lineno
        sid = row.get("student_id")
        if sid is not None and roster_ids is not None and sid not in roster_ids:
            raise bad("student_id", f"unknown student {sid!r}; import them with `course import roster` first")
        if kind == "roster" and row.get("email") and "@" not in row["email"]:
            raise bad("email", f"{row['email']!r} is not an e-mail address")
        if kind == "teams":
            members[row["team"]] = members.get(row["team"], 0) + 1
            if policy.team_size and members[row["team"]] > policy.team_size:
                raise bad("team", f"team {row['team']!r} has more than {policy.team_size} members "
                          "(team_size in course.toml); split it or raise team_size")
        if kind in ("scores", "team_scores"):
            allowed = policy.manual_items
            if kind == "team_scores":
                allowed = {i.name: float(i.max_raw or 0) for i in policy.items.values() if i.source == "team"}
            item = row["item"]
            if item not in allowed:
                raise bad("item", f"{item!r} is not a {'team' if kind == 'team_scores' else 'manual'} item of "
                          f"course.toml; use one of: {', '.join(allowed) or 'none declared'}")
            try:
                score = float(row["score"])
            except ValueError:
                raise bad("score", f"{row['score']!r} is not a number") from None
            if not math.isfinite(score) or score < 0 or score > allowed[item]:
                raise bad("score", f"{row['score']} is outside 0..{allowed[item]:g} for item {item!r}; "
                          "fix the value (or max_raw in course.toml)")
        if kind == "extensions":
            deadlines = [i.name for i in policy.items.values() if i.due is not None]
            if row["item"] not in deadlines:
                raise bad("item", f"{row['item']!r} has no due date in course.toml; use one of: "
                          f"{', '.join(deadlines)}")
        if kind == "accommodations":
            tests = [t.name for t in policy.speedtests.tests] if policy.speedtests else []
            if row["item"] not in tests + ["*"]:
                raise bad("item", f"{row['item']!r} is not a speed test; use one of: {', '.join(tests + ['*'])}")
        if kind in ("extensions", "accommodations"):
            try:
                row["extra"] = parse_extra(row["extra"], allow_date=kind == "extensions")
            except ValueError as exc:
                raise bad("extra", str(exc)) from None
        rows.append(row)
    return rows


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
        if "-" in extra or "T" in extra:
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
