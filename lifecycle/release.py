"""`course release ASSIGNMENT`: generate from source/, check that release/ is current, release to the exchange.

release/ is committed with the course and students get exactly what it holds, so a release/ that differs
from what source/ generates today is refused (one line naming the stale file) unless --force regenerates
it: an edited source must never reach the students unseen, nor a stale release silently stay.
Generation runs in a scratch copy of the course (nbgrader writes into its course's release/ and gradebook).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course_errors import UserError

SKIP = {"__pycache__", ".ipynb_checkpoints"}


@dataclass
class Released:
    assignment: str
    generated: str  # "current" | "created" | "regenerated"
    exchange: str  # "released" | "unchanged" | "replaced"
    outbound: Path
    audience: str
    warnings: list[str] = field(default_factory=list)


def _files(top: Path) -> set[str]:
    if not top.is_dir():
        return set()
    out = set()
    for base, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP]
        out |= {str(Path(base, f).relative_to(top)) for f in files if not f.endswith(".pyc")}
    return out


def _canonical(path: Path) -> object:
    """What a student gets from a notebook: kernelspec, and per cell its type, source and nbgrader metadata
    (checksums included: deterministic). Outputs and execution counts are not part of a release."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return (dict(nb.metadata.get("kernelspec", {})),
            [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in nb.cells])


def stale_files(fresh: Path, released: Path) -> list[str]:
    """Files of `released` that differ from `fresh` (missing on either side, or other content)."""
    out = []
    for name in sorted(_files(fresh) | _files(released)):
        a, b = fresh / name, released / name
        if not (a.is_file() and b.is_file()):
            out.append(name)
        elif name.endswith(".ipynb"):
            if _canonical(a) != _canonical(b):
                out.append(name)
        elif a.read_bytes() != b.read_bytes():
            out.append(name)
    return out


def nbgrader_env(**extra: str) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)  # nbgrader shells out to this environment's alembic
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), **extra}


def generate(course, assignment: str, scratch: Path) -> Path:
    """nbgrader generate_assignment in a scratch course made of the course's config and this source."""
    source = Path(course.source) / assignment
    if not any(source.glob("*.ipynb")):
        raise UserError(f"{assignment!r}: no notebooks in {source}; check the name (folders of source/: "
                        f"{', '.join(sorted(p.name for p in Path(course.source).iterdir() if p.is_dir()))})")
    work = scratch / "course"
    (work / "source").mkdir(parents=True)
    shutil.copy(Path(course.root) / "nbgrader_config.py", work)
    shutil.copytree(source, work / "source" / assignment, ignore=shutil.ignore_patterns(*SKIP, "*.pyc"))
    env = nbgrader_env(COURSE_DATA_DIR=str(scratch / "data"), COURSE_EXCHANGE=str(scratch / "exchange"))
    env.pop("COURSE_DB_URL", None)
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", assignment,
                           "--force", "--log-level=ERROR"], cwd=work, env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise UserError(f"nbgrader generate_assignment {assignment} failed: {last}; fix {source} and retry")
    return work / "release" / assignment


def check_current(course, assignment: str, force: bool) -> str:
    """Make release/ASSIGNMENT what source/ generates: "current", "created" or (with force) "regenerated"."""
    released = Path(course.release) / assignment
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        fresh = generate(course, assignment, Path(tmp))
        if not released.is_dir():
            state = "created"
        else:
            stale = stale_files(fresh, released)
            if not stale:
                return "current"
            if not force:
                raise UserError(f"{released / stale[0]} is not what {Path(course.source) / assignment} generates "
                                f"({len(stale)} stale file(s)); regenerate with `course release {assignment} "
                                "--force` (or `make release`) and commit release/")
            state = "regenerated"
            shutil.rmtree(released)
        Path(course.release).mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, released, ignore=shutil.ignore_patterns(*SKIP, "*.pyc"))
    return state


def exchange_classes():
    """nbgrader's release machinery (importing it takes seconds: a speed test imports it before its clock starts)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
    from traitlets.config import Config

    return Authenticator, CourseDirectory, ExchangeReleaseAssignment, Config


def to_exchange(course, assignment: str, force: bool) -> tuple[str, Path]:
    """nbgrader's release_assignment into the exchange's outbound; a second identical release changes nothing."""
    from course_dir import prepare

    prepare(course)
    outbound = Path(course.exchange) / course.course_id / "outbound" / assignment
    released = Path(course.release) / assignment
    state = "released"
    if outbound.is_dir():
        if not stale_files(released, outbound):
            return "unchanged", outbound
        if not force:
            raise UserError(f"{outbound} holds another version of {assignment} (students may have fetched it); "
                            f"replace it with `course release {assignment} --force`")
        state = "replaced"
    Authenticator, CourseDirectory, ExchangeReleaseAssignment, Config = exchange_classes()
    c = Config()
    c.CourseDirectory.root = str(course.root)
    c.CourseDirectory.release_directory = str(course.release)
    c.CourseDirectory.course_id = course.course_id
    c.CourseDirectory.assignment_id = assignment
    c.Exchange.root = str(course.exchange)
    c.ExchangeReleaseAssignment.force = force
    ExchangeReleaseAssignment(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c),
                              config=c).start()
    return state, outbound


def audience(course, policy) -> str:
    from gradebook import records

    roster = records.load(course, policy).roster if policy is not None else None
    if roster is None or roster.empty:
        return "every student of the course (no roster imported: anyone who can read the exchange)"
    return f"the {len(roster)} student(s) of the roster"


def release(course, policy, assignment: str, force: bool = False) -> Released:
    generated = check_current(course, assignment, force)
    state, outbound = to_exchange(course, assignment, force)
    from gradebook.term import date_warnings  # a due date or a course.toml window already in the past

    warnings = date_warnings(policy, dt.datetime.now(dt.UTC), [assignment]) if policy is not None else []
    return Released(assignment, generated, state, outbound, audience(course, policy), warnings)
