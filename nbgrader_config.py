"""nbgrader configuration of the course: the repository is the course directory.

Runtime state (submissions, autograded notebooks, feedback, gradebook) lives in a data directory
outside the sources: $COURSE_DATA_DIR, default `.course-data/` (git-ignored).
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

ROOT = Path(__file__).resolve().parent
DATA = Path(os.environ.get("COURSE_DATA_DIR", ROOT / ".course-data")).resolve()

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# nbgrader joins these to the root; absolute paths keep the state out of the sources.
c.CourseDirectory.submitted_directory = str(DATA / "submitted")
c.CourseDirectory.autograded_directory = str(DATA / "autograded")
c.CourseDirectory.feedback_directory = str(DATA / "feedback")
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL", f"sqlite:///{DATA / 'gradebook.db'}")
c.Exchange.root = os.environ.get("COURSE_EXCHANGE", str(DATA / "exchange"))
c.Exchange.timezone = "UTC"

if not globals().get("COURSE_CONFIG_READ_ONLY"):  # the `course` commands read this file and write nothing
    # nbgrader runs as the instructor: what it writes is private unless a mode is set explicitly
    # (the exchange gets nbgrader's own modes). SQLite cannot create gradebook.db in a missing folder.
    from course_dir import prepare_paths

    os.umask(0o077)
    prepare_paths(DATA, Path(c.Exchange.root), c.CourseDirectory.course_id,
                  (DATA / "submitted", DATA / "autograded", DATA / "results", DATA / "gradebook"), DATA / "feedback")

# Release: strip solutions and hidden tests; visible asserts stay for Validate.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 60

# One source of truth: grading, feedback and export go through the platform (`course ...`). nbgrader's own
# autograde and feedback (CLI and formgrader buttons) are refused with the command to use instead, and
# `nbgrader export` writes the final grades of `course grades` (late penalties, windows, caps) instead of
# nbgrader's raw scores. Formgrader stays for browsing submissions and manual grading.
c.Autograde.exporter_class = "autograder.nbgrader_guard.RefuseAutograde"
c.GenerateFeedback.exporter_class = "autograder.nbgrader_guard.RefuseGenerateFeedback"
c.ExchangeFactory.release_feedback = "autograder.nbgrader_guard.RefuseReleaseFeedback"
c.ExportApp.plugin_class = "autograder.nbgrader_guard.PlatformExport"
