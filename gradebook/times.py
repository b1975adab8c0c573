"""Durations and course date-times as the policy file and the record CSVs write them."""
from __future__ import annotations

import datetime as dt
import math
import re
from zoneinfo import ZoneInfo

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


def format_duration(seconds: float, up: bool = False) -> str:
    """Seconds as '1 day 3 h 5 s'; `up` rounds a fraction of a second up, so that a lateness shown is never
    0 s or exactly a limit that it passed."""
    seconds = math.ceil(float(seconds) - 1e-6) if up else round(float(seconds))
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    parts = [f"{v} {u}" for v, u in ((d, "day" if d == 1 else "days"), (h, "h"), (m, "min"), (s, "s")) if v]
    return " ".join(parts) or "0 s"


def fmt_offset(off: dt.timedelta | None) -> str:
    s = int((off or dt.timedelta(0)).total_seconds())
    sign = "+" if s >= 0 else "-"
    hh, mm = divmod(abs(s) // 60, 60)
    return f"{sign}{hh:02d}:{mm:02d}"


def course_time(value: dt.datetime, tz: ZoneInfo | None) -> dt.datetime:
    """A date-time written with the course zone's UTC offset on that date -> UTC. Raises ValueError for a
    naive one or one whose offset is not the zone's then (+02:00 written after the switch to +03:00 would
    move the deadline by an hour)."""
    if value.tzinfo is None:
        example = f"{value.isoformat()}{fmt_offset(tz.utcoffset(value))} ({tz.key})" if tz else \
            f"{value.isoformat()}+02:00"
        raise ValueError(f"{value.isoformat()} has no time zone; write it with the course offset, e.g. {example}")
    if tz is not None:
        local = value.astimezone(tz)
        if local.utcoffset() != value.utcoffset():
            raise ValueError(f"{value.isoformat()} has offset {fmt_offset(value.utcoffset())} but {tz.key} is "
                             f"{fmt_offset(local.utcoffset())} on that date; write {local.isoformat()}")
    return value.astimezone(dt.UTC)
