"""Code -> normalised tokens, each with the source line it came from. Pure, stdlib only (runs in workers).

What a copier can change without changing the program is normalised away:
- comments, blank lines, whitespace, redundant brackets, docstrings: dropped (the cell is parsed and written
  back by ast.unparse, then tokenised; code that does not parse goes through Python's tokenize as it is);
- identifiers the student names (variables, parameters, helper functions, `self.` attributes): one placeholder;
  builtins, keywords, library attributes (`np.argsort`, `.sum`) stay, since they carry the method;
  module aliases (`import numpy as xp`) become the module's name;
- string literals: one placeholder; numbers stay;
- accumulating loops and the equivalent comprehensions: one form (similarity.canon).
"""
from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize

ID, STR = "$", "'"
_BUILTINS = frozenset(dir(builtins))
_MAGIC = re.compile(r"^\s*([%!?]|[\w.]+\?{1,2}\s*$)")  # %magic, !shell, ?help, obj?
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRUCT = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_FSTRING = (getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -1))
DEFAULT_ALIASES = {"np": "numpy", "torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "math": "math"}

Token = tuple[str, int]  # (normalised text, 1-based line in the original cell)


def strip_magics(source: str) -> str:
    """IPython magics and shell escapes become blank lines (line numbers stay)."""
    return "\n".join("" if _MAGIC.search(line) else line for line in source.splitlines())


def aliases(sources: list[str]) -> dict[str, str]:
    """Module aliases bound by import statements in these cells (alias -> dotted module name)."""
    found = dict(DEFAULT_ALIASES)
    for src in sources:
        if "import" not in src:
            continue
        try:
            tree = ast.parse(strip_magics(src))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    found[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    found[a.asname or a.name] = f"{node.module}.{a.name}"
    return found


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names the code binds itself, keyword-argument names). A local `sum = ...` is the student's variable,
    not the builtin; `axis` in `np.sum(x, axis=1)` is a library's parameter, which a copier cannot rename."""
    bound: set[str] = set()
    keywords: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.keyword):
            if node.arg:
                keywords.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return bound, keywords - bound


def _statements(tree: ast.AST):
    """Statements in a fixed order (blocks only, expressions are not entered)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                stack.extend(reversed(block))
        if isinstance(node, (ast.stmt, ast.excepthandler)):
            yield node


def _line_map(original: ast.Module, text: str) -> tuple[dict[int, int], dict[int, int]]:
    """(line of the unparsed `text` -> first line of the statement it came from in the original cell,
    first line -> last line of each simple statement there, e.g. a loop rewritten as one comprehension)."""
    try:
        again = ast.parse(text)
    except SyntaxError:
        return {}, {}
    mapping: dict[int, int] = {}
    spans: dict[int, int] = {}
    for old, new in zip(_statements(original), _statements(again)):
        if type(old) is not type(new):
            return {}, {}
        body = getattr(new, "body", None)
        compound = isinstance(body, list) and body
        last = body[0].lineno - 1 if isinstance(body, list) and body else new.end_lineno or new.lineno
        for line in range(new.lineno, last + 1):
            mapping[line] = old.lineno
        if not compound and old.end_lineno:
            spans[old.lineno] = max(spans.get(old.lineno, 0), old.end_lineno)
    return mapping, spans


_LEX = re.compile(r"""
 (?P<str>[rRbBuUfF]{0,2}(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))
|(?P<num>0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)
|(?P<name>[^\W\d]\w*)
|(?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%&|^@<>=!]=|[^\s'"\\])
|(?P<space>[ \t]+)""", re.VERBOSE)


class _Unlexable(Exception):
    pass


def _lex(text: str):
    """(kind, text, line) of ast.unparse output: one statement per line, 4-space indents, one-line strings.
    A regular expression is enough for that form and much faster than tokenize; anything else raises."""
    indents = [0]
    for n, line in enumerate(text.split("\n"), 1):
        body = line.lstrip(" ")
        if not body:
            continue
        width = len(line) - len(body)
        if width > indents[-1]:
            indents.append(width)
            yield "struct", "{", n
        while width < indents[-1]:
            indents.pop()
            yield "struct", "}", n
        pos = 0
        for m in _LEX.finditer(body):
            if m.start() != pos:
                raise _Unlexable(line)
            pos = m.end()
            if m.lastgroup != "space":
                yield m.lastgroup, m.group(), n
        if pos != len(body):
            raise _Unlexable(line)
        yield "struct", ";", n
    for _ in indents[1:]:
        yield "struct", "}", len(text.split("\n"))


def _tokenize(text: str):
    """(kind, text, line) by Python's tokenize: for code that does not parse (kept up to where it breaks)."""
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == _FSTRING[0]:
                depth += 1
                if depth == 1:
                    yield "str", STR, tok.start[0]
            elif depth:
                depth -= tok.type == _FSTRING[1]
            elif tok.type in _STRUCT:
                yield "struct", _STRUCT[tok.type], tok.start[0]
            else:
                kind = {tokenize.STRING: "str", tokenize.NAME: "name"}.get(tok.type, "op")
                yield kind, tok.string, tok.start[0]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return  # an unfinished cell: keep the tokens read so far


def _tokens(lexed, line_of, bound: set[str], alias: dict[str, str], keep: set[str]) -> list[Token]:
    out: list[Token] = []
    prev, prev2 = "", ""
    for kind, text, line in lexed:
        if kind == "str":
            norm = STR
        elif kind == "name":
            norm = _name(text, prev, prev2, bound, alias, keep)
        else:
            norm = text
        out.append((norm, line_of(line)))
        prev2, prev = prev, text
    return out


def _name(name: str, prev: str, prev2: str, bound: set[str], alias: dict[str, str], keep: set[str]) -> str:
    if keyword.iskeyword(name):
        return name
    if prev == ".":
        return ID if prev2 in ("self", "cls") else name  # attributes the student invents vs. library API
    if name in bound:
        return ID
    if name in alias:
        return alias[name]
    return name if name in _BUILTINS or name in keep else ID


def normalise(source: str, alias: dict[str, str] | None = None) -> list[Token]:
    """Normalised tokens of one cell. Code that does not parse is still tokenised, without the rewrite."""
    return normalise_with_spans(source, alias)[0]


def normalise_with_spans(source: str, alias: dict[str, str] | None = None) -> tuple[list[Token], dict[int, int]]:
    """(normalise(source), first line -> last line of each statement that spans several lines)."""
    alias = DEFAULT_ALIASES if alias is None else alias
    clean = strip_magics(source)
    try:
        return _via_ast(clean, alias)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not Python, or nested beyond the parser
        return _tokens(_tokenize(clean), lambda n: n, set(), alias, set()), {}


def _via_ast(clean: str, alias: dict[str, str]) -> tuple[list[Token], dict[int, int]]:
    from similarity.canon import canonical

    tree = ast.parse(clean)
    bound, keep = _names(tree)
    tree = canonical(tree)
    text = ast.unparse(tree)
    mapping, spans = _line_map(tree, text)
    spans = {a: b for a, b in spans.items() if b > a}
    try:
        return _tokens(list(_lex(text)), lambda n: mapping.get(n, 1), bound, alias, keep), spans
    except _Unlexable:
        return _tokens(_tokenize(text), lambda n: mapping.get(n, 1), bound, alias, keep), spans
