"""Run as a student's own unix account: fetch each item from the nbgrader exchange, put in the prepared
work, submit (nbgrader's own ExchangeFetchAssignment and ExchangeSubmit, as `nbgrader fetch/submit` do).

python -m demo.student EXCHANGE HOME WORKDIR ITEM...   (WORKDIR/ITEM/*.ipynb is the work to hand in)
An ITEM written `@ITEM` is waited for: the student sits ready until the instructor releases it (a speed test
that opens in the lecture), then fetches it at once."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

COURSE_ID = "dl-course"


def _config(exchange: Path, home: Path, item: str):
    from traitlets.config import Config

    c = Config()
    c.Exchange.root = str(exchange)
    c.Exchange.cache = str(home / ".cache")
    c.Exchange.assignment_dir = str(home)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.assignment_id = item
    c.CourseDirectory.student_id = home.name
    return c


def hand_in(exchange: Path, home: Path, work: Path, item: str) -> None:
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.abc.exchange import ExchangeError
    from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
    from nbgrader.exchange.default.submit import ExchangeSubmit

    c = _config(exchange, home, item)
    os.chdir(home)
    if not (home / item).is_dir():  # fetched once; a re-submission keeps the folder
        for attempt in range(20):  # the instructor's release may still be setting the modes
            try:
                ExchangeFetchAssignment(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c),
                                        config=c).start()
                break
            except ExchangeError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
    for nb in (work / item).glob("*.ipynb"):
        shutil.copyfile(nb, home / item / nb.name)
    ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()


def _notebooks(folder: Path) -> list[Path]:
    try:
        return list(folder.glob("*.ipynb"))
    except PermissionError:  # released, modes not yet set
        return []


def _wait_for(released: Path, limit_s: float = 1800) -> None:
    """Poll until the item is in the exchange's outbound (the event: the instructor released it)."""
    end = time.monotonic() + limit_s
    while not (released.is_dir() and any(os.access(p, os.R_OK) for p in _notebooks(released))):
        if time.monotonic() > end:
            raise SystemExit(f"{released} was never released")
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    exchange, home, work, *items = argv
    import nbgrader.exchange.default.submit  # noqa: F401  (seconds to import: done before the wait)

    for item in items:
        if item.startswith("@"):
            item = item[1:]
            _wait_for(Path(exchange) / COURSE_ID / "outbound" / item)
        hand_in(Path(exchange), Path(home), Path(work), item)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
