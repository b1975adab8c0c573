"""Subcommands `course release`, `course status` and `course speedtest`; argparse only here (handlers load
lazily from lifecycle.commands)."""
from __future__ import annotations

import argparse

H = "lifecycle.commands:"


def _grading_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-check-owner", action="store_true",
                   help="accept files owned by any uid (only for exchanges where all students share one uid)")
    p.add_argument("--no-sandbox", action="store_true", help="grade without the kernel sandbox")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: one per core)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "release", help="generate from source/, check that release/ is current, release to the exchange",
        description="A release/ that differs from what source/ generates is refused (the stale file is named); "
                    "--force regenerates it and replaces a different version already in the exchange.")
    p.add_argument("assignment")
    p.add_argument("--force", action="store_true", help="regenerate release/ and replace the exchange's copy")
    p.set_defaults(handler=H + "release")

    p = subparsers.add_parser("status", help="who submitted and when (server clock), who is late, who is graded")
    p.add_argument("assignment")
    p.set_defaults(handler=H + "status")

    p = subparsers.add_parser("speedtest", help="run a speed test in a lecture: open, status, close")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    o = sub.add_parser("open", help="release the test and start its window now (recorded on the server)")
    o.add_argument("test")
    o.add_argument("--duration", help="window length instead of course.toml's (e.g. 20s, for a demo or a test)")
    o.add_argument("--no-warm", action="store_true",
                   help="start no warm grader (by default one keeps the sandbox slots ready until close)")
    _grading_args(o)
    o.set_defaults(handler=H + "speedtest_open")
    w = sub.add_parser("warm", help="keep grading ready until the test is closed (started by open)")
    w.add_argument("test")
    w.add_argument("--workers", type=int, default=None, help="slots kept ready (default: one per core)")
    w.set_defaults(handler=H + "speedtest_warm")
    s = sub.add_parser("status", help="live: submitted so far and time left; closes the test once it is over")
    s.add_argument("test")
    s.add_argument("--once", action="store_true", help="print once instead of a live view")
    _grading_args(s)
    s.set_defaults(handler=H + "speedtest_status")
    c = sub.add_parser("close", help="collect (server receipt times), grade, list in time / late / missing")
    c.add_argument("test")
    _grading_args(c)
    c.set_defaults(handler=H + "speedtest_close")
