"""Plan: which submissions need grading. A job whose key (submission, test suite, seed) is already stored is
unchanged: the re-run writes nothing for it (idempotent), unless --force."""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.pipeline import GradingJob, Options, job_for


@dataclass
class Plan:
    jobs: list[GradingJob] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # students whose stored grade stands


def plan(course, spec, students: list[str], options: Options, base_seed: int,
         stored: dict[str, tuple[str, str, int]], force: bool = False) -> Plan:
    """`stored`: student -> key of what the database holds (Store.graded)."""
    out = Plan()
    for student in students:
        job = job_for(course, spec, student, base_seed, options)
        if not force and stored.get(student) == (job.submission_hash, spec.suite_hash, base_seed):
            out.unchanged.append(student)
        else:
            out.jobs.append(job)
    return out
