"""Subcommands of `course` for grades; argparse only here (handlers load lazily from gradebook.commands)."""
from __future__ import annotations

import argparse

H = "gradebook.commands:"


def register(subparsers: argparse._SubParsersAction) -> None:
    def policy_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--policy", help="policy file (default: course.toml at the course root)")

    p = subparsers.add_parser("grades", help="compute every student's grade from course.toml and export a CSV",
                              description="One row per roster student (also those who submitted nothing).")
    p.add_argument("--to", required=True, help="output CSV file")
    p.add_argument("--format", choices=("full", "moodle"), default="full",
                   help="full: every intermediate number (default); moodle: Moodle's grade-import layout")
    p.add_argument("--moodle-id", choices=("email", "idnumber", "username"), default="email",
                   help="identifier column of the Moodle layout (default: email)")
    policy_arg(p)
    p.set_defaults(handler=H + "grades")

    p = subparsers.add_parser("explain", help="show step by step why a student has their grade")
    p.add_argument("student", help="student id")
    policy_arg(p)
    p.set_defaults(handler=H + "explain")

    p = subparsers.add_parser("report", help="write a self-contained HTML grade report with plots")
    p.add_argument("--to", required=True, help="output HTML file")
    policy_arg(p)
    p.set_defaults(handler=H + "report")

    p = subparsers.add_parser(
        "import", help="import a CSV of records (roster, scores, teams, ...) into the audited record store",
        description="Validates the whole file first; a re-import appends one audit event per changed value.")
    p.add_argument("kind", choices=("roster", "scores", "teams", "team_scores", "extensions", "accommodations"))
    p.add_argument("file", help="CSV file with a header row")
    p.add_argument("--replace", action="store_true",
                   help="let the file replace the whole table: rows it lacks are removed (and listed)")
    policy_arg(p)
    p.set_defaults(handler=H + "import_csv")

    p = subparsers.add_parser("audit", help="print the audit log of imported records")
    p.add_argument("--student", help="only events about this student")
    p.set_defaults(handler=H + "audit_log")

    p = subparsers.add_parser(
        "collect", help="collect submissions from the exchange with server receipt times and owner checks")
    p.add_argument("assignment")
    p.add_argument("--no-check-owner", action="store_true",
                   help="accept files owned by any uid (only for exchanges where all students share one uid)")
    p.set_defaults(handler=H + "collect")

    p = subparsers.add_parser(
        "term", help="set every date of course.toml for a new term from its first week (lecture plan)",
        description="Release, due and speed-test dates move together by whole days: same week of the plan, "
                    "weekday and time of day, the course zone's UTC offset on the new date. Comments are kept; "
                    "the result is validated before it is written.")
    p.add_argument("--first-week", required=True, metavar="YYYY-MM-DD",
                   help="the first lecture day of week 1 (the weekday of the plan's week 1 in course.toml)")
    p.add_argument("--dry-run", action="store_true", help="print the old -> new table, write nothing")
    policy_arg(p)
    p.set_defaults(handler="gradebook.term:command")

    p = subparsers.add_parser("policy", help="validate course.toml and print its point scheme")
    policy_arg(p)
    p.set_defaults(handler=H + "policy")
