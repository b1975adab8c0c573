"""Handlers of `course release`, `course status` and `course speedtest` (loaded only when they run)."""
from __future__ import annotations

import argparse

from course_errors import UserError


def _setup():
    from rich.console import Console

    from course_dir import load
    from gradebook.policy import load_policy

    course = load()
    return course, load_policy(course.policy_file), Console(highlight=False, soft_wrap=True)


def release(args: argparse.Namespace) -> int:
    from lifecycle.release import release as run

    course, policy, console = _setup()
    r = run(course, policy, args.assignment, args.force)
    how = {"current": "release/ is current", "created": "generated release/", "regenerated": "regenerated release/"}
    what = {"released": "released to", "unchanged": "already released, unchanged, in", "replaced": "replaced in"}
    console.print(f"{r.assignment}: {how[r.generated]}; {what[r.exchange]} {r.outbound} for {r.audience}")
    for w in r.warnings:
        console.print(f"warning: {w}", style="yellow")
    return 0


def status(args: argparse.Namespace) -> int:
    from lifecycle.status import show

    course, policy, console = _setup()
    show(course, policy, args.assignment, console)
    return 0


def _duration(text: str | None) -> float | None:
    from gradebook.times import parse_duration

    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UserError(f"--duration {text!r}: {exc}") from None
    if value <= 0:
        raise UserError(f"--duration {text!r}: a window needs a positive length, e.g. 5m or 20s")
    return value


def speedtest_open(args: argparse.Namespace) -> int:
    from lifecycle import speedtest as st

    duration = _duration(args.duration)
    course, policy, console = _setup()
    st.speed_test(policy, args.test)
    w = st.window(course, policy, args.test)
    if w is not None and w.closed_at is None and st.now() >= w.last:
        st.close_now(course, policy, args.test, console, args)  # the first command after the window closes it
        return 0
    if w is not None and w.closed_at is not None:
        raise UserError(f"{args.test} was opened at {w.opened_at:%Y-%m-%d %H:%M:%S} UTC and is closed; its window "
                        "is final (`course speedtest close` re-collects and re-grades)")
    st.open_test(course, policy, args.test, duration, console)
    from lifecycle import warm

    log = warm.start(course, args.test, args)
    if log is not None:
        console.print(f"{args.test}: a warm grader keeps the sandbox slots ready until close (log: {log})")
    return 0


def speedtest_warm(args: argparse.Namespace) -> int:
    from lifecycle import speedtest as st
    from lifecycle import warm

    course, policy, _console = _setup()
    st.speed_test(policy, args.test)
    return warm.serve(course, args.test, args.workers)


def speedtest_status(args: argparse.Namespace) -> int:
    from lifecycle import speedtest as st

    course, policy, console = _setup()
    st.status(course, policy, args.test, args.once, console, args)
    return 0


def speedtest_close(args: argparse.Namespace) -> int:
    from course_dir import load
    from lifecycle import warm

    rc = warm.delegate(load(), args.test, args)  # before the imports of a close: the warm grader has them
    if rc is not None:
        return rc
    from lifecycle import speedtest as st

    course, policy, console = _setup()
    st.close(course, policy, args.test, console, args)
    return 0
