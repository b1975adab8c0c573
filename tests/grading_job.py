"""One submission through the real grading pipeline, on an open slot (sandboxed or local): shared by the tests
that grade synthetic or course assignments directly, without a course directory."""
from __future__ import annotations

from typing import Any

GRADING_KEY = b"k" * 64  # a fixed course key: seeds, and so the hidden inputs, are the same on every run


def grade(spec: Any, files: dict[str, bytes], slot: Any, student: str = "s1", sandbox: bool = True,
          cell_timeout: float = 300.0, budget: float = 900.0) -> Any:
    """The SubmissionResult of `files` (notebook name -> bytes) as `student`'s submission of `spec`."""
    from autograder.pipeline import GradingJob, NotebookFile, Options, grade_submission, submission_hash

    notebooks = tuple(NotebookFile(name, data) for name, data in sorted(files.items()))
    job = GradingJob(assignment=spec.name, student=student, files=notebooks, spec=spec, base_seed=0,
                     options=Options(sandbox=sandbox, cell_timeout=cell_timeout, budget=budget),
                     submission_hash=submission_hash(notebooks), seed_key=GRADING_KEY)
    return grade_submission(job, lambda: slot)


def sandbox_slot() -> Any:
    """An open sandboxed slot (a context manager); the calling test skips, with the reason, where there is none."""
    import pytest

    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox, open_slot

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")
    return open_slot(sandbox=True)
