"""`course explain STUDENT`: the grade as steps a student can follow, from the computed row."""
from __future__ import annotations

import math

import pandas as pd

from gradebook.compute import shown_below
from gradebook.policy import Item, Policy, SpeedTest, format_duration
from gradebook.schemas import RecordError


def _n(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _when(ts) -> str:
    return "no receipt" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S %Z")


def _nbgrader_line(policy: Policy, item: Item, r: pd.Series) -> str:
    p = f"{item.name}."
    head = f"{item.title}: "
    status = r[p + "status"]
    if status == "missing":
        return head + f"no submission → 0 of {item.points:g}"
    if status == "not graded":
        return head + f"received {_when(r[p + 'received'])} but not graded yet → 0"
    raw = f"{_n(r[p + 'raw'])} of {_n(r[p + 'max'])} raw"
    if status == "no receipt":
        return head + f"{raw}, but no server receipt (collect it with `course collect`) → 0"
    assert item.due is not None  # the policy loader requires a due date on every nbgrader item
    ext = f" (extension {format_duration(r[p + 'extension_s'])})" if r[p + "extension_s"] else ""
    due = item.due.astimezone(policy.timezone).strftime("%Y-%m-%d %H:%M %Z")
    when = f"received {_when(r[p + 'received'])}, due {due}{ext}"
    points = f"{r[p + 'points']:.4g} of {item.points:g}"
    if status == "on time":
        return head + f"{raw}; {when}: on time → {points}"
    late = format_duration(r[p + "late_s"], up=True)
    if status == "past cutoff":
        assert item.late is not None and item.late.hard_cutoff_s is not None  # "past cutoff" needs a cutoff
        return head + (f"{raw}; {when}: {late} late, past the hard "
                       f"cutoff of {format_duration(item.late.hard_cutoff_s)} → 0")
    if status == "late":
        assert item.late is not None  # "late" needs a late rule
        return head + (f"{raw}; {when}: {late} late = {int(r[p + 'late_units'])} started {item.late.per}(s), "
                       f"−{r[p + 'penalty']:.0%} → {points}")
    return head + f"{raw}; {when}: {late} late, within the grace period → {points}"  # "within grace"


def _manual_line(item: Item, r: pd.Series) -> str:
    p = f"{item.name}."
    status = r[p + "status"]
    src = {"individual override": "individual score", "team score": f"team {r.get(p + 'team', '')} score"
           }.get(status, status)
    if math.isnan(r[p + "raw"]):
        return f"{item.title}: {src} — no score recorded → 0 of {item.points:g}"
    return (f"{item.title}: {src} {_n(r[p + 'raw'])} of {_n(r[p + 'max'])} → "
            f"{r[p + 'points']:.4g} of {item.points:g}")


def _speedtest_line(policy: Policy, t: SpeedTest, r: pd.Series) -> str:
    p = f"{t.name}."
    status = r[p + "status"]
    extra = f" incl. {format_duration(r[p + 'extra_s'])} extra time" if r[p + "extra_s"] else ""
    if status == "missing":
        return f"{t.name}: no answer → 0"
    if status == "before window":
        early = (t.opens - pd.Timestamp(r[p + "received"])).total_seconds()
        return (f"{t.name}: received {_when(r[p + 'received'])}, {format_duration(early, up=True)} "
                f"before the test opened at {_when(t.opens.astimezone(policy.timezone))}, so it is not "
                "an answer to the test → 0")
    if status == "after window":
        late = (pd.Timestamp(r[p + "received"]) - pd.Timestamp(r[p + "window_end"])).total_seconds()
        return (f"{t.name}: received {_when(r[p + 'received'])}, {format_duration(late, up=True)} after the "
                f"window closed at {_when(r[p + 'window_end'])}{extra} → 0")
    if status in ("no receipt", "not graded"):
        return f"{t.name}: {status} → 0"
    return (f"{t.name}: {_n(r[p + 'raw'])} of {_n(r[p + 'max'])} raw, received "
            f"{_when(r[p + 'received'])} (window to {_when(r[p + 'window_end'])}{extra}) → "
            f"{r[p + 'fraction']:.0%}")


def explain(policy: Policy, grades: pd.DataFrame, student: str) -> list[str]:
    if student not in grades.index:
        raise RecordError(f"unknown student {student!r}; `course grades` lists the roster")
    r = grades.loc[student]
    name = f"{r['first_name']} {r['last_name']}".strip()
    lines = [f"{student}" + (f" ({name})" if name else "") + f" — {policy.course}"]
    lines += [_nbgrader_line(policy, item, r) if item.source == "nbgrader" else _manual_line(item, r)
              for item in policy.items.values()]
    st = policy.speedtests
    if st is not None:
        lines += [_speedtest_line(policy, t, r) for t in st.tests]
        drop = f", lowest {st.drop_lowest} dropped" if st.drop_lowest else ""
        lines.append(f"{st.title}: mean of {st.counted} test(s){drop} × {st.points:g} → "
                     f"{r['speedtests.points']:.4g} of {st.points:g}")
    for b in policy.bonuses.values():
        cap = f", capped at {b.cap:g}" if r[f"{b.name}.capped"] else f" (max {b.cap:g})"
        lines.append(f"[bonus] {b.title}: {_n(r[f'{b.name}.raw'])}{cap} → {r[f'{b.name}.points']:.4g}")
    for part in policy.parts.values():
        q = f"part.{part.name}."
        met = r[q + "minimum_met"]
        counted = f"{r[q + 'for_minimum']:.4g}" if met else shown_below([r[q + "for_minimum"]], r[q + "required"])[0]
        lines.append(f"{part.title}: {r[q + 'points']:.4g} of {part.points:g}; counted for the minimum {counted}, "
                     f"required {r[q + 'required']:g} ({part.minimum:.0%}) → {'met' if met else 'NOT met'}")
    f = policy.final
    cap = f", capped at {f.cap:g}" if r["total"] > f.cap else ""
    rnd = {"half_up": f"rounded half up to {f.round_to:g}", "down": f"rounded down to {f.round_to:g}",
           "none": "not rounded"}[f.rounding]
    lines.append(f"Total {r['total']:.4g}{cap}, {rnd} → final grade {r['final']:g}")
    lines.append(("PASSED: " if r["passed"] else "FAILED: ") + str(r["reasons"]))
    return lines
