"""`course doctor`: every path of the course server whose owner or mode is wrong, one line each, with the fix.

The rules (course_dir): the data directory is traversable but not listable; what the instructor's
side writes (submitted/, autograded/, results, the gradebook database and the version store) is the
instructor's alone; feedback/<student>/ is readable by that student's own group and nobody else; the
exchange has nbgrader's modes plus the sticky bit on its root and inbound; source/, reference_impl/ and
.git (hidden tests, solutions, their history) are private. The instructor is the owner of the data
directory unless --owner names one. `--fix` repairs what a chmod/chown can repair; folders above the course
that students cannot traverse are reported, never changed (they may be someone's home).
"""
from __future__ import annotations

import argparse
import os
import pwd
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import course_dir as cd
from course_errors import UserError

SECRETS = ("source", "reference_impl", ".git")  # under the course root


@dataclass
class Problem:
    path: Path
    what: str
    fix: str
    repair: Callable[[], None] | None  # None: reported, never changed here

    def line(self) -> str:
        return f"{self.path}: {self.what}; fix: {self.fix}"


def _mode(st: os.stat_result) -> int:
    return stat.S_IMODE(st.st_mode)


def _chmod(path: Path, mode: int) -> Callable[[], None]:
    return lambda: None if path.is_symlink() else os.chmod(path, mode)  # Linux has no lchmod


def _chown(path: Path, uid: int, gid: int) -> Callable[[], None]:
    return lambda: os.chown(path, uid, gid, follow_symlinks=False)


class Doctor:
    def __init__(self, course: cd.CourseDir, owner: int) -> None:
        self.course = course
        self.owner = owner
        self.problems: list[Problem] = []

    def _owner(self, path: Path, st: os.stat_result, owners: tuple[int, ...] = ()) -> None:
        if st.st_uid != self.owner and st.st_uid not in owners:
            self.problems.append(Problem(path, f"owner uid {st.st_uid}, want {_user(self.owner)}",
                                         f"chown {_user(self.owner)} {path}", _chown(path, self.owner, -1)))

    def exact(self, path: Path, mode: int, why: str, gid: int | None = None, owners: tuple[int, ...] = ()) -> None:
        try:
            st = path.lstat()
        except FileNotFoundError:
            return
        self._owner(path, st, owners)
        if gid is not None and st.st_gid != gid:
            self.problems.append(Problem(path, f"group gid {st.st_gid}, want {_group(gid)} ({why})",
                                         f"chgrp {_group(gid)} {path}", _chown(path, -1, gid)))
        if _mode(st) != mode:
            self.problems.append(Problem(path, f"mode {_mode(st):04o}, want {mode:04o} ({why})",
                                         f"chmod {mode:04o} {path}", _chmod(path, mode)))

    def private(self, path: Path, tree: bool = True) -> None:
        """Instructor only: no permission bit for group or others (the whole tree unless tree=False)."""
        for p, st in _walk(path) if tree else _one(path):
            self._owner(p, st)
            if _mode(st) & 0o077:
                want = _mode(st) & 0o700
                self.problems.append(Problem(p, f"mode {_mode(st):04o}, want {want:04o} (instructor only)",
                                             f"chmod go= {p}", _chmod(p, want)))

    def public(self, path: Path) -> None:
        """Released to every student: readable, written by the instructor only."""
        for p, st in _walk(path):
            self._owner(p, st)
            want = cd.PUBLIC_DIR if stat.S_ISDIR(st.st_mode) else cd.PUBLIC_FILE
            if _mode(st) != want:
                self.problems.append(Problem(p, f"mode {_mode(st):04o}, want {want:04o} (released: read-only)",
                                             f"chmod {want:04o} {p}", _chmod(p, want)))

    def reachable(self, path: Path, stop: Path) -> None:
        """Folders above `stop` on the way to `path` that students cannot traverse (reported, not changed)."""
        for p in reversed(path.parents):
            if p == stop or stop in p.parents:
                break
            try:
                mode = p.stat().st_mode
            except OSError:
                return
            if not mode & stat.S_IXOTH:
                self.problems.append(Problem(
                    p, f"students cannot traverse it to reach {path}",
                    f"chmod o+x {p}, or put the data (COURSE_DATA_DIR) and exchange (COURSE_EXCHANGE) "
                    "outside private homes, e.g. /srv/<course>", None))
                return

    # -- the parts of the course server -------------------------------------------------------------
    def check(self) -> list[Problem]:
        c = self.course
        self.exact(c.data, cd.DATA_MODE, "traversable, not listable")
        shared = {c.exchange, c.feedback}
        for entry in sorted(c.data.iterdir()) if c.data.is_dir() else ():
            if entry not in shared:
                self.private(entry)
        for folder in cd.private_paths(c):
            if c.data not in folder.parents:
                self.private(folder)
        self.feedback()
        self.exchange()
        root = c.root
        for name in SECRETS:
            self.private(root / name, tree=False)  # the top folder closes the tree; a checkout recreates 0644 files
        st = root.stat()
        if _mode(st) & 0o006:
            want = _mode(st) & ~0o006
            self.problems.append(Problem(root, f"mode {_mode(st):04o}, want {want:04o} (others may not list "
                                               "the course)", f"chmod o-rw {root}", _chmod(root, want)))
        self.reachable(c.exchange, stop=c.data if c.data in c.exchange.parents else c.exchange)
        self.reachable(c.feedback, stop=c.data if c.data in c.feedback.parents else c.feedback)
        return self.problems

    def feedback(self) -> None:
        fb = self.course.feedback
        self.exact(fb, cd.FEEDBACK_ROOT_MODE, "traversable, not listable")
        for student_dir in sorted(fb.iterdir()) if fb.is_dir() else ():
            gid = cd.student_group(student_dir.name)
            if gid is None or student_dir.is_symlink():
                self.private(student_dir)
                continue
            for p, st in _walk(student_dir):
                folder = stat.S_ISDIR(st.st_mode)
                self.exact(p, cd.STUDENT_DIR if folder else cd.STUDENT_FILE,
                           f"readable by {student_dir.name} only", gid=gid)

    def exchange(self) -> None:
        x = self.course.exchange
        self.exact(x, cd.EXCHANGE_ROOT_MODE, "nbgrader's 0777 plus sticky", owners=(0,))
        course = x / self.course.course_id
        self.exact(course, cd.EXCHANGE_COURSE_MODE, "nbgrader's")
        self.exact(course / "inbound", cd.INBOUND_MODE, "writable, not listable, sticky")
        self.exact(course / "outbound", cd.OUTBOUND_MODE, "nbgrader's")
        for released in sorted((course / "outbound").iterdir()) if (course / "outbound").is_dir() else ():
            self.public(released)
        self.exact(course / "feedback", cd.EXCHANGE_FEEDBACK_MODE, "nbgrader's: not listable")


def _one(path: Path) -> Iterator[tuple[Path, os.stat_result]]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(st.st_mode):
        yield path, st


def _walk(top: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """The path and everything below it; links are neither followed nor judged (their mode means nothing)."""
    yield from _one(top)
    for base, dirs, files in os.walk(top):
        for name in sorted(dirs + files):
            yield from _one(Path(base, name))


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _instructor(course: cd.CourseDir, name: str | None) -> int:
    if name:
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            raise UserError(f"--owner {name}: no such user; name the instructor's account") from None
    try:
        return course.data.stat().st_uid
    except FileNotFoundError:
        raise UserError(f"{course.data}: no data directory yet; run `nbgrader release_assignment` or set "
                        "COURSE_DATA_DIR") from None


def check(course: cd.CourseDir, owner: int) -> list[Problem]:
    return Doctor(course, owner).check()


def run(args: argparse.Namespace) -> int:
    course = cd.load()
    owner = _instructor(course, args.owner)
    problems = check(course, owner)
    if args.fix:
        for p in problems:
            if p.repair is None:
                continue
            try:
                p.repair()
                print(f"fixed {p.path}: {p.fix}")
            except OSError as exc:
                print(f"cannot fix {p.path}: {exc.strerror} (run as root?)", file=sys.stderr)
        problems = check(course, owner)
    for p in problems:
        print(p.line())
    if not problems:
        print(f"course doctor: every path of {course.data} and {course.exchange} has its owner and mode")
    return 1 if problems else 0
