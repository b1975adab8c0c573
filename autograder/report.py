"""What `course autograde` tells the instructor: progress while grading, then one row per student (score,
max, late?, notes) and a summary line. Built from the writer's rows; the scheduler knows nothing of it."""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from rich.console import JustifyMethod
    from rich.progress import Progress as Bar


@dataclass
class StudentRow:
    student: str
    status: str  # "graded" | "unchanged" | "infrastructure"
    score: float | None = None
    max_score: float | None = None
    passed: bool = False  # every test full marks
    notes: list[str] = field(default_factory=list)
    received: dt.datetime | None = None  # server receipt time (naive UTC), if collect wrote one
    changes: list = field(default_factory=list)  # store.Change: scores written (or, dry run, that would be)
    written: bool = False
    problem: str = ""  # one line for the instructor: nothing stored, or a file not written


def row_from_result(result: dict[str, Any], status: str, received: dt.datetime | None) -> StudentRow:
    """Notes: the pipeline's own (restored cells, repaired files) and why a notebook was not graded."""
    tests = result.get("tests", [])
    invalid = [t["message"] for t in tests if t["status"] == "invalid_notebook" and t["message"]]
    return StudentRow(result["student"], status, score=result.get("score"), max_score=result.get("max_score"),
                      passed=all(t["score"] >= t["max_score"] for t in tests), received=received,
                      notes=list(dict.fromkeys([*invalid, *result.get("notes", [])])))


@dataclass
class Summary:
    rows: list[StudentRow] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, row: StudentRow) -> None:
        self.rows.append(row)

    def _count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def graded(self) -> int:
        return self._count("graded")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.status == "graded" and r.passed)

    @property
    def failed(self) -> int:
        return self.graded - self.passed

    @property
    def infrastructure(self) -> list[str]:
        """One line per problem: a job that failed after its retries, or a results file not written."""
        return [r.problem for r in self.rows if r.problem]

    @property
    def events(self) -> int:
        return sum(len(r.changes) for r in self.rows if r.written)

    @property
    def changed(self) -> dict[str, list]:
        return {r.student: r.changes for r in self.rows if r.changes}


class Progress:
    """A rich progress bar on a terminal, one plain line per submission otherwise, nothing when disabled."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        from rich.console import Console

        self.total, self.done, self.enabled = total, 0, enabled
        self.console = Console(stderr=True)
        self.bar: Bar | None = None

    def __enter__(self) -> Self:
        if self.enabled and self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            bar = Bar(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console)
            self.task = bar.add_task("grading", total=self.total)
            bar.start()
            self.bar = bar
        return self

    def advance(self, row: StudentRow) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.task)
        elif self.enabled:
            print(f"graded {self.done}/{self.total}: {row.student} {_score(row) or row.status}", file=sys.stderr,
                  flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _score(row: StudentRow) -> str:
    return "" if row.score is None else f"{row.score:g}/{row.max_score:g}"


def late_text(received: dt.datetime | None, due: dt.datetime | None) -> str:
    """'no', 'yes, 1 d 2 h' or '-' (no due date, or no receipt time). Extensions are applied by `course grades`."""
    if due is None or received is None:
        return "-"
    late = received.replace(tzinfo=dt.UTC) - due
    if late <= dt.timedelta(0):
        return "no"
    minutes = int(late.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    parts = [f"{days} d"] * bool(days) + [f"{rest // 60} h"] * bool(rest // 60) + [f"{rest % 60} min"] * (
        not days and bool(rest % 60))
    return "yes, " + (" ".join(parts) or "under 1 min")


def print_report(summary: Summary, assignment: str, dry_run: bool, sandbox: bool,
                 due: dt.datetime | None = None, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if dry_run and summary.changed:
        t = Table(title=f"dry run: scores of {assignment} that would change (nothing written)")
        for col in ("student", "notebook", "test", "old", "new"):
            t.add_column(col)
        for student, changes in sorted(summary.changed.items()):
            for c in changes:
                t.add_row(student, c.notebook, c.test_id, "-" if c.old is None else f"{c.old:g}", f"{c.new:g}")
        console.print(t)
    t = Table(title=f"autograde {assignment}" + ("" if sandbox else " (NO SANDBOX)") + (" dry run" if dry_run else ""))
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("student", "left"), ("score", "right"), ("max", "right"), ("late?", "left"), ("notes", "left"))
    for col, justify in columns:
        t.add_column(col, justify=justify, overflow="fold")
    for row in sorted(summary.rows, key=lambda r: r.student):
        notes = "; ".join(row.notes) or ("unchanged" if row.status == "unchanged" else "")
        if row.status == "infrastructure":
            notes = "not graded: infrastructure error (see below); run again to retry"
        t.add_row(row.student, "-" if row.score is None else f"{row.score:g}",
                  "-" if row.max_score is None else f"{row.max_score:g}", late_text(row.received, due), notes)
    console.print(t)
    console.print(summary_line(summary, assignment, dry_run), highlight=False)
    for line in summary.infrastructure:
        print(f"infrastructure error (nothing stored unless it says so; run again to retry): {line}",
              file=sys.stderr)


def summary_line(summary: Summary, assignment: str, dry_run: bool) -> str:
    s = summary
    what = "would change" if dry_run else "grade events"
    n = sum(len(c) for c in s.changed.values()) if dry_run else s.events
    return (f"autograde {assignment}: {s.graded} graded ({s.passed} full marks, {s.failed} not), "
            f"{s.unchanged} unchanged, {len(s.infrastructure)} infrastructure error(s), {n} {what}, "
            f"{s.seconds:.1f} s" + ("; nothing written (dry run)" if dry_run else ""))
