"""The shape of the code: no module over 400 lines, no import cycle (ruff caps functions: C901, PLR0915).

The import graph is read with `ast` from the package files, so nothing is imported to check it. Only
imports that run when a module loads count: an import inside a function is lazy on purpose (it breaks a
cycle or keeps start-up fast), and one under `if TYPE_CHECKING:` never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every package at the top of the repository (a new one is covered without editing this test).
PACKAGES = tuple(sorted(p.parent.name for p in ROOT.glob("*/__init__.py")))
TOP_MODULES = tuple(sorted(p.name for p in ROOT.glob("course_*.py")))
MAX_MODULE_LINES = 400


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages and top-level modules."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    for name in TOP_MODULES:
        if (ROOT / name).exists():
            found[name.removesuffix(".py")] = ROOT / name
    return found


MODULES = module_files()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def load_time_imports(body: list[ast.stmt]):
    """The import statements that run when the module loads: the module body and its if/try/with blocks,
    not function or class bodies, not `if TYPE_CHECKING:`."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from load_time_imports(node.body)
            yield from load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from load_time_imports(block)
        elif isinstance(node, ast.With):
            yield from load_time_imports(node.body)


def _resolve_base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    anchor = module.split(".")
    anchor = anchor if is_package else anchor[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def imported_modules(module: str) -> set[str]:
    """The project modules that `module` imports when it loads (the deepest module each import names)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    targets: set[str] = set()
    for node in load_time_imports(tree.body):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _resolve_base(module, node)
            # `from pkg import sub` loads the submodule pkg.sub; `from pkg import name` loads pkg itself.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            # `import a.b.c` of a name that is not a module (an attribute): the longest module prefix.
            parts = name.split(".")
            while parts and ".".join(parts) not in MODULES:
                parts.pop()
            if parts and ".".join(parts) != module:
                targets.add(".".join(parts))
    return targets


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_project_modules_are_found():
    # Guards the other tests against passing on an empty graph.
    assert {"autograder", "gradebook", "reference_impl", "similarity"} <= set(PACKAGES)
    assert {"autograder.spec", "gradebook.compute", "reference_impl.knn", "course_cli"} <= set(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_has_at_most_400_lines(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, (
        f"{MODULES[module].relative_to(ROOT)} has {lines} lines (at most {MAX_MODULE_LINES}): split it by job"
    )


def test_no_import_cycle_between_project_modules():
    graph = {module: imported_modules(module) for module in MODULES}
    assert sum(len(targets) for targets in graph.values()) > len(MODULES) // 2  # the graph was read
    cycles = find_cycles(graph)
    assert not cycles, "modules that import each other when they load: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_imports_resolve_to_project_modules():
    assert "gradebook.compute" in imported_modules("gradebook.explain")  # from gradebook.compute import ...
    assert "autograder.probes.decode" in imported_modules("autograder.probes._common")  # from .decode import ...
    assert not any(m.startswith(("numpy", "pandas")) for m in imported_modules("gradebook.compute"))


def test_lazy_and_type_checking_imports_are_not_edges():
    tree = ast.parse(
        "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gradebook.compute\n"
        "try:\n    import autograder.spec\nexcept ImportError:\n    pass\n"
        "def f():\n    import reference_impl.knn\n"
    )
    names = {alias.name for node in load_time_imports(tree.body) for alias in node.names}
    assert names == {"os", "TYPE_CHECKING", "autograder.spec"}
