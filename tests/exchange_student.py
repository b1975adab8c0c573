"""A student's `nbgrader submit`, through nbgrader's own ExchangeSubmit, for tests that need a real exchange."""
from __future__ import annotations

import os
from pathlib import Path


def nbgrader_submit(exchange: Path, home: Path, course_id: str, student: str, assignment: str,
                    files: dict[str, bytes]) -> Path:
    """Write `files` into the student's assignment folder and submit it; returns the new inbound folder."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.submit import ExchangeSubmit
    from traitlets.config import Config

    work = home / student / assignment
    work.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (work / name).write_bytes(data)
    inbound = exchange / course_id / "inbound"
    before = set(inbound.iterdir())
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
    (new,) = set(inbound.iterdir()) - before
    return new
