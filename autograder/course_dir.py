"""Where the course lives: the paths and database URL that nbgrader_config.py declares.

Read once from the course's own nbgrader_config.py (executed with a bare traitlets Config, so no
nbgrader import), so the CLI, the autograder and the gradebook agree with `nbgrader` itself.
"""
from __future__ import annotations

import os
import runpy
from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "nbgrader_config.py"


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
            raise FileNotFoundError(f"COURSE_ROOT={root} has no {CONFIG_NAME}; point it at the course repository")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise FileNotFoundError(
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
