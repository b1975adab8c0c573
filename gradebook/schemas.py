"""Declared schemas of the record CSVs that `course import` reads, and the checks between their rows.

One pydantic model per kind validates a row (its field order is the CSV's column order, its class
variable `key` the columns that identify a row); checks that need the policy or the current tables get
them as validation context. The whole file is validated before anything is written, and every problem
is reported at once: one line each, naming the file, the line and the field.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from course_errors import UserError
from gradebook.policy import Policy
from gradebook.times import course_time, parse_duration

SEP = "|"  # key cells joined in the audit log; refused inside key cells
MAX_SHOWN = 50  # problems listed before "... and N more"


class RecordError(UserError, ValueError):
    """A bad CSV: one line per problem, each file + line + field + how to fix it."""


@dataclass(frozen=True)
class Context:
    """What a row is checked against: the policy and the tables already imported."""

    policy: Policy
    roster: frozenset[str] | None  # None while the roster itself is imported
    teams: frozenset[str]


def _fail(why: str) -> PydanticCustomError:
    return PydanticCustomError("record", "{why}", {"why": why})


def _ctx(info: ValidationInfo) -> Context:
    assert isinstance(info.context, Context), "rows are validated with a Context"
    return info.context


def _key(v: str) -> str:
    if not v:
        raise _fail("empty; every row needs it")
    if SEP in v:
        raise _fail(f"{v!r} contains '{SEP}'; use letters, digits, '-', '_', '.' or '@'")
    return v


def _student(v: str, info: ValidationInfo) -> str:
    roster = _ctx(info).roster
    if roster is not None and v not in roster:
        raise _fail(f"unknown student {v!r}; import them with `course import roster` first")
    return v


def _required(v: str) -> str:
    if not v:
        raise _fail("empty; every row needs it")
    return v


def _email(v: str) -> str:
    if v and not re.fullmatch(r"[^@\s]+@[^@\s]+", v):
        raise _fail(f"{v!r} is not an e-mail address")
    return v


Key = Annotated[str, AfterValidator(_key)]
StudentId = Annotated[str, AfterValidator(_key), AfterValidator(_student)]
Required = Annotated[str, AfterValidator(_required)]


def _score(v: str, item: str | None, allowed: dict[str, float]) -> str:
    try:
        score = float(v)
    except ValueError:
        raise _fail(f"{v!r} is not a number") from None
    if item in allowed and not 0 <= score <= allowed[item]:  # NaN fails both comparisons
        raise _fail(f"{v} is outside 0..{allowed[item]:g} for item {item!r}; fix the value (or max_raw in "
                    "course.toml)")
    return v


def _item(v: str, allowed: list[str] | dict[str, float], why: str) -> str:
    if v not in allowed:
        raise _fail(f"{v!r} {why}; use one of: {', '.join(allowed) or 'none declared'}")
    return v


def _team_items(policy: Policy) -> dict[str, float]:
    return {i.name: float(i.max_raw or 0) for i in policy.items.values() if i.source == "team"}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    key: ClassVar[tuple[str, ...]]


class RosterRow(_Row):
    key = ("student_id",)
    student_id: Key
    first_name: str = ""
    last_name: str = ""
    email: Annotated[str, AfterValidator(_email)] = ""
    id_number: str = ""


class ScoreRow(_Row):
    key = ("student_id", "item")
    student_id: StudentId
    item: Key
    score: str
    comment: str = ""

    @field_validator("item")
    @classmethod
    def _manual(cls, v: str, info: ValidationInfo) -> str:
        return _item(v, _ctx(info).policy.manual_items, "is not a manual item of course.toml")

    @field_validator("score")
    @classmethod
    def _range(cls, v: str, info: ValidationInfo) -> str:
        return _score(v, info.data.get("item"), _ctx(info).policy.manual_items)


class TeamRow(_Row):
    key = ("student_id",)  # one team per student
    team: Key
    student_id: StudentId


class TeamScoreRow(_Row):
    key = ("team", "item")
    team: Key
    item: Key
    score: str
    comment: str = ""

    @field_validator("team")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        teams = _ctx(info).teams
        if v not in teams:
            known = f"teams are: {', '.join(sorted(teams)[:10])}" if teams else "no teams are imported yet"
            raise _fail(f"unknown team {v!r}; {known} (import them with `course import teams`)")
        return v

    @field_validator("item")
    @classmethod
    def _team_item(cls, v: str, info: ValidationInfo) -> str:
        return _item(v, _team_items(_ctx(info).policy), "is not a team item of course.toml")

    @field_validator("score")
    @classmethod
    def _range(cls, v: str, info: ValidationInfo) -> str:
        return _score(v, info.data.get("item"), _team_items(_ctx(info).policy))


def parse_when(text: str) -> dt.datetime:
    """An ISO date-time that carries its offset ('2022-03-18T23:59:00+02:00') -> UTC; naive ones are refused."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time; write e.g. 2022-03-18T23:59:00+02:00") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add the offset, e.g. {text.strip()}+02:00")
    return value.astimezone(dt.UTC)


def is_date(extra: str) -> bool:
    """An extension cell is a new due date (has '-' or 'T') or else a duration ('2d', '36h')."""
    return "-" in extra or "T" in extra


class ExtensionRow(_Row):
    key = ("student_id", "item")
    student_id: StudentId
    item: Key
    extra: Required  # a duration ('2d', '36h') or a new due date with the course offset

    @field_validator("item")
    @classmethod
    def _has_due(cls, v: str, info: ValidationInfo) -> str:
        return _item(v, [i.name for i in _ctx(info).policy.items.values() if i.due is not None],
                     "has no due date in course.toml")

    @field_validator("extra")
    @classmethod
    def _extra(cls, v: str, info: ValidationInfo) -> str:
        policy = _ctx(info).policy
        if not is_date(v):
            return _duration(v)
        try:
            parse_when(v)
            when = course_time(dt.datetime.fromisoformat(v), policy.timezone)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        item = policy.items.get(info.data.get("item", ""))
        if item is not None and item.due is not None and when < item.due:
            due = item.due.astimezone(policy.timezone).isoformat()
            raise _fail(f"{v} is before the due date {due} of {item.name!r}; an extension moves the deadline "
                        "later: write a later date or a duration such as '2d'")
        return v


def _duration(v: str) -> str:
    try:
        parse_duration(v)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    return v


class AccommodationRow(_Row):
    key = ("student_id", "item")
    student_id: StudentId
    item: Key  # a speed test, or '*' for every one
    extra: Annotated[Required, AfterValidator(_duration)]

    @field_validator("item")
    @classmethod
    def _speed_test(cls, v: str, info: ValidationInfo) -> str:
        st = _ctx(info).policy.speedtests
        return _item(v, [t.name for t in st.tests] + ["*"] if st else ["*"], "is not a speed test")


SCHEMAS: dict[str, type[_Row]] = {"roster": RosterRow, "scores": ScoreRow, "teams": TeamRow,
                                  "team_scores": TeamScoreRow, "extensions": ExtensionRow,
                                  "accommodations": AccommodationRow}


def _columns(model: type[_Row]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    values = tuple(f for f in model.model_fields if f not in model.key)
    return model.key, values, tuple(f for f in values if model.model_fields[f].is_required())


# kind -> (key columns, value columns, required value columns): the audit log's view of each kind
KINDS = {kind: _columns(model) for kind, model in SCHEMAS.items()}


# --------------------------------------------------------------------------------------------------
# A whole file
# --------------------------------------------------------------------------------------------------


def _header(header: list[str], kind: str) -> list[tuple[int, str, str]]:
    keys, values, required = KINDS[kind]
    if not header:
        return [(1, "", f"empty file; the header must be: {','.join(keys + required)}")]
    out = [(1, "", f"unknown column {c!r}; {kind} CSV columns are {', '.join(keys + values)}")
           for c in header if c not in keys + values]
    out += [(1, "", f"missing column {c!r}; {kind} CSV needs {', '.join(keys + required)}")
            for c in keys + required if c not in header]
    if len(set(header)) != len(header):
        out.append((1, "", "a column appears twice in the header"))
    return out


def _unique(rows: list[tuple[int, dict[str, str]]], column: str, label: str, why: str,
            norm: Callable[[str], str] = str) -> list[tuple[int, str, str]]:
    """Each non-empty value of `column` once in the file (names the first line that has it)."""
    first: dict[str, tuple[int, dict[str, str]]] = {}
    out = []
    for lineno, row in rows:
        v = norm(row.get(column, ""))
        if not v:
            continue
        if v in first:
            n, other = first[v]
            text = f"{row[column]!r} is also the {label} of {other.get('student_id', '')!r} (line {n}); {why}"
            out.append((lineno, column, text))
        else:
            first[v] = (lineno, row)
    return out


def _between_rows(kind: str, rows: list[tuple[int, dict[str, str]]], policy: Policy) -> list[tuple[int, str, str]]:
    """Checks across rows: one row per key, Moodle's identifiers unique, team sizes."""
    keys = KINDS[kind][0]
    out: list[tuple[int, str, str]] = []
    seen: dict[tuple[str, ...], int] = {}
    for lineno, row in rows:
        key = tuple(row[k] for k in keys)
        if all(key) and key in seen:
            out.append((lineno, keys[-1], f"duplicate row for {'/'.join(key)} (first on line {seen[key]}); keep one"))
        seen.setdefault(key, lineno)
    if kind == "roster":
        moodle = "Moodle's grade import matches students by it, so each student needs their own"
        out += _unique(rows, "email", "e-mail", moodle, str.lower)
        out += _unique(rows, "id_number", "ID number", moodle)
    if kind == "teams" and policy.team_size:
        members: dict[str, int] = {}
        for lineno, row in rows:
            members[row["team"]] = members.get(row["team"], 0) + 1
            if members[row["team"]] == policy.team_size + 1:
                text = (f"team {row['team']!r} has more than {policy.team_size} members (team_size in "
                        "course.toml); split it or raise team_size")
                out.append((lineno, "team", text))
    return out


def _raise(path: Path, problems: list[tuple[int, str, str]]) -> None:
    if not problems:
        return
    lines = [f"{path} line {n}: " + (f"field {field!r}: " if field else "") + why
             for n, field, why in sorted(problems, key=lambda p: p[0])]
    more = len(lines) - MAX_SHOWN
    if more > 0:
        lines = lines[:MAX_SHOWN] + [f"{path}: ... and {more} more problem(s); nothing was imported"]
    raise RecordError("\n".join(lines))


def _context(kind: str, policy: Policy, tables: dict[str, pd.DataFrame], path: Path) -> Context:
    roster, teams = tables.get("roster"), tables.get("teams")
    team_names = frozenset(teams["team"].astype(str)) if teams is not None else frozenset()
    if kind == "roster":
        return Context(policy, None, team_names)  # the roster itself defines who exists
    if roster is None or roster.empty:
        raise RecordError(f"{path}: import the roster first (`course import roster FILE`); {kind} rows are "
                          "checked against it")
    return Context(policy, frozenset(roster["student_id"].astype(str)), team_names)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise RecordError(f"{path}: no such file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV") from None


def read_csv(path: Path, kind: str, policy: Policy, tables: dict[str, pd.DataFrame]) -> list[dict[str, str]]:
    """Validate a CSV of `kind` completely against the policy and the current tables; return its rows
    (cells as text, stripped). Raises RecordError listing every problem."""
    if kind not in SCHEMAS:
        raise RecordError(f"unknown record kind {kind!r}; use one of: {', '.join(SCHEMAS)}")
    path = Path(path)
    reader = csv.reader(_read_text(path).splitlines())
    header = [h.strip() for h in next(reader, [])]
    _raise(path, _header(header, kind))
    context = _context(kind, policy, tables, path)
    model = SCHEMAS[kind]
    problems: list[tuple[int, str, str]] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for lineno, cells in enumerate(reader, 2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            text = f"{len(cells)} fields, the header has {len(header)}; quote values that contain commas"
            problems.append((lineno, "", text))
            continue
        row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        rows.append((lineno, row))
        try:
            model.model_validate(row, context=context)
        except ValidationError as exc:
            problems += [(lineno, str(e["loc"][0]), (e.get("ctx") or {}).get("why", e["msg"])) for e in exc.errors()]
    _raise(path, problems + _between_rows(kind, rows, policy))
    return [row for _, row in rows]


def removed_keys(path: Path, kind: str, rows: list[dict[str, str]], current: pd.DataFrame | None,
                 replace: bool) -> list[str]:
    """Rows of the current table that the file lacks (the import would delete them): refused unless the
    import says --replace; with it, returned so the command can say what it removes."""
    keys = KINDS[kind][0]
    if current is None or current.empty:
        return []
    new = {SEP.join(row[k] for k in keys) for row in rows}
    gone = [k for k in (SEP.join(map(str, r)) for r in current[list(keys)].itertuples(index=False)) if k not in new]
    if gone and not replace:
        shown = ", ".join(k.replace(SEP, "/") for k in gone[:10]) + (" ..." if len(gone) > 10 else "")
        what = "student(s) on the roster" if kind == "roster" else f"{kind} row(s)"
        raise RecordError(f"{path}: field {keys[0]!r}: {len(gone)} {what} are not in this file ({shown}) and "
                          f"importing it would remove them; add them to the file, or pass --replace to replace the "
                          f"whole {kind} table")
    return gone
