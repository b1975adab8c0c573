"""The declared schema of course.toml: one pydantic model per table, strict types, no unknown keys.

Cross-references (an item's part, its late rule) are checked against the names the file declares, which
the caller passes as validation context together with the course time zone, so that one validation pass
reports every problem of the file.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from gradebook.times import course_time, parse_duration


def _fail(why: str, key: str | None = None) -> PydanticCustomError:
    """A validation error with our own text; `key` names the offending key of a table-level check."""
    return PydanticCustomError("policy", "{why}", {"why": why, "key": key})


def _within(lo: float, hi: float | None = None) -> Callable[[float], float]:
    def check(v: float) -> float:
        if v < lo or (hi is not None and v > hi):
            raise _fail(f"expected a number in [{lo:g}, {'∞' if hi is None else format(hi, 'g')}], got {v:g}")
        return v
    return check


def _duration(v: Any) -> float:
    if not isinstance(v, str):
        raise _fail(f"expected a duration string such as '15m' or '2d', got {v!r}")
    try:
        return parse_duration(v)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _when(v: dt.datetime, info: ValidationInfo) -> dt.datetime:
    try:
        return course_time(v, (info.context or {}).get("tz"))
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _declared(table: str, what: str) -> Callable[[str, ValidationInfo], str]:
    """A name that must be declared in another table of the file (known from the context)."""
    def check(v: str, info: ValidationInfo) -> str:
        names = (info.context or {}).get(table, ())
        if v not in names:
            hint = f"declare [{table}.{v}] (declared: {', '.join(names) or 'none'})" if table == "late" else \
                f"declared {table}: {', '.join(names)}"
            raise _fail(f"unknown {what} {v!r}; {hint}")
        return v
    return check


def _zone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(f"unknown time zone {v!r}; use an IANA name such as 'Europe/Bucharest'") from None
    return v


Points = Annotated[float, AfterValidator(_within(0))]
Share = Annotated[float, AfterValidator(_within(0, 1))]
Positive = Annotated[float, AfterValidator(_within(1e-9))]
Members = Annotated[float, AfterValidator(_within(1))]
Step = Annotated[float, AfterValidator(_within(1e-6))]
Duration = Annotated[float, BeforeValidator(_duration)]
When = Annotated[dt.datetime, AfterValidator(_when)]
PartName = Annotated[str, AfterValidator(_declared("parts", "part"))]
LateName = Annotated[str, AfterValidator(_declared("late", "late rule"))]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class CourseTable(_Table):
    name: str
    timezone: Annotated[str, AfterValidator(_zone)]


class LateTable(_Table):
    per: Literal["day", "hour"]
    penalty: Share
    grace: Duration = 0.0
    max_penalty: Share = 1.0
    hard_cutoff: Duration | None = None


class PartTable(_Table):
    points: Points
    title: str | None = None
    minimum: Share = 0.5


class ItemTable(_Table):
    part: PartName
    points: Points
    source: Literal["nbgrader", "csv", "team"]
    title: str | None = None
    counts_toward_minimum: bool = True
    max_raw: Positive | None = None
    release: When | None = None
    due: When | None = None
    late: LateName | None = None
    team_size: Members | None = None

    def model_post_init(self, _: Any) -> None:
        if self.source == "nbgrader":
            if self.max_raw is not None:
                raise _fail("nbgrader items take their maximum from the gradebook; remove it", "max_raw")
            if self.due is None:
                raise _fail("missing key 'due' (a date-time with offset, e.g. 2022-03-16T23:59:00+02:00)")
            if self.release is not None and self.release >= self.due:
                raise _fail("the due date must be after the release date", "due")
        else:
            for bad in ("release", "due", "late"):
                if getattr(self, bad) is not None:
                    raise _fail(f"only nbgrader items have deadlines; remove {bad!r} or set source = \"nbgrader\"",
                                bad)
            if self.max_raw is None:
                raise _fail("missing key 'max_raw' (a number)")
        if self.team_size is not None:
            if self.source != "team":
                raise _fail("only team items (source = \"team\") have a team size", "team_size")
            if self.team_size != int(self.team_size):
                raise _fail(f"expected a whole number of members, got {self.team_size:g}", "team_size")


class SpeedTestTable(_Table):
    opens: When


class SpeedTestsTable(_Table):
    part: PartName
    points: Points
    duration: Duration
    tests: dict[str, SpeedTestTable]
    title: str = "Speed tests"
    grace: Duration = 0.0
    drop_lowest: Points = 0
    counts_toward_minimum: bool = True

    def model_post_init(self, _: Any) -> None:
        if not self.tests:
            raise _fail("declare at least one test, e.g. [speedtests.tests.speedtest1]", "tests")
        if self.drop_lowest != int(self.drop_lowest) or self.drop_lowest >= len(self.tests):
            raise _fail(f"expected a whole number below the number of tests ({len(self.tests)}), "
                        f"got {self.drop_lowest:g}", "drop_lowest")


class BonusTable(_Table):
    part: PartName
    cap: Points
    title: str | None = None
    max_raw: Points | None = None  # default: 5 × max(cap, 1)
    counts_toward_minimum: bool = False


class FinalTable(_Table):
    cap: Points
    round_to: Step = 0.1
    rounding: Literal["half_up", "down", "none"] = "half_up"
    min_final: Points | None = None
    require_receipt: bool = True


class PolicyFile(_Table):
    course: CourseTable
    parts: dict[str, PartTable]
    items: dict[str, ItemTable]
    final: FinalTable
    late: dict[str, LateTable] = {}
    speedtests: SpeedTestsTable | None = None
    bonus: dict[str, BonusTable] = {}


def cross_checks(f: PolicyFile) -> list[tuple[tuple[str, ...], str]]:
    """Rules between tables: unique names, and each part's points equal to what its items add up to."""
    out: list[tuple[tuple[str, ...], str]] = []
    if not f.parts:
        out.append((("parts",), "declare at least one part, e.g. [parts.lab] points = 5"))
    tests = set(f.speedtests.tests) if f.speedtests else set()
    out += [(("speedtests", "tests", t), f"{t!r} is also declared under [items]; name it once")
            for t in sorted(tests & set(f.items))]
    if f.speedtests and "speedtests" in f.items:
        out.append((("items", "speedtests"), "the name 'speedtests' is taken by [speedtests]"))
    out += [(("bonus", b), f"{b!r} is also an item name; give the bonus its own name")
            for b in f.bonus if b in f.items or b in tests]
    for pname, part in f.parts.items():
        members = [f"{n}={i.points:g}" for n, i in f.items.items() if i.part == pname]
        got = sum(i.points for i in f.items.values() if i.part == pname)
        if f.speedtests and f.speedtests.part == pname:
            got += f.speedtests.points
            members.append(f"speedtests={f.speedtests.points:g}")
        if not math.isclose(got, part.points, abs_tol=1e-9):
            why = (f"declares {part.points:g} points but its items add up to {got:g} "
                   f"({', '.join(members) or 'no items'}); make them agree")
            out.append((("parts", pname, "points"), why))
    return out


def _unwrap(t: Any) -> Any:
    if get_origin(t) in (Union, UnionType):  # `X | None`: the declared X
        return next(a for a in get_args(t) if a is not type(None))
    return t


def _node(loc: tuple[str, ...]) -> Any:
    """The declared type at a location of the file (to list the keys a table allows)."""
    t: Any = PolicyFile
    for part in loc:
        t = _unwrap(t)
        if isinstance(t, type) and issubclass(t, BaseModel):
            t = t.model_fields[part].annotation
        elif get_origin(t) is dict:
            t = get_args(t)[1]
    return _unwrap(t)


def describe(err: ErrorDetails) -> tuple[tuple[str, ...], str]:
    """A pydantic error -> (TOML key path, our message)."""
    loc = tuple(str(p) for p in err["loc"])
    kind, got = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "policy":
        return loc + ((ctx["key"],) if ctx.get("key") else ()), ctx["why"]
    if kind == "missing":
        table = ".".join(loc[:-1])
        return loc[:-1], f"missing key {loc[-1]!r}; add `{loc[-1]} = ...` to [{table}]"
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(_node(loc[:-1]).model_fields))
        return loc, f"unknown key {loc[-1]!r}; allowed here: {allowed}"
    if kind == "literal_error":
        return loc, f"expected one of {ctx['expected'].replace(' or ', ', ')}, got {got!r}"
    what = {"float_type": "a number", "finite_number": "a finite number", "string_type": "a string",
            "bool_type": "true or false", "model_type": f"a table [{'.'.join(loc)}]", "dict_type": "a table",
            "datetime_type": "a date-time such as 2022-03-16T23:59:00+02:00"}.get(kind)
    return loc, f"expected {what}, got {got!r}" if what else err["msg"]
