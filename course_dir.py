"""Where the course lives: the paths and database URL that nbgrader_config.py declares.

Read once from the course's own nbgrader_config.py (executed with a bare traitlets Config, so no
nbgrader import), so the CLI, the autograder and the gradebook agree with `nbgrader` itself.
"""
from __future__ import annotations

import os
import runpy
from dataclasses import dataclass
from pathlib import Path

from course_errors import UserError

CONFIG_NAME = "nbgrader_config.py"


class NoCourse(UserError, FileNotFoundError):
    """The command was run outside a course (no nbgrader_config.py found)."""


@dataclass(frozen=True)
class CourseDir:
    root: Path
    course_id: str
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    exchange: Path
    data: Path  # runtime state: results, receipts, audit log; never inside source/ or release/
    db_url: str

    @property
    def results(self) -> Path:
        return self.data / "results"

    @property
    def policy_file(self) -> Path:
        return self.root / "course.toml"


def find_root(start: Path | None = None) -> Path:
    """The course root: $COURSE_ROOT, else the nearest folder upwards holding nbgrader_config.py."""
    if os.environ.get("COURSE_ROOT"):
        root = Path(os.environ["COURSE_ROOT"]).resolve()
        if not (root / CONFIG_NAME).is_file():
            raise NoCourse(f"COURSE_ROOT={root} has no {CONFIG_NAME}; point it at the course repository")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NoCourse(
        f"no {CONFIG_NAME} in {here} or any parent folder; run the command inside the course repository "
        "or set COURSE_ROOT"
    )


def load(root: Path | None = None) -> CourseDir:
    from traitlets.config import Config

    root = find_root(root)
    config = Config()
    runpy.run_path(str(root / CONFIG_NAME),
                   init_globals={"get_config": lambda: config, "COURSE_CONFIG_READ_ONLY": True})
    cd, ex = config.CourseDirectory, config.Exchange
    base = Path(cd.get("root", root))

    def sub(name: str, default: str) -> Path:
        return (base / cd.get(name, default)).resolve()

    data = Path(os.environ.get("COURSE_DATA_DIR", base / ".course-data")).resolve()
    return CourseDir(
        root=base.resolve(),
        course_id=cd.get("course_id", "dl-course"),
        source=sub("source_directory", "source"),
        release=sub("release_directory", "release"),
        submitted=sub("submitted_directory", "submitted"),
        autograded=sub("autograded_directory", "autograded"),
        feedback=sub("feedback_directory", "feedback"),
        exchange=Path(ex.get("root", data / "exchange")).resolve(),
        data=data,
        db_url=cd.get("db_url", f"sqlite:///{data / 'gradebook.db'}"),
    )


# -- who may read what on the course server -------------------------------------------------------------
# Instructor-side state is readable by the instructor only; students reach the exchange (nbgrader's
# layout) and their own feedback, and can list neither the data directory nor another student's folder.
DATA_MODE = 0o711  # traversable (the exchange and feedback may live inside), not listable
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
EXCHANGE_ROOT_MODE = 0o1777  # nbgrader resets the low bits to 0777; sticky: no one removes another's entry
EXCHANGE_COURSE_MODE = OUTBOUND_MODE = 0o755  # released assignments: readable by every student
PUBLIC_DIR, PUBLIC_FILE = 0o755, 0o644
INBOUND_MODE = 0o3733  # nbgrader's 2733 (write and traverse, never list; setgid) plus sticky
EXCHANGE_FEEDBACK_MODE = 0o711  # nbgrader's release_feedback: unguessable names, not listable
FEEDBACK_ROOT_MODE = 0o711
STUDENT_DIR, STUDENT_FILE = 0o750, 0o640  # feedback: group = the student's own private group


def make_dir(path: Path, mode: int, gid: int = -1) -> None:
    """Create `path` (parents must exist) with exactly `mode` and group `gid`; an existing one is left alone."""
    try:
        os.mkdir(path, 0o700)  # private until its final group and mode are set
    except FileExistsError:
        return
    if gid != -1:
        os.chown(path, -1, gid)
    os.chmod(path, mode)  # mkdir drops the special bits and applies the umask


def prepare_paths(data: Path, exchange: Path, course_id: str, private: tuple[Path, ...], feedback: Path) -> None:
    """Create the missing directories of the data dir and the exchange with their modes."""
    Path(data).parent.mkdir(parents=True, exist_ok=True)
    make_dir(Path(data), DATA_MODE)
    for folder in private:
        make_dir(Path(folder), PRIVATE_DIR)
    make_dir(Path(feedback), FEEDBACK_ROOT_MODE)
    exchange = Path(exchange)
    exchange.parent.mkdir(parents=True, exist_ok=True)
    make_dir(exchange, EXCHANGE_ROOT_MODE)
    make_dir(exchange / course_id, EXCHANGE_COURSE_MODE)
    make_dir(exchange / course_id / "inbound", INBOUND_MODE)
    make_dir(exchange / course_id / "outbound", OUTBOUND_MODE)


def private_paths(course: CourseDir) -> tuple[Path, ...]:
    return (course.submitted, course.autograded, course.results, course.data / "gradebook")


def prepare(course: CourseDir) -> None:
    prepare_paths(course.data, course.exchange, course.course_id, private_paths(course), course.feedback)


def student_group(student: str) -> int | None:
    """gid of the student's own group (named like the account, nobody else in it), or None."""
    import grp
    import pwd

    try:
        entry = pwd.getpwnam(student)
        group = grp.getgrgid(entry.pw_gid)
    except KeyError:
        return None
    if group.gr_name != student or set(group.gr_mem) - {student}:
        return None
    if any(p.pw_gid == entry.pw_gid and p.pw_name != student for p in pwd.getpwall()):
        return None
    return entry.pw_gid


def feedback_group(student: str) -> int | None:
    """The group that lets `student` read their feedback, if this process may hand files to it."""
    gid = student_group(student)
    if gid is None or (os.geteuid() != 0 and gid not in os.getgroups()):
        return None
    return gid
