"""The course policy (course.toml) as a validated, immutable model.

Every rule about points, deadlines, late penalties, speed-test windows, bonuses and rounding lives in
the policy file; nothing here is course-specific. A malformed file raises one PolicyError that names
the file, line, key and what was expected; nothing is computed from a half-valid policy.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from course_errors import UserError


class PolicyError(UserError, ValueError):
    """A bad course.toml: one line, file + line + key + what to do."""


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")


def parse_duration(text: str) -> float:
    """'1d12h', '90m', '30s', '0' -> seconds. Raises ValueError with the expected form."""
    s = str(text).strip().lower().replace(" ", "")
    if s in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"{text!r} is not a duration; write e.g. '2d', '36h', '1d12h', '90m' or '30s'")
    return total


def format_duration(seconds: float) -> str:
    seconds = round(float(seconds))
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{v} {u}" for v, u in ((d, "day" if d == 1 else "days"), (h, "h"), (m, "min"), (s, "s")) if v]
    return " ".join(parts) or "0 s"


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
# Reading and validating
# --------------------------------------------------------------------------------------------------


class _Reader:
    """Validating accessors that know where each key sits in the file, for one-line errors."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path

    def line_of(self, keys: tuple[str, ...]) -> int | None:
        header: tuple[str, ...] = ()
        best = None
        for no, raw in enumerate(self.lines, 1):
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
                if best is None and full == keys[: len(full)] and len(full) >= 1:
                    best = no  # an inline table holding the key
        return best

    def error(self, keys: tuple[str, ...], message: str) -> PolicyError:
        line, probe = None, keys
        while probe and line is None:  # a key given inline or by default: point at its table
            line, probe = self.line_of(probe), probe[:-1]
        where = f"{self.path}" + (f" line {line}" if line else "")
        return PolicyError(f"{where}: [{'.'.join(_keys_str(keys))}]: {message}")

    def table(self, data: Any, keys: tuple[str, ...], required: set[str], optional: set[str]) -> dict:
        if not isinstance(data, dict):
            raise self.error(keys, f"expected a table [{'.'.join(keys)}], got {type(data).__name__}")
        for k in data:
            if k not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise self.error(keys + (k,), f"unknown key {k!r}; allowed here: {allowed}")
        for k in sorted(required):
            if k not in data:
                raise self.error(keys, f"missing key {k!r}; add `{k} = ...` to [{'.'.join(keys)}]")
        return data

    def num(self, data: dict, keys: tuple[str, ...], key: str, default: Any = ..., lo: float | None = None,
            hi: float | None = None) -> float:
        if key not in data:
            if default is ...:
                raise self.error(keys, f"missing key {key!r} (a number)")
            return default
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.error(keys + (key,), f"expected a number, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise self.error(keys + (key,), f"expected a number in [{lo}, {hi if hi is not None else '∞'}], got {v}")
        return float(v)

    def string(self, data: dict, keys: tuple[str, ...], key: str, default: Any = ...,
               choices: tuple[str, ...] | None = None) -> str:
        if key not in data:
            if default is ...:
                raise self.error(keys, f"missing key {key!r} (a string)")
            return default
        v = data[key]
        if not isinstance(v, str):
            raise self.error(keys + (key,), f"expected a string, got {v!r}")
        if choices and v not in choices:
            raise self.error(keys + (key,), f"expected one of {', '.join(map(repr, choices))}, got {v!r}")
        return v

    def boolean(self, data: dict, keys: tuple[str, ...], key: str, default: bool) -> bool:
        v = data.get(key, default)
        if not isinstance(v, bool):
            raise self.error(keys + (key,), f"expected true or false, got {v!r}")
        return v

    def duration(self, data: dict, keys: tuple[str, ...], key: str, default: Any = ...) -> float:
        if key not in data:
            if default is ...:
                raise self.error(keys, f"missing key {key!r} (a duration such as '15m')")
            return default
        v = data[key]
        if not isinstance(v, str):
            raise self.error(keys + (key,), f"expected a duration string such as '15m' or '2d', got {v!r}")
        try:
            return parse_duration(v)
        except ValueError as exc:
            raise self.error(keys + (key,), str(exc)) from None

    def datetime(self, data: dict, keys: tuple[str, ...], key: str, tz: ZoneInfo) -> dt.datetime:
        if key not in data:
            raise self.error(keys, f"missing key {key!r} (a date-time with offset, e.g. 2022-03-16T23:59:00+02:00)")
        v = data[key]
        if not isinstance(v, dt.datetime):
            raise self.error(keys + (key,), f"expected a date-time such as 2022-03-16T23:59:00+02:00, got {v!r}")
        if v.tzinfo is None:
            off = tz.utcoffset(v)
            sign = "+" if off >= dt.timedelta(0) else "-"
            hh, mm = divmod(int(abs(off.total_seconds())) // 60, 60)
            raise self.error(keys + (key,), f"{v.isoformat()} has no time zone; write it with the course offset, "
                             f"e.g. {v.isoformat()}{sign}{hh:02d}:{mm:02d} ({tz.key})")
        # The offset must be the course zone's offset at that instant: catches DST slips (+02 vs +03).
        local = v.astimezone(tz)
        if local.utcoffset() != v.utcoffset():
            raise self.error(keys + (key,), f"{v.isoformat()} has offset {_fmt_off(v.utcoffset())} but {tz.key} is "
                             f"{_fmt_off(local.utcoffset())} on that date; write {local.isoformat()}")
        return v.astimezone(dt.UTC)


def _fmt_off(off: dt.timedelta | None) -> str:
    s = int((off or dt.timedelta(0)).total_seconds())
    sign = "+" if s >= 0 else "-"
    hh, mm = divmod(abs(s) // 60, 60)
    return f"{sign}{hh:02d}:{mm:02d}"


def _keys_str(keys: tuple[str, ...]) -> list[str]:
    return [k if re.fullmatch(r"[A-Za-z0-9_\-]+", k) else repr(k) for k in keys]


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no course policy file; copy course.toml from the repository root")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    return parse_policy(data, text, path)


def parse_policy(data: dict, text: str = "", path: Path | str = "course.toml") -> Policy:
    r = _Reader(text, Path(path))
    r.table(data, (), {"course", "parts", "items", "final"}, {"late", "speedtests", "bonus"})

    course = r.table(data["course"], ("course",), {"name", "timezone"}, set())
    name = r.string(course, ("course",), "name")
    tzname = r.string(course, ("course",), "timezone")
    try:
        tz = ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.error(("course", "timezone"), f"unknown time zone {tzname!r}; use an IANA name such as "
                      "'Europe/Bucharest'") from None

    late_rules: dict[str, LateRule] = {}
    for lname, ldata in r.table(data.get("late", {}), ("late",), set(), set(data.get("late", {}))).items():
        k = ("late", lname)
        r.table(ldata, k, {"per", "penalty"}, {"grace", "max_penalty", "hard_cutoff"})
        late_rules[lname] = LateRule(
            name=lname,
            per=r.string(ldata, k, "per", choices=("day", "hour")),
            penalty=r.num(ldata, k, "penalty", lo=0, hi=1),
            grace_s=r.duration(ldata, k, "grace", 0.0),
            max_penalty=r.num(ldata, k, "max_penalty", 1.0, lo=0, hi=1),
            hard_cutoff_s=r.duration(ldata, k, "hard_cutoff", None),
        )

    parts: dict[str, Part] = {}
    for pname, pdata in r.table(data["parts"], ("parts",), set(), set(data["parts"] or {})).items():
        k = ("parts", pname)
        r.table(pdata, k, {"points"}, {"title", "minimum"})
        parts[pname] = Part(pname, r.string(pdata, k, "title", pname), r.num(pdata, k, "points", lo=0),
                            r.num(pdata, k, "minimum", 0.5, lo=0, hi=1))
    if not parts:
        raise r.error(("parts",), "declare at least one part, e.g. [parts.lab] points = 5")

    def part_of(d: dict, k: tuple[str, ...]) -> str:
        p = r.string(d, k, "part")
        if p not in parts:
            raise r.error(k + ("part",), f"unknown part {p!r}; declared parts: {', '.join(parts)}")
        return p

    items: dict[str, Item] = {}
    for iname, idata in r.table(data["items"], ("items",), set(), set(data["items"] or {})).items():
        k = ("items", iname)
        r.table(idata, k, {"part", "points", "source"},
                {"title", "counts_toward_minimum", "max_raw", "release", "due", "late", "team_size"})
        source = r.string(idata, k, "source", choices=("nbgrader", "csv", "team"))
        release = due = late = None
        max_raw = None
        if source == "nbgrader":
            for bad in ("max_raw",):
                if bad in idata:
                    raise r.error(k + (bad,), "nbgrader items take their maximum from the gradebook; remove it")
            if "release" in idata:
                release = r.datetime(idata, k, "release", tz)
            due = r.datetime(idata, k, "due", tz)
            if release and release >= due:
                raise r.error(k + ("due",), "the due date must be after the release date")
            if "late" in idata:
                lname = r.string(idata, k, "late")
                if lname not in late_rules:
                    raise r.error(k + ("late",), f"unknown late rule {lname!r}; declare [late.{lname}] "
                                  f"(declared: {', '.join(late_rules) or 'none'})")
                late = late_rules[lname]
        else:
            for bad in ("release", "due", "late"):
                if bad in idata:
                    raise r.error(k + (bad,), f"only nbgrader items have deadlines; remove {bad!r} "
                                  "or set source = \"nbgrader\"")
            max_raw = r.num(idata, k, "max_raw", lo=1e-9)
        team_size = None
        if "team_size" in idata:
            if source != "team":
                raise r.error(k + ("team_size",), "only team items (source = \"team\") have a team size")
            size = r.num(idata, k, "team_size", lo=1)
            if size != int(size):
                raise r.error(k + ("team_size",), f"expected a whole number of members, got {size:g}")
            team_size = int(size)
        items[iname] = Item(iname, r.string(idata, k, "title", iname), part_of(idata, k),
                            r.num(idata, k, "points", lo=0), source,
                            r.boolean(idata, k, "counts_toward_minimum", True), max_raw, release, due, late,
                            team_size)

    speed = None
    if "speedtests" in data:
        k = ("speedtests",)
        sd = r.table(data["speedtests"], k, {"part", "points", "duration", "tests"},
                     {"title", "grace", "drop_lowest", "counts_toward_minimum"})
        tests = []
        for tname, tdata in r.table(sd["tests"], k + ("tests",), set(), set(sd["tests"] or {})).items():
            tk = k + ("tests", tname)
            r.table(tdata, tk, {"opens"}, set())
            if tname in items:
                raise r.error(tk, f"{tname!r} is also declared under [items]; name it once")
            tests.append(SpeedTest(tname, r.datetime(tdata, tk, "opens", tz)))
        if not tests:
            raise r.error(k + ("tests",), "declare at least one test, e.g. [speedtests.tests.speedtest1]")
        drop = r.num(sd, k, "drop_lowest", 0, lo=0)
        if drop != int(drop) or drop >= len(tests):
            raise r.error(k + ("drop_lowest",), f"expected a whole number below the number of tests "
                          f"({len(tests)}), got {drop}")
        speed = SpeedTests("speedtests", r.string(sd, k, "title", "Speed tests"), part_of(sd, k),
                           r.num(sd, k, "points", lo=0), r.duration(sd, k, "duration"),
                           r.duration(sd, k, "grace", 0.0), int(drop),
                           r.boolean(sd, k, "counts_toward_minimum", True), tuple(tests))
        if "speedtests" in items:
            raise r.error(("items", "speedtests"), "the name 'speedtests' is taken by [speedtests]")

    bonuses: dict[str, Bonus] = {}
    for bname, bdata in r.table(data.get("bonus", {}), ("bonus",), set(), set(data.get("bonus", {}))).items():
        k = ("bonus", bname)
        r.table(bdata, k, {"part", "cap"}, {"title", "max_raw", "counts_toward_minimum"})
        if bname in items or (speed and bname in {t.name for t in speed.tests}):
            raise r.error(k, f"{bname!r} is also an item name; give the bonus its own name")
        cap = r.num(bdata, k, "cap", lo=0)
        bonuses[bname] = Bonus(bname, r.string(bdata, k, "title", bname), part_of(bdata, k), cap,
                               r.num(bdata, k, "max_raw", max(cap, 1.0) * 5, lo=0),
                               r.boolean(bdata, k, "counts_toward_minimum", False))

    # The parts' declared points must be exactly what their items add up to.
    for p in parts.values():
        got = sum(i.points for i in items.values() if i.part == p.name)
        got += speed.points if speed and speed.part == p.name else 0.0
        if not math.isclose(got, p.points, abs_tol=1e-9):
            members = [f"{i.name}={i.points:g}" for i in items.values() if i.part == p.name]
            if speed and speed.part == p.name:
                members.append(f"speedtests={speed.points:g}")
            raise r.error(("parts", p.name, "points"), f"declares {p.points:g} points but its items add up to "
                          f"{got:g} ({', '.join(members) or 'no items'}); make them agree")

    fk = ("final",)
    fd = r.table(data["final"], fk, {"cap"}, {"round_to", "rounding", "min_final", "require_receipt"})
    final = Final(
        cap=r.num(fd, fk, "cap", lo=0),
        round_to=r.num(fd, fk, "round_to", 0.1, lo=1e-6),
        rounding=r.string(fd, fk, "rounding", "half_up", choices=("half_up", "down", "none")),
        min_final=r.num(fd, fk, "min_final", None, lo=0),
        require_receipt=r.boolean(fd, fk, "require_receipt", True),
    )
    return Policy(name, tz, parts, items, speed, bonuses, late_rules, final, Path(path))
