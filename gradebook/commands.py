"""Handlers of the gradebook subcommands: I/O at the edges around the pure compute()."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gradebook.policy import Policy, format_duration, load_policy


def _course():
    from course_dir import load

    return load()


def _policy(args: argparse.Namespace, course) -> Policy:
    return load_policy(Path(args.policy) if getattr(args, "policy", None) else course.policy_file)


def _grades(args: argparse.Namespace):
    from gradebook import compute, records

    course = _course()
    policy = _policy(args, course)
    rec = records.load(course, policy)
    policy = records.with_recorded_windows(policy, rec.windows)
    if rec.roster.empty:
        print("warning: no students: import a roster with `course import roster FILE` (or add students to the "
              "nbgrader gradebook)", file=sys.stderr)
    # Scores of students who are not on the roster are not graded; say so instead of dropping them silently.
    stray = sorted(set(rec.scores["student_id"]) - set(rec.roster["student_id"]))
    if stray:
        print(f"warning: {len(stray)} student(s) in the nbgrader gradebook are not on the roster and are not "
              f"graded: {', '.join(stray[:10])}{' ...' if len(stray) > 10 else ''}", file=sys.stderr)
    return course, policy, compute.compute(policy, rec)


def grades(args: argparse.Namespace) -> int:
    from gradebook import export

    _, policy, table = _grades(args)
    out = export.full_table(table) if args.format == "full" else export.moodle_table(policy, table, args.moodle_id)
    export.write_csv(out, Path(args.to))
    print(f"{len(table)} students, {int(table['passed'].sum())} passed -> {args.to}")
    return 0


def explain(args: argparse.Namespace) -> int:
    from gradebook.explain import explain as lines

    _, policy, table = _grades(args)
    print("\n".join(lines(policy, table, args.student)))
    return 0


def report(args: argparse.Namespace) -> int:
    import pandas as pd

    from gradebook import course_db
    from gradebook import report as rep

    course, policy, table = _grades(args)
    with course_db.reading(course.db_url) as conn:
        log = course_db.read_receipts(conn)
    rejected = log[log["status"] != "accepted"]
    rejected = rejected.assign(received_at=rejected["received_at"].map(pd.Timestamp.isoformat))
    rep.write(policy, table, Path(args.to), rejected, rep.similarity_results(course.data))
    print(f"report of {len(table)} students -> {args.to}")
    return 0


def import_csv(args: argparse.Namespace) -> int:
    from gradebook import audit, schemas

    course = _course()
    policy = _policy(args, course)
    tables = audit.current_tables(course.db_url)
    path = Path(args.file)
    rows = schemas.read_csv(path, args.kind, policy, tables)
    removed = schemas.removed_keys(path, args.kind, rows, tables.get(args.kind), args.replace)
    events = audit.import_rows(course.db_url, course.course_id, args.kind, rows, str(path.resolve()))
    changed = sum(e["action"] == "set" for e in events)
    deleted = sum(e["action"] == "delete" for e in events)
    if removed:
        print(f"removed {len(removed)} row(s): {', '.join(k.replace('|', '/') for k in removed)}")
    print(f"{args.kind}: {len(rows)} rows from {path}; {changed} values changed, {deleted} rows removed "
          "(audit log: `course audit`)")
    return 0


def audit_log(args: argparse.Namespace) -> int:
    from gradebook import audit

    log = audit.read_log(_course().db_url)
    if args.student:
        log = log[log["key"].str.split("|").str[0] == args.student]
    print(log.to_string(index=False) if len(log) else "no audit events")
    return 0


def collect(args: argparse.Namespace) -> int:
    from gradebook.collect import collect as run
    from gradebook.term import collect_warnings

    course = _course()
    receipts = run(course, args.assignment, check_owner=not args.no_check_owner)
    for r in receipts:
        mark = "ok      " if r.status == "accepted" else "REJECTED"
        print(f"{mark} {r.student_id:20} {r.received_at}  {r.reason}")
    rejected = sum(r.status != "accepted" for r in receipts)
    print(f"{args.assignment}: {len(receipts)} new submission(s), {rejected} rejected", file=sys.stderr)
    for line in collect_warnings(course.policy_file, args.assignment,
                                 [r.received_at for r in receipts if r.status == "accepted"]):
        print(f"warning: {line}", file=sys.stderr)
    return 1 if rejected else 0


def policy(args: argparse.Namespace) -> int:
    course = _course()
    p = _policy(args, course)
    tz = p.timezone
    print(f"{p.course} ({tz.key}); final = min(total, {p.final.cap:g}) rounded {p.final.rounding} to "
          f"{p.final.round_to:g}; maximum {p.max_total():g} with bonus")
    for part in p.parts.values():
        print(f"{part.title}: {part.points:g} points, minimum {part.minimum:.0%}")
        for i in p.items.values():
            if i.part != part.name:
                continue
            due = f", due {i.due.astimezone(tz):%Y-%m-%d %H:%M %Z}" if i.due else ""
            late = ""
            if i.late:
                r = i.late
                late = (f", late: -{r.penalty:.0%}/started {r.per}, grace {format_duration(r.grace_s)}, max "
                        f"-{r.max_penalty:.0%}" + (f", 0 after {format_duration(r.hard_cutoff_s)}"
                                                  if r.hard_cutoff_s is not None else ""))
            print(f"  {i.name}: {i.points:g} ({i.source}){due}{late}")
        if p.speedtests and p.speedtests.part == part.name:
            s = p.speedtests
            print(f"  speedtests: {s.points:g} together, {format_duration(s.duration_s)} + "
                  f"{format_duration(s.grace_s)} grace, drop lowest {s.drop_lowest}")
            for t in s.tests:
                print(f"    {t.name}: opens {t.opens.astimezone(tz):%Y-%m-%d %H:%M %Z}")
        for b in p.bonuses.values():
            if b.part == part.name:
                print(f"  bonus {b.name}: max {b.cap:g}")
    return 0
