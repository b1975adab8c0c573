"""Probes: the grader's hidden tests, judged outside the student's kernel.

    requests = probe_requests(test, seed)          # inputs generated here, nonce per request
    cells = probe_jobs(requests, timeout)          # the cells sent to the kernel
    verdict = grade_test(test, seed, payloads, [r.nonce for r in requests])

A kind (kinds/*.py) is one unit: input generator, call convention, comparator and documentation line,
registered in `registry.KINDS`; `python -m autograder.probes.docs` writes KINDS.md from it.
"""
from autograder.probes.judge import (
           COMPARATOR_VERSION,
           MISMATCH,
           NO_RESULT,
           combine,
           grade_test,
           judge,
           validate_probe,
)
from autograder.probes.registry import KINDS
from autograder.probes.request import (
           ProbeRequest,
           new_request,
           payloads_from_outputs,
           probe_jobs,
           probe_requests,
)

__all__ = ["COMPARATOR_VERSION", "KINDS", "MISMATCH", "NO_RESULT", "ProbeRequest", "combine", "grade_test", "judge",
           "new_request", "payloads_from_outputs", "probe_jobs", "probe_requests", "validate_probe"]
