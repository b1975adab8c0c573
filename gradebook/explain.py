"""`course explain STUDENT`: the grade as steps a student can follow, from the computed row."""
from __future__ import annotations

import math

import pandas as pd

from gradebook.compute import shown_below
from gradebook.policy import Policy, format_duration
from gradebook.schemas import RecordError


def _n(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def _when(ts) -> str:
    return "no receipt" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S %Z")


def explain(policy: Policy, grades: pd.DataFrame, student: str) -> list[str]:
    if student not in grades.index:
        raise RecordError(f"unknown student {student!r}; `course grades` lists the roster")
    r = grades.loc[student]
    name = f"{r['first_name']} {r['last_name']}".strip()
    lines = [f"{student}" + (f" ({name})" if name else "") + f" — {policy.course}"]
    for item in policy.items.values():
        p = f"{item.name}."
        head = f"{item.title}: "
        status = r[p + "status"]
        if item.source == "nbgrader":
            if status == "missing":
                lines.append(head + f"no submission → 0 of {item.points:g}")
                continue
            if status == "not graded":
                lines.append(head + f"received {_when(r[p + 'received'])} but not graded yet → 0")
                continue
            raw = f"{_n(r[p + 'raw'])} of {_n(r[p + 'max'])} raw"
            if status == "no receipt":
                lines.append(head + f"{raw}, but no server receipt (collect it with `course collect`) → 0")
                continue
            ext = f" (extension {format_duration(r[p + 'extension_s'])})" if r[p + "extension_s"] else ""
            due = item.due.astimezone(policy.timezone).strftime("%Y-%m-%d %H:%M %Z")
            when = f"received {_when(r[p + 'received'])}, due {due}{ext}"
            if status == "past cutoff":
                lines.append(head + f"{raw}; {when}: {format_duration(r[p + 'late_s'], up=True)} late, past the hard "
                             f"cutoff of {format_duration(item.late.hard_cutoff_s)} → 0")
            elif status == "late":
                lines.append(head + f"{raw}; {when}: {format_duration(r[p + 'late_s'], up=True)} late = "
                             f"{int(r[p + 'late_units'])} started {item.late.per}(s), −{r[p + 'penalty']:.0%} → "
                             f"{r[p + 'points']:.4g} of {item.points:g}")
            elif status == "within grace":
                lines.append(head + f"{raw}; {when}: {format_duration(r[p + 'late_s'], up=True)} late, within the grace "
                             f"period → {r[p + 'points']:.4g} of {item.points:g}")
            else:
                lines.append(head + f"{raw}; {when}: on time → {r[p + 'points']:.4g} of {item.points:g}")
        else:
            src = {"individual override": "individual score", "team score": f"team {r.get(p + 'team', '')} score"
                   }.get(status, status)
            if math.isnan(r[p + "raw"]):
                lines.append(head + f"{src} — no score recorded → 0 of {item.points:g}")
            else:
                lines.append(head + f"{src} {_n(r[p + 'raw'])} of {_n(r[p + 'max'])} → "
                             f"{r[p + 'points']:.4g} of {item.points:g}")
    st = policy.speedtests
    if st is not None:
        for t in st.tests:
            p = f"{t.name}."
            status = r[p + "status"]
            extra = f" incl. {format_duration(r[p + 'extra_s'])} extra time" if r[p + "extra_s"] else ""
            if status == "missing":
                lines.append(f"{t.name}: no answer → 0")
            elif status == "before window":
                early = (t.opens - pd.Timestamp(r[p + "received"])).total_seconds()
                lines.append(f"{t.name}: received {_when(r[p + 'received'])}, {format_duration(early, up=True)} "
                             f"before the test opened at {_when(t.opens.astimezone(policy.timezone))}, so it is not "
                             "an answer to the test → 0")
            elif status == "after window":
                late = (pd.Timestamp(r[p + "received"]) - pd.Timestamp(r[p + "window_end"])).total_seconds()
                lines.append(f"{t.name}: received {_when(r[p + 'received'])}, {format_duration(late, up=True)} after the "
                             f"window closed at {_when(r[p + 'window_end'])}{extra} → 0")
            elif status in ("no receipt", "not graded"):
                lines.append(f"{t.name}: {status} → 0")
            else:
                lines.append(f"{t.name}: {_n(r[p + 'raw'])} of {_n(r[p + 'max'])} raw, received "
                             f"{_when(r[p + 'received'])} (window to {_when(r[p + 'window_end'])}{extra}) → "
                             f"{r[p + 'fraction']:.0%}")
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
