"""`course speedtest open|status|close TEST`: a speed test in a lecture, its window on the server's clock.

open records the window (opening time now, duration and grace) in the course database before releasing;
a second open (after a crash) keeps the recorded window, so nobody's window grows or shrinks. `course grades`
uses the recorded window instead of course.toml's `opens`. The first speedtest command after the window
(the last accommodation included) closes it: collect with server receipt times, grade, list who answered
in time, late (0, with the reason) or not at all.
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

from sqlalchemy import insert, update

from course_errors import UserError
from gradebook import course_db
from gradebook.times import format_duration


@dataclass(frozen=True)
class Window:
    test: str
    opened_at: dt.datetime  # UTC
    duration_s: float
    grace_s: float
    closed_at: dt.datetime | None
    extra_s: dict[str, float]  # accommodations: student -> extra seconds

    @property
    def closes(self) -> dt.datetime:
        return self.opened_at + dt.timedelta(seconds=self.duration_s)

    @property
    def accepts_until(self) -> dt.datetime:
        return self.closes + dt.timedelta(seconds=self.grace_s)

    def until(self, student: str) -> dt.datetime:
        return self.accepts_until + dt.timedelta(seconds=self.extra_s.get(student, 0.0))

    @property
    def last(self) -> dt.datetime:
        """When the last accommodated student's window ends: the test is over."""
        return self.accepts_until + dt.timedelta(seconds=max(self.extra_s.values(), default=0.0))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def speed_test(policy, test: str):
    st = policy.speedtests
    names = [t.name for t in st.tests] if st else []
    if test not in names:
        raise UserError(f"{test!r} is not a speed test of {policy.source} (speed tests: "
                        f"{', '.join(names) or 'none'}); add [speedtests.tests.{test}] there or check the name")
    return st


def accommodations(course, policy, test: str) -> dict[str, float]:
    from gradebook import records

    acc = records.load(course, policy).accommodations
    out: dict[str, float] = {}
    for item in ("*", test):  # a test's own row overrides the '*' row
        rows = acc[acc["item"] == item]
        out.update(dict(zip(rows["student_id"], rows["extra_s"].astype(float), strict=True)))
    return {s: x for s, x in out.items() if x > 0}


def window(course, policy, test: str) -> Window | None:
    with course_db.reading(course.db_url) as conn:
        row = course_db.read_windows(conn).get(test)
    if row is None:
        return None
    return Window(test, row["opened_at"], row["duration_s"], row["grace_s"], row["closed_at"],
                  accommodations(course, policy, test))


def record_open(course, test: str, duration_s: float, grace_s: float) -> bool:
    """Record the window unless one is recorded already (then it is kept as it is). True if recorded now."""
    at = now().replace(tzinfo=None)
    with course_db.writing(course.db_url, course.course_id) as conn:  # under the write lock: one opener wins
        if test in course_db.read_windows(conn):
            return False
        conn.execute(insert(course_db.speedtest_window),
                     {"test": test, "opened_at": at, "duration_s": duration_s, "grace_s": grace_s})
    return True


def record_close(course, test: str) -> None:
    t = course_db.speedtest_window
    with course_db.writing(course.db_url, course.course_id) as conn:
        conn.execute(update(t).where(t.c.test == test, t.c.closed_at.is_(None))
                     .values(closed_at=now().replace(tzinfo=None)))


def required(course, policy, test: str) -> Window:
    w = window(course, policy, test)
    if w is None:
        raise UserError(f"{test} is not open: start it with `course speedtest open {test}`")
    return w


def open_test(course, policy, test: str, duration_s: float | None, console) -> Window:
    from lifecycle import release

    st = speed_test(policy, test)
    existing = window(course, policy, test)
    if existing is None:
        release.check_current(course, test, force=False)  # a stale release/ is refused before the clock starts
        release.exchange_classes()  # so that the release follows the recorded opening at once
        record_open(course, test, st.duration_s if duration_s is None else duration_s, st.grace_s)
    state, outbound = release.to_exchange(course, test, force=False)
    w = required(course, policy, test)
    tz = policy.timezone
    if existing is not None:
        console.print(f"{test} was opened at {w.opened_at.astimezone(tz):%H:%M:%S %Z}: its window is kept as "
                      "recorded" + ("" if duration_s is None or duration_s == w.duration_s else
                                    f" (--duration {format_duration(duration_s)} ignored)"))
    console.print(f"{test}: {'released to' if state != 'unchanged' else 'already in'} {outbound} "
                  f"for {release.audience(course, policy)}")
    show_window(w, tz, console)
    return w


def show_window(w: Window, tz, console) -> None:
    from rich.table import Table

    console.print(f"opened {w.opened_at.astimezone(tz):%Y-%m-%d %H:%M:%S %Z}; closes "
                  f"{w.closes.astimezone(tz):%H:%M:%S} ({format_duration(w.duration_s)}); answers accepted until "
                  f"{w.accepts_until.astimezone(tz):%H:%M:%S} (grace {format_duration(w.grace_s)})")
    if w.extra_s:
        table = Table(title="accommodations: extended time")
        for col in ("student", "extra", "accepted until"):
            table.add_column(col)
        for student, extra in sorted(w.extra_s.items()):
            table.add_row(student, format_duration(extra), f"{w.until(student).astimezone(tz):%H:%M:%S}")
        console.print(table)


def counts(course, test: str) -> tuple[int, int]:
    """(students who submitted, of them collected) by the exchange and the receipt log."""
    from lifecycle.status import submissions

    subs = submissions(course, test)
    return len(subs), int((subs["where"] == "collected").sum()) if len(subs) else 0


def _left(until: dt.datetime) -> str:
    s = (until - now()).total_seconds()
    return "over" if s <= 0 else format_duration(s, up=True)


def status_text(course, w: Window, tz) -> str:
    submitted, _ = counts(course, w.test)
    text = (f"{w.test}: {submitted} submitted; fetched: not recorded by the exchange\n"
            f"time left: {_left(w.closes)} to {w.closes.astimezone(tz):%H:%M:%S}, "
            f"answers accepted {_left(w.accepts_until)} more (grace)")
    if w.extra_s:
        text += f", last accommodation {_left(w.last)} (to {w.last.astimezone(tz):%H:%M:%S})"
    from lifecycle import warm

    grader = warm.state(course, w.test)
    if grader:
        text += f"\nwarm grader: {grader}"
    return text


def status(course, policy, test: str, once: bool, console, args) -> None:
    speed_test(policy, test)
    w = required(course, policy, test)
    tz = policy.timezone
    if now() >= w.last:
        if w.closed_at is None:  # the first command after the window closes the test
            close_now(course, policy, test, console, args)
        else:
            console.print(status_text(course, w, tz) + f"\n{test} was closed at {w.closed_at.astimezone(tz):%H:%M:%S}; "
                          f"`course speedtest close {test}` collects and grades again")
        return
    if once or not console.is_terminal:
        console.print(status_text(course, w, tz))
        return
    from rich.live import Live
    from rich.text import Text

    with Live(Text(status_text(course, w, tz)), console=console, refresh_per_second=2) as live:
        while now() < w.last:
            live.update(Text(status_text(course, w, tz)))
            sleep_until(min(w.last, now() + dt.timedelta(seconds=1)))
    close_now(course, policy, test, console, args)


def sleep_until(when: dt.datetime) -> None:
    import time

    time.sleep(max(0.0, (when - now()).total_seconds()))


def close_now(course, policy, test: str, console, args) -> None:
    """close(), by the test's warm grader when one serves it (lifecycle.warm)."""
    from lifecycle import warm

    rc = warm.delegate(course, test, args)
    if rc is None:
        close(course, policy, test, console, args)
    elif rc:
        raise SystemExit(rc)


def close(course, policy, test: str, console, args) -> None:
    from lifecycle.grading import collect_and_grade, show_results

    speed_test(policy, test)
    w = required(course, policy, test)
    tz = policy.timezone
    if now() < w.last:
        console.print(f"warning: {test}'s window is still open until {w.last.astimezone(tz):%H:%M:%S %Z}: answers "
                      "arriving later are collected by the next close", style="yellow")
    summary = collect_and_grade(course, test, args)
    record_close(course, test)
    show_results(course, policy, test, console)
    console.print(f"{test}: graded {summary.graded} submission(s) ({summary.unchanged} unchanged) in "
                  f"{summary.seconds:.1f} s", highlight=False)
    if summary.infrastructure:
        print(f"{test}: {summary.infrastructure} submission(s) hit an infrastructure error; run close again",
              file=sys.stderr)
