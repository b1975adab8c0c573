"""Make equivalent code look alike before it is tokenised: an `ast` rewrite, pure, no I/O.

- docstrings and bare string statements are dropped (they are prose, not code);
- a loop that only builds a list, a sum or an array row by row becomes the comprehension that does the same:

      out = []                               out = [f(x) for x in xs if c(x)]
      for x in xs:                  ->
          if c(x):
              out.append(f(x))

      total = 0; for x in xs: total += e     ->  total = sum(e for x in xs)
      D = np.zeros(...); for i in r: D[i] = e  ->  D = [e for i in r]

- `list(...)`, `np.array(...)`, `torch.stack(...)` and the like around a comprehension, and
  `list(map(lambda v: e, xs))`, reduce to the bare comprehension.

Rewritten nodes keep the source location of the statements they replace, so matches map back to the lines
the student wrote.
"""
from __future__ import annotations

import ast

# Calls whose only job is to turn a comprehension into a container: stripped around comprehensions.
_WRAPPERS = {"list", "tuple", "array", "asarray", "stack", "tensor", "as_tensor", "vstack", "hstack", "concatenate",
             "cat"}
_PREALLOC = {"zeros", "empty", "zeros_like", "empty_like", "full", "ones", "ones_like", "full_like"}


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    return None


def _unroll(loop: ast.For | ast.AsyncFor) -> tuple[str, str, ast.expr, list[ast.comprehension]] | None:
    """(kind, accumulator, element, generators) when the loop only accumulates, else None."""
    gens: list[ast.comprehension] = []
    node: ast.stmt = loop
    while True:
        if isinstance(node, (ast.For, ast.AsyncFor)) and not node.orelse and len(node.body) == 1:
            gens.append(ast.comprehension(target=node.target, iter=node.iter, ifs=[],
                                          is_async=int(isinstance(node, ast.AsyncFor))))
            node = node.body[0]
        elif isinstance(node, ast.If) and gens and not node.orelse and len(node.body) == 1:
            gens[-1].ifs.append(node.test)
            node = node.body[0]
        else:
            break
    if not gens:
        return None
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and len(node.value.args) == 1
            and not node.value.keywords and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in ("append", "add") and isinstance(node.value.func.value, ast.Name)):
        return node.value.func.attr, node.value.func.value.id, node.value.args[0], gens
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name):
        return "sum", node.target.id, node.value, gens
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript):
        sub = node.targets[0]
        index = sub.slice.elts[0] if isinstance(sub.slice, ast.Tuple) and sub.slice.elts else sub.slice
        loop_vars = {n.id for g in gens for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        if isinstance(sub.value, ast.Name) and isinstance(index, ast.Name) and index.id in loop_vars:
            return "setitem", sub.value.id, node.value, gens
    return None


def _initialises(stmt: ast.stmt | None, name: str, kind: str) -> bool:
    """Whether `stmt` is the `name = []` / `= set()` / `= 0` / `= np.zeros(...)` that the loop then fills."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id == name):
        return False
    v = stmt.value
    if kind == "append":
        return isinstance(v, ast.List) and not v.elts
    if kind == "add":
        return isinstance(v, ast.Call) and _call_name(v) == "set" and not v.args
    if kind == "sum":
        return isinstance(v, ast.Constant) and v.value == 0 and not isinstance(v.value, bool)
    return _call_name(v) in _PREALLOC


def _comprehension(kind: str, elt: ast.expr, gens: list[ast.comprehension]) -> ast.expr:
    if kind == "add":
        return ast.SetComp(elt=elt, generators=gens)
    if kind == "sum":
        return ast.Call(func=ast.Name(id="sum", ctx=ast.Load()), args=[ast.GeneratorExp(elt=elt, generators=gens)],
                        keywords=[])
    return ast.ListComp(elt=elt, generators=gens)


def _rewrite_block(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if _is_docstring(stmt):
            continue
        found = _unroll(stmt) if isinstance(stmt, (ast.For, ast.AsyncFor)) else None
        if found is None:
            out.append(stmt)
            continue
        kind, name, elt, gens = found
        comp = _comprehension(kind, elt, gens)
        first = stmt
        if out and _initialises(out[-1], name, kind):
            first = out.pop()
            new: ast.stmt = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=comp)
        elif kind == "setitem":
            new = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=comp)
        else:
            new = ast.AugAssign(target=ast.Name(id=name, ctx=ast.Store()), op=ast.Add(), value=comp)
        new.lineno, new.col_offset = first.lineno, first.col_offset
        new.end_lineno, new.end_col_offset = stmt.end_lineno, stmt.end_col_offset
        out.append(new)
    if not out:  # only a docstring: the block still needs a statement
        out.append(ast.copy_location(ast.Pass(), stmts[0]))
    return out


class _Canon(ast.NodeTransformer):
    def generic_visit(self, node: ast.AST) -> ast.AST:
        # Blocks first, then the children: an outer loop takes its nested loops along into one comprehension.
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, name, _rewrite_block(block))
        return super().generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = _call_name(node)
        if name in _WRAPPERS and len(node.args) == 1 and not node.keywords and isinstance(
                node.args[0], (ast.ListComp, ast.GeneratorExp)):
            inner = node.args[0]
            return ast.copy_location(ast.ListComp(elt=inner.elt, generators=inner.generators), node)
        mapped = node.args[0] if name == "list" and len(node.args) == 1 else None
        if isinstance(mapped, ast.Call) and _call_name(mapped) == "map" and len(mapped.args) == 2:
            fn, seq = mapped.args
            if isinstance(fn, ast.Lambda) and len(fn.args.args) == 1:
                target = ast.Name(id=fn.args.args[0].arg, ctx=ast.Store())
                return ast.copy_location(ast.ListComp(elt=fn.body, generators=[
                    ast.comprehension(target=target, iter=seq, ifs=[], is_async=0)]), node)
        return node


def canonical(tree: ast.Module) -> ast.Module:
    """The tree with docstrings dropped and accumulating loops turned into comprehensions (in place)."""
    return _Canon().visit(tree)  # new statements carry their lines; unparse needs no other locations
