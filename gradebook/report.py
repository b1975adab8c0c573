"""`course report`: one self-contained HTML page (jinja2, inline SVG plots from matplotlib)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from course_svg import histogram_svg
from gradebook.policy import Policy


def _svg_hist(values: pd.Series, title: str, top: float) -> str:
    return histogram_svg(values.dropna().to_numpy(), title=title, xlabel="points", ylabel="students", bins=20,
                         value_range=(0, max(top, 1e-9)), figsize=(4.2, 2.6))


def similarity_results(data: Path) -> list[dict]:
    """Summaries that `course similarity` left in <data>/similarity/ (flagged pairs, path of its report)."""
    import json

    out = []
    for path in sorted(Path(data, "similarity").glob("*.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            summary["report_uri"] = Path(summary["report"]).as_uri()
            out.append(summary)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.append({"assignment": path.stem, "error": f"{path}: unreadable ({exc}); run course similarity "
                        f"{path.stem} again"})
    return out


def build(policy: Policy, grades: pd.DataFrame, rejected: pd.DataFrame | None = None,
          similarity: list[dict] | None = None) -> str:
    """`rejected`: receipt-log rows of submissions refused by `course collect` (foreign owner);
    `similarity`: summaries of `course similarity` runs (similarity_results)."""
    import jinja2

    plots = []
    for item in policy.items.values():
        plots.append(_svg_hist(grades[f"{item.name}.points"], item.title, item.points))
    if policy.speedtests:
        plots.append(_svg_hist(grades["speedtests.points"], policy.speedtests.title, policy.speedtests.points))
    for b in policy.bonuses.values():
        plots.append(_svg_hist(grades[f"{b.name}.points"], f"Bonus: {b.title}", b.cap))
    plots.append(_svg_hist(grades["final"], "Final grade", policy.final.cap))

    parts = [{"title": p.title, "met": int(grades[f"part.{p.name}.minimum_met"].sum()),
              "not_met": int((~grades[f"part.{p.name}.minimum_met"]).sum())} for p in policy.parts.values()]
    statuses = ["on time", "within grace", "late", "past cutoff", "no receipt", "not graded", "missing"]
    late = [{"title": i.title, "counts": grades[f"{i.name}.status"].value_counts().reindex(statuses, fill_value=0)
             .to_dict()} for i in policy.items.values() if i.source == "nbgrader"]
    st_status = ["in window", "before window", "after window", "no receipt", "not graded", "missing"]
    speed = [{"title": t.name, "counts": grades[f"{t.name}.status"].value_counts().reindex(st_status, fill_value=0)
              .to_dict()} for t in (policy.speedtests.tests if policy.speedtests else ())]
    env = jinja2.Environment(loader=jinja2.PackageLoader("gradebook", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(
        course=policy.course, generated=dt.datetime.now(policy.timezone).strftime("%Y-%m-%d %H:%M %Z"),
        students=len(grades), passed=int(grades["passed"].sum()), failed=int((~grades["passed"]).sum()),
        mean=float(grades["final"].mean()) if len(grades) else 0.0, plots=plots, parts=parts,
        statuses=statuses, late=late, st_status=st_status, speed=speed,
        rejected=[] if rejected is None else rejected.to_dict("records"), similarity=similarity or [])


def write(policy: Policy, grades: pd.DataFrame, to: Path, rejected: pd.DataFrame | None = None,
          similarity: list[dict] | None = None) -> None:
    from gradebook.export import check_target

    to = Path(to)
    check_target(to)
    html = build(policy, grades, rejected, similarity)
    tmp = to.with_name(f".{to.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(to)
