"""The grading steps, in the style of nbgrader's preprocessors: each a small class with one job.

    ParseNotebooks -> RebuildCells -> BuildCellJobs -> RunKernel -> JudgeProbes -> CollectCells

They read and write one `Context`. Only RunKernel touches student code (through the sandbox slot);
JudgeProbes runs the comparators here, in the trusted process, on the plain-data payloads.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.model import CellJob, CellOutcome
from autograder.pipeline.job import GradingJob, derive_seed
from autograder.pipeline.parse import InvalidNotebook, ParsedNotebook, parse_notebook
from autograder.pipeline.rebuild import Rebuilt, rebuild
from autograder.results import CellRecord, TestRecord

# Probe-cell statuses that decide a test without looking at payloads.
_CELL_FAILURE = {"timeout": "timeout", "kernel_died": "kernel_died", "memory": "memory", "not_run": "no_result",
                 "error": "error"}


@dataclass
class Context:
    job: GradingJob
    slot_factory: Callable[[], Any]  # returns an open slot (cached by the caller)
    parsed: dict[str, ParsedNotebook] = field(default_factory=dict)
    invalid: dict[str, str] = field(default_factory=dict)  # notebook -> one-line reason
    rebuilt: dict[str, Rebuilt] = field(default_factory=dict)
    cell_jobs: dict[str, list[CellJob]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # cell key -> student source (for feedback)
    origins: dict[str, str] = field(default_factory=dict)  # cell key -> canonical grade_id or "extra"
    seeds: dict[str, int] = field(default_factory=dict)  # test_id -> seed
    nonces: dict[str, list[str]] = field(default_factory=dict)  # test_id -> the nonce of each probe request
    support_keys: set[str] = field(default_factory=set)  # prelude cells (not the student's: not in feedback)
    full: set[str] = field(default_factory=set)  # notebooks run with every cell (FullRunIfNeeded adds them)
    skipped: dict[str, int] = field(default_factory=dict)  # notebook -> exploration cells left out of its run
    only: set[str] | None = None  # when set, the run steps work on these notebooks only (a re-run)
    outcomes: dict[str, dict[str, CellOutcome]] = field(default_factory=dict)  # notebook -> key -> outcome
    tests: list[TestRecord] = field(default_factory=list)
    cells: list[CellRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Step(ABC):
    """One job of the pipeline: reads and extends the Context."""

    @abstractmethod
    def __call__(self, ctx: Context) -> None: ...


class ParseNotebooks(Step):
    """Bytes -> cells, with a size cap before parsing; a bad file fails only its own notebook (A22)."""

    def __call__(self, ctx: Context) -> None:
        for f in ctx.job.files:
            if f.data is None:
                ctx.invalid[f.name] = f.problem
                continue
            try:
                ctx.parsed[f.name] = parse_notebook(f.data)
            except InvalidNotebook as exc:
                ctx.invalid[f.name] = f"{f.name}.ipynb: {exc}"
                continue
            ctx.notes += [f"{f.name}: {r}" for r in ctx.parsed[f.name].repaired]


class RebuildCells(Step):
    """Canonical cells from the spec + the student's solution code; tampering restored and noted."""

    def __call__(self, ctx: Context) -> None:
        for name, parsed in ctx.parsed.items():
            ctx.rebuilt[name] = rb = rebuild(ctx.job.spec, name, parsed, parsed.kernel_name)
            ctx.notes += rb.notes
            ctx.notes += [f"{name}: {tid}: {why}; restored from the course source" for tid, why in rb.tampered.items()]


def prelude_cell(student: str, support: dict[str, str]) -> str:
    """Code run before the student's cells: the login environment of the submission's owner (as in their
    JupyterLab, so their own numbers come out), and the assignment's own modules from the instructor's copies."""
    identity = ("import os as _os\n"
                f"_os.environ.update(USER={student!r}, LOGNAME={student!r})\n"
                "_os.environ.pop('JUPYTERHUB_USER', None)\n"
                "del _os\n")
    if not support:
        return identity
    return identity + ("import sys as _sys, types as _types\n"
            f"for _name, _src in {dict(sorted(support.items()))!r}.items():\n"
            "    _mod = _types.ModuleType(_name)\n"
            "    _mod.__file__ = _name + '.py'\n"
            "    _sys.modules[_name] = _mod  # before it runs: dataclasses look their module up there\n"
            "    exec(compile(_src, _mod.__file__, 'exec'), _mod.__dict__)\n"
            "del _sys, _types, _name, _src, _mod\n")


class BuildCellJobs(Step):
    """The assignment's support modules, then the student cells as they are; each graded test as its probe
    cells with a per-test seed."""

    def __call__(self, ctx: Context) -> None:
        from autograder.probes import probe_jobs, probe_requests

        job = ctx.job
        for name, rb in ctx.rebuilt.items():
            if ctx.only is not None and name not in ctx.only:
                continue
            cells: list[CellJob] = []
            key = f"{name}:prelude"
            ctx.support_keys.add(key)
            cells.append(CellJob(key=key, source=prelude_cell(job.student, job.spec.support), kind="student",
                                 timeout=job.options.cell_timeout))
            for n, pc in enumerate(rb.plan):
                if pc.kind == "code" and pc.explore and name not in ctx.full:
                    ctx.skipped[name] = ctx.skipped.get(name, 0) + 1
                elif pc.kind == "code":
                    key = f"{name}:cell{n}"
                    ctx.sources[key] = pc.source
                    ctx.origins[key] = pc.origin
                    cells.append(CellJob(key=key, source=pc.source, kind="student", timeout=job.options.cell_timeout))
                else:
                    test = job.spec.test(name, pc.test_id)
                    seed = derive_seed(job.base_seed, job.assignment, job.student, test.test_id, job.seed_key)
                    requests = probe_requests(test, seed)
                    ctx.seeds[test.test_id] = seed
                    ctx.nonces[test.test_id] = [r.nonce for r in requests]
                    cells += probe_jobs(requests, job.options.cell_timeout)
            ctx.cell_jobs[name] = cells


class RunKernel(Step):
    """One fresh kernel per notebook on this worker's slot; InfrastructureError propagates (retried)."""

    def __call__(self, ctx: Context) -> None:
        for name, cells in ctx.cell_jobs.items():
            if ctx.only is not None and name not in ctx.only:
                continue
            if not cells:
                ctx.outcomes[name] = {}
                continue
            slot = ctx.slot_factory()
            outcomes = slot.run_notebook(cells, budget=ctx.job.options.budget)
            ctx.outcomes[name] = {o.key: o for o in outcomes}


class JudgeProbes(Step):
    """Probe payloads -> verdicts (comparators, here in the trusted process) -> per-test records."""

    def __call__(self, ctx: Context) -> None:
        from autograder.probes import KINDS, grade_test
        from autograder.probes.variant import student_variant

        job = ctx.job
        suite = job.spec.suite_hash
        per_student = any(KINDS[p.kind].per_student for t in job.spec.tests for p in t.probes)
        # the student's own numbers, from the submission's student id, never from the notebook
        variant = student_variant(job.spec.support, job.student) if per_student else None
        for test in job.spec.tests:
            if ctx.only is not None and test.notebook not in ctx.only:
                continue
            seed = ctx.seeds.get(test.test_id) or derive_seed(job.base_seed, job.assignment, job.student,
                                                              test.test_id, job.seed_key)

            def record(fraction: float, status: str, message: str, duration: float = 0.0, verdict: str = "",
                       test=test, seed=seed) -> TestRecord:
                return TestRecord(test.test_id, test.notebook, round(fraction * test.points, 6), test.points, status,
                                  message, round(duration, 4), seed, suite, verdict)

            if test.notebook in ctx.invalid:
                ctx.tests.append(record(0.0, "invalid_notebook", ctx.invalid[test.notebook]))
                continue
            outcomes = ctx.outcomes.get(test.notebook, {})
            probe_outs = [outcomes.get(f"probe:{test.test_id}:{i}") for i in range(len(test.probes))]
            duration = sum(o.duration for o in probe_outs if o is not None)
            bad = next((o for o in probe_outs if o is None or o.status != "ok"), None)
            if bad is not None:
                status = "no_result" if bad is None else _CELL_FAILURE.get(bad.status, "error")
                message = "the test did not run" if bad is None else (bad.message or status.replace("_", " "))
                rec = record(0.0, status, message, duration)
            else:
                # every probe output of each probe cell: the judge accepts exactly one, with the request's nonce
                payloads = [list(o.probe_payloads) for o in probe_outs]
                v = grade_test(test, seed, payloads, ctx.nonces.get(test.test_id), variant)
                rec = record(v.fraction, v.status, v.message, duration)
            tamper = ctx.rebuilt.get(test.notebook)
            if tamper is not None and test.test_id in tamper.tampered:
                rec.verdict = rec.status
                rec.message = f"test cell restored from the course source ({tamper.tampered[test.test_id]}); " \
                              f"{rec.status}: {rec.message}"
                rec.status = "tampered_restored"
            ctx.tests.append(rec)


class CollectCells(Step):
    """The student's own cells with their (already capped) outputs, for feedback; never probe cells."""

    def __call__(self, ctx: Context) -> None:
        for name, cells in ctx.cell_jobs.items():
            outcomes = ctx.outcomes.get(name, {})
            for cj in cells:
                if cj.kind != "student" or cj.key in ctx.support_keys:
                    continue
                o = outcomes.get(cj.key)
                ctx.cells.append(CellRecord(name, cj.key, ctx.sources.get(cj.key, ""),
                                            o.status if o else "not_run", o.message if o else "",
                                            list(o.outputs) if o else [], round(o.duration, 4) if o else 0.0,
                                            ctx.origins.get(cj.key, "")))


# Test statuses that a skipped exploration cell could have caused (a name it defined, a value it set).
_MAYBE_FROM_SKIPPING = {"error", "no_result", "wrong_type", "kernel_died", "rejected"}


class FullRunIfNeeded(Step):
    """The fast run left out exploration cells. If a test of a notebook did not pass for a reason a left-out
    cell could explain, or one of its student cells failed, grade that notebook again with every cell and keep
    that result (the other notebooks keep theirs): skipping saves time on correct work and never costs an
    honest submission a point."""

    def __call__(self, ctx: Context) -> None:
        suspect: dict[str, list[str]] = {}
        for t in ctx.tests:
            if t.status in _MAYBE_FROM_SKIPPING or (t.status == "tampered_restored"
                                                    and t.verdict in _MAYBE_FROM_SKIPPING):
                suspect.setdefault(t.notebook, []).append(t.test_id)
        for name, outs in ctx.outcomes.items():
            if any(o.status != "ok" for k, o in outs.items() if not k.startswith("probe:")):
                suspect.setdefault(name, [])
        again = {name for name in suspect if ctx.skipped.get(name)}
        if not again:
            return
        for name in sorted(again):
            ctx.notes.append(f"{name}: graded with every cell: the run without its {ctx.skipped[name]} "
                             f"exploration cell(s) did not pass {', '.join(suspect[name]) or 'a cell'}")
            ctx.full.add(name)
            ctx.skipped[name] = 0
            del ctx.cell_jobs[name], ctx.outcomes[name]
        ctx.tests = [t for t in ctx.tests if t.notebook not in again]
        ctx.only = again
        try:
            for step in (BuildCellJobs, RunKernel, JudgeProbes):
                step()(ctx)
        finally:
            ctx.only = None
        order = {(t.notebook, t.test_id): i for i, t in enumerate(ctx.job.spec.tests)}
        ctx.tests.sort(key=lambda t: order[(t.notebook, t.test_id)])


DEFAULT_STEPS: tuple[type[Step], ...] = (ParseNotebooks, RebuildCells, BuildCellJobs, RunKernel, JudgeProbes,
                                         FullRunIfNeeded, CollectCells)


def run_steps(ctx: Context, steps: tuple[type[Step], ...] = DEFAULT_STEPS) -> Context:
    for step in steps:
        step()(ctx)
    return ctx

