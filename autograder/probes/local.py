"""Run a TRUSTED notebook's code in this process and judge its probes: instructors' and tests' self-check.

Never use this for student submissions: it executes the notebook's code in the grader's own process (the
point of the platform is that student code runs only in the sandboxed kernel). It exists so that tests and
instructors can prove that a source notebook's own solution scores full marks and a wrong one does not.
"""
from __future__ import annotations

import contextlib
import io
from typing import Any

from autograder.kernel_side import course_probe
from autograder.model import TestSpec, Verdict
from autograder.probes.request import ProbeRequest, probe_requests


def exec_cells(sources: list[str], namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute cell sources in order in one namespace (stdout discarded); returns the namespace."""
    ns: dict[str, Any] = namespace if namespace is not None else {"__name__": "__main__"}
    for i, src in enumerate(sources):
        code = compile(src, f"<cell {i}>", "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, ns)  # noqa: S102 - trusted notebooks only (see module docstring)
    return ns


def notebook_payloads(namespace: dict[str, Any], test: TestSpec, seed: int,
                      requests: list[ProbeRequest] | None = None) -> list[dict]:
    """The payloads the kernel would publish for `test`'s probe requests, built against `namespace`."""
    out = []
    for request in requests if requests is not None else probe_requests(test, seed):
        with contextlib.redirect_stdout(io.StringIO()):
            out.append(course_probe.build_payload(request.message(), namespace))
    return out


def judge_locally(namespace: dict[str, Any], test: TestSpec, seed: int,
                  variant: dict[str, Any] | None = None) -> Verdict:
    """`test`'s verdict for the functions in `namespace`, through the same requests and judge as grading
    (`variant`: the student's own numbers, for per-student kinds)."""
    from autograder.probes import grade_test

    requests = probe_requests(test, seed)
    return grade_test(test, seed, notebook_payloads(namespace, test, seed, requests), [r.nonce for r in requests],
                      variant)


def grade_notebook_locally(nb: Any, tests: tuple[TestSpec, ...], seed: int,
                           run_visible_tests: bool = False, skip_free_cells: bool = False,
                           variant: dict[str, Any] | None = None) -> dict[str, Verdict]:
    """Execute the notebook's non-test code cells, then judge every test's probes: test_id -> Verdict.

    With run_visible_tests the graded cells' visible part (hidden region removed) runs too, in place.
    With skip_free_cells, code cells without nbgrader metadata and those tagged as exploration are not run.
    """
    from autograder.spec import SKIP_TAG, student_source

    sources = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if skip_free_cells and (grade_id is None or SKIP_TAG in (cell.get("metadata", {}).get("tags") or [])):
            continue
        if meta.get("grade") and not meta.get("solution"):  # a test cell: its probes are judged below
            if run_visible_tests:
                sources.append(student_source(cell.source, "code", False, grade_id))
            continue
        sources.append(cell.source)
    ns = exec_cells(sources)
    return {t.test_id: judge_locally(ns, t, seed, variant) for t in tests}
