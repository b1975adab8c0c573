"""A new term's dates, and warnings about dates that have already passed.

`course term --first-week DATE` moves every date of course.toml (releases, due dates, speed-test openings)
by whole days, so that each keeps its week of the lecture plan, its weekday and its time of day; the UTC
offset is the course zone's on the new date (summer time included). The week 1 the file's dates follow
is written in its header comment (`week 1 = YYYY-MM-DD`) and moves with them. The file is edited with
tomlkit so comments and layout stay, and the result is validated by the policy loader before it is written.

`date_warnings` is what release and collect commands print when a due date already lies in the past or a
speed test's window has closed (the dates of an earlier term, typically).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import tomlkit

from course_errors import UserError
from gradebook.policy import Policy, PolicyError, format_duration, load_policy, parse_policy

WEEK1 = re.compile(r"(week 1 = )(\d{4}-\d{2}-\d{2})")
FIX = "set this term's dates with `course term --first-week YYYY-MM-DD`"


@dataclass(frozen=True)
class Change:
    key: str  # dotted TOML key, e.g. items.assignment1.due
    old: dt.datetime
    new: dt.datetime


def _first_week(text: str, path: Path) -> dt.date:
    """The week 1 the file's dates follow, from its comment `week 1 = YYYY-MM-DD`."""
    found = {m.group(2) for line in text.splitlines() if line.lstrip().startswith("#")
             for m in WEEK1.finditer(line)}
    if len(found) != 1:
        why = "no" if not found else f"{len(found)} different"
        raise UserError(f"{path}: {why} `week 1 = YYYY-MM-DD` comment; write the date of week 1 of the lecture "
                        "plan that the file's dates follow in one comment of its header")
    return dt.date.fromisoformat(found.pop())


def _dates(table, prefix: tuple[str, ...] = ()):
    """(container, key, dotted path) of every offset date-time in the document, in file order."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _dates(value, prefix + (key,))
        elif isinstance(value, dt.datetime):
            yield table, key, ".".join(prefix + (key,))


def _moved(old: dt.datetime, days: int, tz: ZoneInfo, key: str) -> dt.datetime:
    """`old` moved by `days` calendar days in the course zone: same wall-clock time, the zone's offset then."""
    if old.tzinfo is None:
        raise UserError(f"[{key}] = {old.isoformat()} has no UTC offset; write it with the course's offset first")
    wall = old.astimezone(tz).replace(tzinfo=None) + dt.timedelta(days=days)
    local = wall.replace(tzinfo=tz)
    if local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise UserError(f"[{key}]: {wall:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks skip that hour); "
                        "move its time of day in course.toml, then run the command again")
    return local.replace(tzinfo=dt.timezone(local.utcoffset()))


def _rendered(item, new: dt.datetime):
    """A tomlkit date-time carrying the old value's comment and spacing."""
    out = tomlkit.item(new)
    out.trivia.indent, out.trivia.comment_ws = item.trivia.indent, item.trivia.comment_ws
    out.trivia.comment, out.trivia.trail = item.trivia.comment, item.trivia.trail
    return out


def plan_term(path: Path, first_week: dt.date) -> tuple[str, list[Change]]:
    """The new text of the policy file and its date changes; validated, nothing written."""
    text = path.read_text(encoding="utf-8")
    policy = load_policy(path)  # the current file must be valid: its zone and its dates are the input
    old_week1 = _first_week(text, path)
    if first_week.weekday() != old_week1.weekday():
        raise UserError(f"--first-week {first_week}: a {first_week:%A}, but the lecture plan's weeks start on a "
                        f"{old_week1:%A} (week 1 = {old_week1} in {path}); give the {old_week1:%A} of week 1")
    days = (first_week - old_week1).days
    doc = tomlkit.parse(text)
    changes = []
    for table, key, dotted in list(_dates(doc)):
        item = table[key]
        new = _moved(item, days, policy.timezone, dotted)
        changes.append(Change(dotted, dt.datetime.fromisoformat(item.isoformat()), new))
        table[key] = _rendered(item, new)
    new_text = "\n".join(WEEK1.sub(lambda m: m.group(1) + first_week.isoformat(), line)
                         if line.lstrip().startswith("#") else line for line in tomlkit.dumps(doc).split("\n"))
    try:
        parse_policy(tomllib.loads(new_text), new_text, path)
    except PolicyError as exc:
        raise PolicyError(f"the new dates would make an invalid policy, nothing written:\n{exc}") from None
    return new_text, changes


def write_text(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its mode and owner."""
    st = path.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _local(when: dt.datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z (%a)")


def change_table(changes: list[Change], tz: ZoneInfo) -> list[str]:
    width = max((len(c.key) for c in changes), default=3)
    rows = [f"{'key':{width}}  {'old':27}  new", f"{'-' * width}  {'-' * 27}  {'-' * 27}"]
    rows += [f"{c.key:{width}}  {c.old.isoformat():27}  {c.new.isoformat()}  {c.new.astimezone(tz):%a}"
             for c in changes]
    return rows


# --------------------------------------------------------------------------------------------------
# Warnings: dates that lie in the past
# --------------------------------------------------------------------------------------------------


def _ago(seconds: float) -> str:
    return format_duration(seconds - seconds % 3600 if seconds >= 86400 else seconds)


def date_warnings(policy: Policy, now: dt.datetime, names: list[str] | None = None, *, event: str = "now",
                  only_zero: bool = False) -> list[str]:
    """One line per named assignment whose due date lies before `now`, or speed test whose window has closed
    by `now` (all of them when `names` is None); empty when the dates are ahead. `only_zero`: only where what
    is received at `now` scores 0 (past the hard cutoff, window closed)."""
    tz, out = policy.timezone, []
    for item in policy.items.values():
        if item.due is None or (names is not None and item.name not in names) or item.due >= now:
            continue
        late, rule = (now - item.due).total_seconds(), item.late
        zero = rule is not None and rule.hard_cutoff_s is not None and late > rule.hard_cutoff_s
        if only_zero and not zero:
            continue
        then = (f"past the {format_duration(rule.hard_cutoff_s)} hard cutoff and score 0" if zero else
                "late (no late rule applies)" if rule is None else f"late: −{rule.penalty:.0%} per started {rule.per}")
        out.append(f"{item.name}: due {_local(item.due, tz)}, {_ago(late)} before {event} ({_local(now, tz)}); "
                   f"submissions received then are {then}; {FIX}")
    st = policy.speedtests
    for test in st.tests if st is not None else ():
        end = test.opens + dt.timedelta(seconds=st.duration_s + st.grace_s)
        if (names is not None and test.name not in names) or end >= now:
            continue
        out.append(f"{test.name}: its window {_local(test.opens, tz)} + {format_duration(st.duration_s + st.grace_s)}"
                   f" closed {_ago((now - end).total_seconds())} before {event} ({_local(now, tz)}); answers received "
                   f"then score 0 (without an accommodation that covers it); {FIX}")
    return out


def collect_warnings(policy_file: Path, assignment: str, received: list[str]) -> list[str]:
    """For `course collect`: warn when even the earliest of the newly accepted submissions (ISO receipt times)
    scores 0 by its date, which is what the dates of an earlier term do. A bad policy warns nothing here:
    `course grades` reports it."""
    if not received:
        return []
    try:
        policy = load_policy(policy_file)
    except UserError:
        return []
    first = min(dt.datetime.fromisoformat(r) for r in received)
    return date_warnings(policy, first, [assignment], event="the first submission collected", only_zero=True)


def command(args: argparse.Namespace) -> int:
    """`course term --first-week DATE [--dry-run]`."""
    try:
        first = dt.date.fromisoformat(args.first_week)
    except ValueError:
        raise UserError(f"--first-week {args.first_week!r}: not a date; write it as YYYY-MM-DD") from None
    if args.policy:
        path = Path(args.policy)
    else:
        from course_dir import load

        path = load().policy_file
    if not path.is_file():
        raise UserError(f"{path}: no course policy file; copy course.toml from the repository root")
    text, changes = plan_term(path, first)
    tz = load_policy(path).timezone
    print("\n".join(change_table(changes, tz)))
    if args.dry_run:
        print(f"dry run: {len(changes)} date(s) would change in {path}; nothing written")
        return 0
    write_text(path, text)
    print(f"{len(changes)} date(s) set in {path} (week 1 = {first})")
    for line in date_warnings(parse_policy(tomllib.loads(text), text, path), dt.datetime.now(dt.UTC)):
        print(f"warning: {line}")
    return 0
