"""The course policy (course.toml): a declared schema of the file and the immutable model compute() reads.

Every rule about points, deadlines, late penalties, speed-test windows, bonuses and rounding lives in
the policy file; nothing here is course-specific. The file is validated against pydantic models; a
malformed file raises one PolicyError with one line per problem, each naming the file, line, key and
what was expected; nothing is computed from a half-valid policy.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from course_errors import UserError
from gradebook.policy_file import PolicyFile, cross_checks, describe
from gradebook.times import format_duration, parse_duration

# format_duration and parse_duration are part of this module's interface (explain, records, commands).
__all__ = ["Bonus", "Final", "Item", "LateRule", "Part", "Policy", "PolicyError", "SpeedTest", "SpeedTests",
           "format_duration", "load_policy", "parse_duration", "parse_policy"]


class PolicyError(UserError, ValueError):
    """A bad course.toml: one line per problem, each file + line + key + what to do."""


@dataclass(frozen=True)
class LateRule:
    name: str
    per: str  # "day" | "hour": the penalty applies per *started* unit
    penalty: float  # fraction of the item's score per started unit
    grace_s: float  # lateness up to this is forgiven entirely
    max_penalty: float  # fraction
    hard_cutoff_s: float | None  # later than this after the (extended) due date scores 0

    @property
    def unit_s(self) -> float:
        return 86400.0 if self.per == "day" else 3600.0


@dataclass(frozen=True)
class Part:
    name: str
    title: str
    points: float
    minimum: float  # fraction of `points` required (0.5 = 50 %)


@dataclass(frozen=True)
class Item:
    name: str
    title: str
    part: str
    points: float
    source: str  # "nbgrader" (autograded, receipts) | "csv" (manual scores) | "team" (team score + overrides)
    counts_toward_minimum: bool
    max_raw: float | None = None  # csv/team items: the raw scale; nbgrader items use the gradebook's max_score
    release: dt.datetime | None = None
    due: dt.datetime | None = None
    late: LateRule | None = None
    team_size: int | None = None  # team items: most members a team may have


@dataclass(frozen=True)
class SpeedTest:
    name: str
    opens: dt.datetime
    duration_s: float | None = None  # a window recorded by `course speedtest open`: its own length and grace
    grace_s: float | None = None


@dataclass(frozen=True)
class SpeedTests:
    name: str
    title: str
    part: str
    points: float  # all counted tests together
    duration_s: float
    grace_s: float
    drop_lowest: int
    counts_toward_minimum: bool
    tests: tuple[SpeedTest, ...]

    @property
    def counted(self) -> int:
        return len(self.tests) - self.drop_lowest


@dataclass(frozen=True)
class Bonus:
    name: str
    title: str
    part: str
    cap: float
    max_raw: float
    counts_toward_minimum: bool


@dataclass(frozen=True)
class Final:
    cap: float
    round_to: float
    rounding: str  # "half_up" | "down" | "none"
    min_final: float | None  # besides every part's minimum, if set
    require_receipt: bool  # an autograded score without a server receipt counts 0


@dataclass(frozen=True)
class Policy:
    course: str
    timezone: ZoneInfo
    parts: dict[str, Part]
    items: dict[str, Item]
    speedtests: SpeedTests | None
    bonuses: dict[str, Bonus]
    late_rules: dict[str, LateRule]
    final: Final
    source: Path | None = field(default=None, compare=False)

    @property
    def nbgrader_items(self) -> list[str]:
        """nbgrader assignment names whose scores and receipts we read (assignments + speed tests)."""
        names = [i.name for i in self.items.values() if i.source == "nbgrader"]
        if self.speedtests:
            names += [t.name for t in self.speedtests.tests]
        return names

    @property
    def manual_items(self) -> dict[str, float]:
        """Names that a scores CSV may set, with their raw maximum."""
        out = {i.name: float(i.max_raw or 0) for i in self.items.values() if i.source in ("csv", "team")}
        out.update({b.name: b.max_raw for b in self.bonuses.values()})
        return out

    @property
    def team_size(self) -> int | None:
        sizes = [i.team_size for i in self.items.values() if i.team_size]
        return min(sizes) if sizes else None

    def max_total(self) -> float:
        return sum(p.points for p in self.parts.values()) + sum(b.cap for b in self.bonuses.values())


# --------------------------------------------------------------------------------------------------
# Errors: each problem as one line with the file's line number and the TOML key
# --------------------------------------------------------------------------------------------------


def _line_of(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The line that sets `keys` (a [table] header or a `key = `), else the inline table holding it."""
    header: tuple[str, ...] = ()
    best = None
    for no, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        m = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if m:
            header = tuple(p.strip().strip('"') for p in m.group(1).split("."))
            if header == keys:
                return no
            continue
        m = re.match(r"([A-Za-z0-9_\-\.\"]+)\s*=", line)
        if m:
            full = header + tuple(p.strip('"') for p in m.group(1).split("."))
            if full == keys:
                return no
            if best is None and full == keys[: len(full)]:
                best = no
    return best


def _keys_str(keys: tuple[str, ...]) -> str:
    return ".".join(k if re.fullmatch(r"[A-Za-z0-9_\-]+", k) else repr(k) for k in keys)


def _error(problems: list[tuple[tuple[str, ...], str]], lines: list[str], path: Path) -> PolicyError:
    """One line per problem, in the file's order."""
    out = []
    for keys, message in problems:
        line, probe = None, keys
        while probe and line is None:  # a key given inline or by default: point at its table
            line, probe = _line_of(lines, probe), probe[:-1]
        out.append((line or 0, f"{path}" + (f" line {line}" if line else "") + f": [{_keys_str(keys)}]: {message}"))
    return PolicyError("\n".join(text for _, text in sorted(out, key=lambda o: o[0])))


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"{path}: no course policy file; copy course.toml from the repository root")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    return parse_policy(data, text, path)


def _names(data: dict, table: str) -> tuple[str, ...]:
    value = data.get(table)
    return tuple(value) if isinstance(value, dict) else ()


def parse_policy(data: dict, text: str = "", path: Path | str = "course.toml") -> Policy:
    """Validate the whole file (every problem reported at once), then build the Policy."""
    path, lines = Path(path), text.splitlines()
    course = data.get("course")
    tz = None
    if isinstance(course, dict) and isinstance(course.get("timezone"), str):
        try:
            tz = ZoneInfo(course["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            tz = None  # reported by the schema
    context = {"tz": tz, "parts": _names(data, "parts"), "late": _names(data, "late")}
    try:
        f = PolicyFile.model_validate(data, context=context)
    except ValidationError as exc:
        raise _error([describe(e) for e in exc.errors()], lines, path) from None
    problems = cross_checks(f)
    if problems:
        raise _error(problems, lines, path)
    return _build(f, ZoneInfo(f.course.timezone), path)


def _build(f: PolicyFile, tz: ZoneInfo, path: Path) -> Policy:
    late = {n: LateRule(n, r.per, r.penalty, r.grace, r.max_penalty, r.hard_cutoff) for n, r in f.late.items()}
    parts = {n: Part(n, p.title or n, p.points, p.minimum) for n, p in f.parts.items()}
    items = {n: Item(n, i.title or n, i.part, i.points, i.source, i.counts_toward_minimum, i.max_raw, i.release,
                     i.due, late[i.late] if i.late else None, int(i.team_size) if i.team_size else None)
             for n, i in f.items.items()}
    speed = None
    if (s := f.speedtests) is not None:
        speed = SpeedTests("speedtests", s.title, s.part, s.points, s.duration, s.grace, int(s.drop_lowest),
                           s.counts_toward_minimum, tuple(SpeedTest(n, t.opens) for n, t in s.tests.items()))
    bonuses = {n: Bonus(n, b.title or n, b.part, b.cap, b.max_raw if b.max_raw is not None else max(b.cap, 1.0) * 5,
                        b.counts_toward_minimum) for n, b in f.bonus.items()}
    fin = f.final
    final = Final(fin.cap, fin.round_to, fin.rounding, fin.min_final, fin.require_receipt)
    return Policy(f.course.name, tz, parts, items, speed, bonuses, late, final, path)
