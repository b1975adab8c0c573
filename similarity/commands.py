"""Handler of `course similarity`: check every argument first (one clear line, nothing written), then run."""
from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from course_errors import UserError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ArgumentError(UserError):
    """A bad argument of `course similarity`."""


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise ArgumentError(f"--threshold {text}: give a number above 0 and at most 1, e.g. 0.75 "
                            "(the share of fingerprints two submissions have in common)")
    return value


def _jobs(text: str | None) -> int:
    if text is None:
        return os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise ArgumentError(f"--jobs {text}: give a whole number of worker processes, 1 or more")
    return int(text)


def _target(text: str | None, default: Path) -> Path:
    if text is None:
        return default
    to = Path(text)
    if to.is_dir():
        raise ArgumentError(f"--to {to}: is a folder; give a file name such as {to / 'similarity.html'}")
    if not to.parent.is_dir():
        raise ArgumentError(f"--to {to}: folder {to.parent} does not exist; create it or write elsewhere")
    return to


def similarity(args: argparse.Namespace) -> int:
    import course_dir

    threshold, jobs = _threshold(args.threshold), _jobs(args.jobs)
    course = course_dir.load()
    name = args.assignment
    release = course.release / name
    if not _NAME.match(name) or not release.is_dir():
        known = sorted(p.name for p in course.release.iterdir() if p.is_dir()) if course.release.is_dir() else []
        raise ArgumentError(f"assignment {name!r}: not in {course.release}; released assignments: "
                            f"{', '.join(known) or 'none'}")
    out_dir = course.data / "similarity"
    html = _target(args.to, out_dir / f"{name}.html")

    from similarity import pipeline, report

    result = pipeline.run(release, course.submitted, name, threshold, jobs)
    report.print_table(result)
    if html.parent == out_dir:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    report.write(result, html, out_dir / f"{name}.json")
    print(f"{result.students} students, {result.pairs_compared} pairs compared, {len(result.pairs)} flagged, "
          f"{len(result.malformed)} notebooks skipped -> {html}")
    return 0
