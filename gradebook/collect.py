"""`course collect ASSIGNMENT`: take submissions from the file-system exchange with server receipt times.

nbgrader's own collect picks the newest submission by the timestamp in the folder name, which the
student's process writes, and only warns about foreign owners. Here:
- the receipt time is the newest inode change time (st_ctime) of the submission's files: set by the
  server's kernel when the files arrive, and a student can move it later but never earlier;
- a submission whose files are owned by another uid than the student it names is rejected: kept as
  evidence, never copied to submitted/, reported;
- every version is kept under <data>/gradebook/submissions/<assignment>/<student>/, and the receipt log
  (table course_receipt of the course database, gradebook.course_db) is append-only, one transaction per
  collect; submitted/<student>/<assignment>/ gets the newest accepted version with a timestamp.txt that
  holds the server's receipt time.
"""
from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from course_dir import PRIVATE_DIR, PRIVATE_FILE, make_dir, prepare
from course_errors import UserError
from gradebook import course_db


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


def make_private(top: Path) -> None:
    """Instructor only: copytree kept the student's modes (nbgrader submits 0777 folders). Links untouched."""
    for base, dirs, files in os.walk(top):
        os.chmod(base, PRIVATE_DIR)
        for name in files:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                os.chmod(path, PRIVATE_FILE)


def close_entry(folder: Path) -> None:
    """After collecting, the student's inbound folder (0777, guarded only by its unguessable name) becomes
    the owner's alone. Through a descriptor opened without following links; needs root."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        os.fchmod(fd, PRIVATE_DIR)
    except PermissionError:
        pass  # not root: nbgrader's unguessable name stays the only guard
    finally:
        os.close(fd)


def _inspect(folder: Path) -> tuple[float, set[int]]:
    """Newest ctime and the owners of the folder and everything in it (symlinks not followed)."""
    stats = [folder.lstat()]
    for base, dirs, files in os.walk(folder):
        stats += [Path(base, n).lstat() for n in dirs + files]
    return max(s.st_ctime for s in stats), {s.st_uid for s in stats}


def known_assignment(course, assignment: str) -> bool:
    """An assignment of the course: a folder in source/ or an item / speed test of course.toml."""
    if (Path(course.source) / assignment).is_dir():
        return True
    try:
        with open(course.policy_file, "rb") as fh:
            policy = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    tests = policy.get("speedtests", {}).get("tests", {})
    return assignment in policy.get("items", {}) or (isinstance(tests, dict) and assignment in tests)


def collect(course, assignment: str, uid_of: Callable[[str], int | None] = system_uid, check_owner: bool = True,
            progress: bool = False) -> list[Receipt]:
    if not known_assignment(course, assignment):
        raise UserError(f"{assignment!r}: no such assignment (not in {course.source} nor in {course.policy_file}); "
                        "check the spelling")
    inbound = Path(course.exchange) / course.course_id / "inbound"
    if not inbound.is_dir():
        raise UserError(f"{inbound}: no inbound directory in the exchange; release an assignment first "
                                "or check Exchange.root in nbgrader_config.py")
    prepare(course)
    store = Path(course.data) / "gradebook"
    with course_db.writing(course.db_url, course.course_id) as conn:  # one transaction, under the write lock
        new = _take_new(assignment, inbound, store, course_db.receipt_paths(conn), uid_of, check_owner)
        course_db.add_receipts(conn, [asdict(r) for r in new])
        newest = course_db.newest_accepted(conn, assignment, {r.student_id for r in new if r.status == "accepted"})
    # submitted/ holds the newest accepted version (by server time) of each student who sent a new one.
    for student, row in newest.items():
        dest = Path(course.submitted) / student / assignment
        if dest.exists():
            shutil.rmtree(dest)
        make_dir(dest.parent, PRIVATE_DIR)
        shutil.copytree(store / "submissions" / row["path"], dest, symlinks=True)
        when = dt.datetime.fromisoformat(row["received_at"])
        (dest / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        make_private(dest)
    return new


def _take_new(assignment: str, inbound: Path, store: Path, known: set[str],
              uid_of: Callable[[str], int | None], check_owner: bool) -> list[Receipt]:
    """Copy every submission not yet recorded to the version store and judge its owner."""
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
        for d in (store / "submissions", version_dir.parent.parent, version_dir.parent):
            make_dir(d, PRIVATE_DIR)
        shutil.copytree(folder, version_dir, symlinks=True, dirs_exist_ok=False)
        make_private(version_dir)
        close_entry(folder)
        new.append(Receipt(assignment, student, folder.name, when.isoformat(), ",".join(map(str, sorted(owners))),
                           "" if expected is None else str(expected), status, reason, rel))

    return new
