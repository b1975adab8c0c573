"""The assignment spec: what an instructor's source notebooks declare, read without executing them.

    spec = load_assignment_spec(course.source, "assignment1")
    spec.tests            # TestSpec per graded code cell: grade_id, notebook, points, probes
    spec.cells[nb]        # the canonical cells (instructor source + the released, student form) for rebuilds
    spec.suite_hash       # changes whenever a graded test (probe, points) or a comparator/input version changes

A hidden test declares its probes inside the grade cell's hidden region:

    ### BEGIN HIDDEN TESTS
    from autograder.kernel_side.course_probe import probe
    probe("knn.distances", "compute_distances", n_train=50, n_test=20)
    probe("knn.distances", "compute_distances", n_train=5, n_test=5, weight=0.5)
    ### END HIDDEN TESTS

The region is parsed with `ast`: only imports and `probe(kind, target, **literal_params)` calls are allowed;
nothing is executed. Every authoring mistake raises SpecError naming the notebook, the cell and the fix.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder.model import ProbeSpec, TestSpec
from course_errors import UserError

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# A cell tag: the cell explores (plots, long training runs) and defines nothing the graded tests need. The
# grader first runs the notebook without such cells; anything that then fails is graded again with every cell.
SKIP_TAG = "skip-when-grading"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # = c.ClearSolutions.code_stub in nbgrader_config
TEXT_STUB = "YOUR ANSWER HERE"
PROBE_FUNCTION = "probe"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(UserError, ValueError):
    """An authoring error in a source notebook; the message names the notebook, the cell and the fix."""


@dataclass(frozen=True)
class CellSpec:
    """One cell of the instructor's notebook, with the nbgrader metadata that decides how it is graded."""

    index: int
    cell_type: str
    grade_id: str | None
    points: float
    grade: bool
    solution: bool
    locked: bool
    source: str  # instructor's source: solutions and hidden tests included
    student_source: str  # as released: solutions replaced by the stub, hidden tests removed
    explore: bool = False  # tagged SKIP_TAG: exploration only (plots, tuning), skipped in the fast grading run

    @property
    def is_test(self) -> bool:
        """A graded code cell: replaced by its probe cells at grading time."""
        return self.cell_type == "code" and self.grade and not self.solution


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    path: Path
    notebooks: dict[str, Any]  # notebook name (no .ipynb) -> nbformat NotebookNode, the canonical source
    cells: dict[str, tuple[CellSpec, ...]]  # notebook name -> its cells in order
    tests: tuple[TestSpec, ...]
    suite_hash: str
    total_points: float = field(default=0.0)
    # the assignment's own Python modules (source/<assignment>/*.py, released next to the notebooks): module
    # name -> source; the grader defines the instructor's copy in the kernel, never a submitted one
    support: dict[str, str] = field(default_factory=dict)

    def tests_for(self, notebook: str) -> tuple[TestSpec, ...]:
        return tuple(t for t in self.tests if t.notebook == notebook)

    def test(self, notebook: str, test_id: str) -> TestSpec:
        for t in self.tests:
            if t.notebook == notebook and t.test_id == test_id:
                return t
        raise KeyError(f"{self.name}/{notebook}.ipynb has no graded test {test_id!r}")

    def cell(self, notebook: str, grade_id: str) -> CellSpec:
        for c in self.cells[notebook]:
            if c.grade_id == grade_id:
                return c
        raise KeyError(f"{self.name}/{notebook}.ipynb has no cell with grade_id {grade_id!r}")


def _regions(source: str, begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """(first, last) line indices of each begin/end marker pair, markers included."""
    lines = source.splitlines()
    out, start = [], None
    for i, line in enumerate(lines):
        if begin in line:
            if start is not None:
                raise SpecError(f"{where}: '{begin}' twice without '{end}' in between")
            start = i
        elif end in line:
            if start is None:
                raise SpecError(f"{where}: '{end}' without a preceding '{begin}'")
            out.append((start, i))
            start = None
    if start is not None:
        raise SpecError(f"{where}: '{begin}' is never closed; add '{end}'")
    return out


def student_source(source: str, cell_type: str, solution: bool, where: str) -> str:
    """The cell as nbgrader releases it, by nbgrader's own ClearSolutions and ClearHiddenTests.

    The markers are checked here first, so that an authoring mistake is a SpecError naming the cell.
    """
    if solution:
        _regions(source, BEGIN_SOLUTION, END_SOLUTION, where)
    _regions(source, BEGIN_HIDDEN, END_HIDDEN, where)
    if BEGIN_SOLUTION not in source and BEGIN_HIDDEN not in source and not solution:
        return source  # nothing for nbgrader to change: the common case, without building a notebook
    from nbformat import v4

    nb = v4.new_notebook()
    cell = v4.new_code_cell(source) if cell_type == "code" else v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"solution": solution, "grade": BEGIN_HIDDEN in source, "locked": False,
                                 "grade_id": "c", "points": 0, "schema_version": 3}
    nb.cells = [cell]
    for step in _release_steps():
        nb, _ = step.preprocess(nb, {"language": "python"})
    return nb.cells[0].source


@functools.lru_cache(maxsize=1)
def _release_steps() -> tuple[Any, ...]:
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    return (ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB), ClearHiddenTests())


def _literal(node: ast.expr, where: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise SpecError(f"{where}: probe arguments must be literals (numbers, strings, lists, dicts), "
                        f"not {ast.unparse(node)!r}") from None


def parse_probes(source: str, where: str) -> tuple[ProbeSpec, ...]:
    """The probe() declarations of a grade cell's hidden regions, parsed, never executed."""
    lines = source.splitlines()
    probes: list[ProbeSpec] = []
    for start, stop in _regions(source, BEGIN_HIDDEN, END_HIDDEN, where):
        region = textwrap.dedent("\n".join(lines[start + 1: stop]))
        try:
            tree = ast.parse(region)
        except SyntaxError as exc:
            raise SpecError(f"{where}: the hidden-test region is not valid Python ({exc.msg}, line {exc.lineno})") \
                from None
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue  # makes probe() available in the instructor's own kernel; ignored by the grader
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == PROBE_FUNCTION):
                raise SpecError(
                    f"{where}: a hidden-test region may contain only imports and probe(kind, target, ...) calls; "
                    f"found {ast.unparse(stmt)[:60]!r}. Hidden asserts are not run at grading: declare a probe"
                )
            if len(call.args) != 2 or any(isinstance(a, ast.Starred) for a in call.args) \
                    or any(k.arg is None for k in call.keywords):
                raise SpecError(f"{where}: write probe(\"kind\", \"target\", name=value, ...): "
                                f"two positional strings, then keyword parameters")
            kind, target = (_literal(a, where) for a in call.args)
            if not isinstance(kind, str) or not isinstance(target, str) or not _IDENT.match(target):
                raise SpecError(f"{where}: probe kind and target must be strings, the target a Python name")
            params = {k.arg: _literal(k.value, where) for k in call.keywords}
            probes.append(ProbeSpec(kind=kind, target=target, params=params))
    return tuple(probes)


def _meta(cell: Any) -> dict[str, Any]:
    nb = cell.get("metadata", {}).get("nbgrader", {})
    return nb if isinstance(nb, dict) else {}


def _load_notebook(path: Path, assignment: str) -> tuple[Any, tuple[CellSpec, ...], list[TestSpec]]:
    from autograder.probes import validate_probe

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same authoring error
        raise SpecError(f"{assignment}/{path.name}: not a readable notebook ({exc})") from None
    name = path.stem
    cells: list[CellSpec] = []
    tests: list[TestSpec] = []
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = _meta(cell)
        grade_id = meta.get("grade_id")
        where = f"{assignment}/{path.name}, cell {index}" + (f" ({grade_id})" if grade_id else "")
        if grade_id is not None:
            if grade_id in seen:
                raise SpecError(f"{where}: grade_id {grade_id!r} is used twice; give each cell its own grade_id")
            seen.add(grade_id)
        grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
        locked = bool(meta.get("locked")) or (grade and not solution)
        points = float(meta.get("points") or 0.0) if grade else 0.0
        if (grade or solution) and not grade_id:
            raise SpecError(f"{where}: an nbgrader cell needs a grade_id")
        source = cell.source
        probes = parse_probes(source, where) if cell.cell_type == "code" else ()
        if cell.cell_type != "code" and BEGIN_HIDDEN in source:
            raise SpecError(f"{where}: hidden tests belong in graded code cells, not in a {cell.cell_type} cell")
        if probes and not grade:
            raise SpecError(f"{where}: probe() declared in a cell that is not graded; mark it "
                            "'Autograder tests' in the nbgrader toolbar")
        if probes and solution:
            raise SpecError(f"{where}: probe() declared in a solution cell; put the probes in a separate "
                            "'Autograder tests' cell after it")
        explore = SKIP_TAG in (cell.get("metadata", {}).get("tags") or [])
        if explore and (grade or cell.cell_type != "code"):
            raise SpecError(f"{where}: only code cells that are not graded can be tagged {SKIP_TAG!r}")
        spec_cell = CellSpec(index, cell.cell_type, grade_id, points, grade, solution, locked, source,
                             student_source(source, cell.cell_type, solution, where), explore)
        cells.append(spec_cell)
        if not spec_cell.is_test:
            continue
        if points > 0 and not probes:
            raise SpecError(f"{where}: this graded cell has {points:g} points but declares no probe; add "
                            f"probe(\"kind\", \"function_name\", ...) between '{BEGIN_HIDDEN}' and '{END_HIDDEN}'")
        if probes and points <= 0:
            raise SpecError(f"{where}: probes are declared but the cell has no points; give it points")
        for p in probes:
            try:
                validate_probe(p)
            except ValueError as exc:
                raise SpecError(f"{where}: {exc}") from None
        if probes:
            tests.append(TestSpec(test_id=grade_id, notebook=name, points=points, probes=probes))
    return nb, tuple(cells), tests


def suite_hash_of(tests: tuple[TestSpec, ...], support: dict[str, str] | None = None) -> str:
    """sha256 over the canonical test definitions, the support modules and the comparator/input versions
    (not markdown, not visible asserts, not solutions): equal hashes mean equal grading."""
    from autograder.probes import COMPARATOR_VERSION

    canon = {
        "comparators": COMPARATOR_VERSION,
        "support": dict(sorted((support or {}).items())),
        "tests": [
            {"notebook": t.notebook, "test_id": t.test_id, "points": t.points,
             "probes": [{"kind": p.kind, "target": p.target, "params": p.params} for p in t.probes]}
            for t in sorted(tests, key=lambda t: (t.notebook, t.test_id))
        ],
    }
    return hashlib.sha256(json.dumps(canon, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_assignment_spec(source_dir: Path, assignment: str) -> AssignmentSpec:
    """Read source_dir/assignment/*.ipynb (source_dir: the course's source/ folder)."""
    folder = Path(source_dir) / assignment
    if not folder.is_dir():
        raise SpecError(f"no assignment {assignment!r} in {source_dir}: expected a folder {folder}")
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise SpecError(f"{folder} holds no notebooks (*.ipynb)")
    notebooks, cells, tests = {}, {}, []
    for path in paths:
        nb, nb_cells, nb_tests = _load_notebook(path, assignment)
        notebooks[path.stem] = nb
        cells[path.stem] = nb_cells
        tests += nb_tests
    frozen = tuple(tests)
    support = _support_modules(folder)
    _check_per_student(assignment, frozen, support)
    return AssignmentSpec(
        name=assignment, path=folder, notebooks=notebooks, cells=cells, tests=frozen,
        suite_hash=suite_hash_of(frozen, support), total_points=sum(t.points for t in frozen), support=support,
    )


def _check_per_student(assignment: str, tests: tuple[TestSpec, ...], support: dict[str, str]) -> None:
    """Probes on the student's own numbers need the assignment's variant(student_id), with their questions."""
    from autograder.probes import KINDS
    from autograder.probes.inputs import make_inputs
    from autograder.probes.variant import student_variant

    probes = [(t, p) for t in tests for p in t.probes if KINDS[p.kind].per_student]
    if not probes:
        return
    try:
        numbers = student_variant(support, "a-student")
    except Exception as exc:  # noqa: BLE001 - any failure of the instructor's module is an authoring error
        raise SpecError(f"{assignment}: variant('a-student') failed: {type(exc).__name__}: {exc}") from None
    if numbers is None:
        raise SpecError(f"{assignment}: probe kind {probes[0][1].kind} judges each student's own numbers; add a "
                        "module next to the notebook that defines variant(student_id) -> dict of questions")
    for test, p in probes:
        try:
            make_inputs(p.kind, 0, p.params, numbers)
        except (ValueError, KeyError, TypeError) as exc:
            raise SpecError(f"{assignment}/{test.notebook}.ipynb ({test.test_id}): probe {p.kind}: {exc}") from None


def _support_modules(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("."):
            continue
        if not _IDENT.match(path.stem):
            raise SpecError(f"{path}: a module next to the notebooks needs a Python name (letters, digits, '_')")
        source = path.read_text(encoding="utf-8")
        try:
            compile(source, str(path), "exec")
        except SyntaxError as exc:
            raise SpecError(f"{path}: not valid Python ({exc.msg}, line {exc.lineno})") from None
        out[path.stem] = source
    return out
