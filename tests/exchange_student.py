"""A student's `nbgrader submit`, through nbgrader's own ExchangeSubmit, for tests that need a real exchange."""
from __future__ import annotations

import os
from pathlib import Path


def _listing(inbound: Path) -> set[Path] | None:
    try:
        return set(inbound.iterdir())
    except PermissionError:  # a real student's account: inbound is writable, never listable
        return None


def nbgrader_submit(exchange: Path, home: Path, course_id: str, student: str, assignment: str,
                    files: dict[str, bytes]) -> Path | None:
    """Write `files` into the student's assignment folder and submit it; returns the new inbound folder
    (None when this account cannot list inbound, as a real student cannot)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.submit import ExchangeSubmit
    from traitlets.config import Config

    work = home / student / assignment
    work.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (work / name).write_bytes(data)
    inbound = exchange / course_id / "inbound"
    before = _listing(inbound)
    c = Config()
    c.Exchange.root = str(exchange)
    c.Exchange.cache = str(home / student / ".cache")
    c.Exchange.assignment_dir = str(home / student)
    c.CourseDirectory.course_id = course_id
    c.CourseDirectory.assignment_id = assignment
    c.CourseDirectory.student_id = student
    old = os.getcwd()
    os.chdir(home / student)
    try:
        ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()
    finally:
        os.chdir(old)
    if before is None:
        return None
    (new,) = _listing(inbound) - before
    return new
