"""nbgrader entry points that would bypass the platform, switched off by the course's nbgrader_config.py.

`nbgrader autograde` / formgrader's Autograde button would run student code as the instructor, outside the
sandbox; `nbgrader generate_feedback` would show hidden tests; `nbgrader release_feedback` / formgrader's
Release Feedback button would publish files without the final points. Each is refused with the `course`
command that does the job, before anything is written; `nbgrader export` writes the grades of `course grades`.
"""
from __future__ import annotations

from nbconvert.exporters import NotebookExporter
from nbgrader.converters.base import NbGraderException
from nbgrader.exchange.default import ExchangeReleaseFeedback
from nbgrader.plugins import ExportPlugin


class _Refused(NotebookExporter):
    command = ""

    def __init__(self, *args, **kwargs):
        msg = f"switched off in this course's nbgrader_config.py: run `{self.command}` (the platform's grading)"
        if kwargs.get("parent") is not None:
            kwargs["parent"].log.error(msg)
        raise NbGraderException(msg)


class RefuseAutograde(_Refused):
    command = "course autograde ASSIGNMENT"


class RefuseGenerateFeedback(_Refused):
    command = "course feedback ASSIGNMENT"


class RefuseReleaseFeedback(ExchangeReleaseFeedback):
    def start(self):
        self.fail("switched off in this course's nbgrader_config.py: run `course feedback ASSIGNMENT --release` "
                  "(feedback with the final points, readable by its student only)")


class PlatformExport(ExportPlugin):
    """`nbgrader export`: the final grades as `course grades` computes them (late penalties, windows, caps)."""

    def export(self, gradebook) -> None:
        import argparse
        from pathlib import Path

        from gradebook import export
        from gradebook.commands import _grades

        _, _, table = _grades(argparse.Namespace(policy=None))
        dest = Path(self.to or "grades.csv")
        export.write_csv(export.full_table(table), dest)
        self.log.info("Exported the course's final grades (course grades) to %s", dest)
