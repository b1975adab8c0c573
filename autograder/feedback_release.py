"""Feedback that reaches the student: the item's final points, and the exchange copy nbgrader fetches.

The final points are the item's line of `course explain`, computed exactly as `course grades` does (late
penalty, speed-test window, hard cutoff). The release writes what nbgrader's ExchangeFetchFeedback looks for:
`<exchange>/<course>/feedback/<md5(submission secret + notebook id)>.html` for each notebook of the graded
submission; the secret is the one `nbgrader submit` wrote into the submission, and the student's own copy
of it in their nbgrader cache is what their Fetch Feedback button hashes. Each file belongs to the instructor
and to the student's own group, mode 0640: another student who learns the name still cannot read it.
"""
from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from autograder.results import write_atomic


def final_lines(assignment: str, students: list[str]) -> dict[str, str]:
    """student -> the assignment's line of `course explain` (empty without a policy item, or off the roster)."""
    from gradebook.commands import _grades  # the very computation of `course grades`
    from gradebook.explain import explain

    _, policy, table = _grades(argparse.Namespace(policy=None))
    st = policy.speedtests
    if assignment in policy.items:
        prefix, total = f"{policy.items[assignment].title}: ", None
    elif st and assignment in {t.name for t in st.tests}:
        prefix, total = f"{assignment}: ", f"{st.title}: "  # a test's share, then the speed tests' points
    else:
        return {}
    out = {}
    for student in students:
        if student in table.index:
            lines = explain(policy, table, student)
            line = next((x for x in lines if x.startswith(prefix)), "")[len(prefix):]
            if total:
                line += "; " + next((x for x in lines if x.startswith(total)), "")
            out[student] = line
    return out


def feedback_name(secret: str, notebook_id: str) -> str:
    """nbgrader's notebook_hash(secret=..., notebook_id=...): the name fetch_feedback looks for."""
    return hashlib.md5(secret.encode() + notebook_id.encode()).hexdigest() + ".html"


def release(course, student: str, assignment: str, html: str, graded: str, notebooks: list[str]
            ) -> list[Path] | str:
    """Put `html` where `student`'s fetch_feedback finds it; the paths written, or why nothing was.
    `graded`: the submission hash of the result; `notebooks`: the assignment's notebook names."""
    from autograder.pipeline.job import read_submission, submission_hash
    from course_dir import EXCHANGE_FEEDBACK_MODE, STUDENT_FILE, feedback_group, make_dir

    submission = Path(course.submitted) / student / assignment
    if submission_hash(read_submission(submission, sorted(notebooks))) != graded:
        return (f"the collected submission in {submission} is not the one graded (a newer one was collected); "
                f"run `course autograde {assignment}` first")
    secret_file = submission / "submission_secret.txt"
    if not secret_file.is_file():
        return f"no {secret_file} (not submitted through `nbgrader submit`, or not collected)"
    gid = feedback_group(student)
    if gid is None:
        return (f"no system account {student!r} with a group of its own to make the feedback readable by them "
                "alone (useradd -U), or not run as root")
    secret = secret_file.read_text(encoding="utf-8")
    notebooks = sorted(p.stem for p in submission.glob("*.ipynb"))
    if not notebooks:
        return f"no notebook in {submission}"
    folder = Path(course.exchange) / course.course_id / "feedback"
    make_dir(folder, EXCHANGE_FEEDBACK_MODE)
    written = []
    for notebook_id in notebooks:
        path = folder / feedback_name(secret, notebook_id)
        write_atomic(path, html)  # a fresh 0600 file renamed into place: never readable by others in between
        os.chown(path, -1, gid)
        os.chmod(path, STUDENT_FILE)
        written.append(path)
    return written
