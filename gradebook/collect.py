"""`course collect ASSIGNMENT`: take submissions from the file-system exchange with server receipt times.

nbgrader's own collect picks the newest submission by the timestamp in the folder name, which the
student's process writes, and only warns about foreign owners. Here:
- the receipt time is the newest inode change time (st_ctime) of the submission's files: set by the
  server's kernel when the files arrive, and a student can move it later but never earlier;
- a submission whose files are owned by another uid than the student it names is rejected: kept as
  evidence, never copied to submitted/, reported;
- every version is kept under <data>/gradebook/submissions/<assignment>/<student>/, and the receipt log
  (<data>/gradebook/receipts.csv) is append-only; submitted/<student>/<assignment>/ gets the newest
  accepted version with a timestamp.txt that holds the server's receipt time.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import pwd
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gradebook.records import RECEIPT_COLUMNS


@dataclass
class Receipt:
    assignment: str
    student_id: str
    version: str
    received_at: str  # ISO, UTC
    owner_uid: str
    expected_uid: str
    status: str  # accepted | rejected
    reason: str
    path: str


def system_uid(student: str) -> int | None:
    try:
        return pwd.getpwnam(student).pw_uid
    except KeyError:
        return None


def _inspect(folder: Path) -> tuple[float, set[int]]:
    """Newest ctime and the owners of the folder and everything in it (symlinks not followed)."""
    stats = [folder.lstat()]
    for base, dirs, files in os.walk(folder):
        stats += [Path(base, n).lstat() for n in dirs + files]
    return max(s.st_ctime for s in stats), {s.st_uid for s in stats}


def collect(course, assignment: str, uid_of: Callable[[str], int | None] = system_uid, check_owner: bool = True,
            progress: bool = False) -> list[Receipt]:
    inbound = Path(course.exchange) / course.course_id / "inbound"
    if not inbound.is_dir():
        raise FileNotFoundError(f"{inbound}: no inbound directory in the exchange; release an assignment first "
                                "or check Exchange.root in nbgrader_config.py")
    store = Path(course.data) / "gradebook"
    log_path = store / "receipts.csv"
    known: set[str] = set()
    if log_path.is_file():
        with open(log_path, encoding="utf-8") as fh:
            known = {row["path"] for row in csv.DictReader(fh)}

    new: list[Receipt] = []
    folders = sorted(p for p in inbound.iterdir() if p.is_dir() and not p.is_symlink())
    for folder in folders:
        parts = folder.name.split("+")
        if len(parts) < 3 or parts[1] != assignment:
            continue
        student = parts[0]
        rel = f"{assignment}/{student}/{folder.name}"
        if rel in known:
            continue  # already recorded: collecting again changes nothing
        received, owners = _inspect(folder)
        when = dt.datetime.fromtimestamp(received, dt.UTC)
        expected = uid_of(student)
        status, reason = "accepted", ""
        if check_owner:
            if expected is None:
                status, reason = "rejected", f"no system account {student!r} to check the owner against"
            elif owners != {expected}:
                status, reason = "rejected", (f"files owned by uid {','.join(map(str, sorted(owners)))}, "
                                              f"not {student!r} (uid {expected})")
        version_dir = store / "submissions" / rel
        version_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, version_dir, symlinks=True, dirs_exist_ok=False)
        new.append(Receipt(assignment, student, folder.name, when.isoformat(), ",".join(map(str, sorted(owners))),
                           "" if expected is None else str(expected), status, reason, rel))

    if new:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=RECEIPT_COLUMNS, lineterminator="\n")
        if not log_path.exists():
            w.writeheader()
        for r in new:
            w.writerow(asdict(r))
        store.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())

    # submitted/ holds the newest accepted version (by server time) of each student who sent a new one.
    touched = {r.student_id for r in new if r.status == "accepted"}
    newest: dict[str, dict[str, str]] = {}
    if touched:
        with open(log_path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["status"] != "accepted" or row["assignment"] != assignment or row["student_id"] not in touched:
                    continue
                best = newest.get(row["student_id"])
                if best is None or (dt.datetime.fromisoformat(row["received_at"])
                                    >= dt.datetime.fromisoformat(best["received_at"])):
                    newest[row["student_id"]] = row
    for student, row in newest.items():
        dest = Path(course.submitted) / student / assignment
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(store / "submissions" / row["path"], dest, symlinks=True)
        when = dt.datetime.fromisoformat(row["received_at"])
        (dest / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    return new
