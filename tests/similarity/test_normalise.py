"""What the normalisation makes equal, and what it keeps apart."""
from __future__ import annotations

from similarity.detect import kgram_hashes, winnowed
from similarity.normalise import aliases, normalise, normalise_with_spans


def toks(src: str, alias=None) -> list[str]:
    return [t for t, _ in normalise(src, alias)]


ORIGINAL = '''def f(X, Y):
    total = np.sum(X * Y, axis=1)
    return np.sqrt(total)
'''


def test_comments_blank_lines_docstrings_and_names_do_not_count():
    disguised = '''def f(first, second):
    """My own work."""

    # multiply, then sum the rows
    acc = np.sum(first * second,   axis=1)   # row sums

    return np.sqrt(
        acc)
'''
    assert toks(disguised) == toks(ORIGINAL)


def test_library_calls_and_keywords_are_kept():
    assert toks(ORIGINAL) != toks(ORIGINAL.replace("np.sqrt", "np.exp"))
    assert toks(ORIGINAL) != toks(ORIGINAL.replace("axis=1", "axis=0"))
    assert toks(ORIGINAL) != toks(ORIGINAL.replace("axis=1", "keepdims=1"))
    assert "numpy" in toks(ORIGINAL) and "sqrt" in toks(ORIGINAL)


def test_module_alias_is_the_module():
    other = "import numpy as xp\n" + ORIGINAL.replace("np.", "xp.")
    assert toks(other, aliases([other]))[4:] == toks("import numpy\n" + ORIGINAL)[2:]


def test_builtin_shadowed_by_a_variable_is_a_variable():
    assert toks("sum = 0\nsum += x") == toks("acc = 0\nacc += x")
    assert toks("y = sum(x)") != toks("y = max(x)")


def test_self_attributes_are_names_library_attributes_are_not():
    assert toks("self.X_train = X") == toks("self.data = X")
    assert toks("n = X.shape[0]") != toks("n = X.size[0]")


def test_append_loop_is_the_list_comprehension():
    loop = '''out = []
for i in range(n):
    if keep(i):
        out.append(f(i))
'''
    assert toks(loop) == toks("out = [f(i) for i in range(n) if keep(i)]")
    assert toks(loop) == toks("out = list(f(i) for i in range(n) if keep(i))")


def test_nested_loops_and_preallocated_rows():
    nested = '''pairs = []
for a in A:
    for b in B:
        pairs.append(a * b)
'''
    assert toks(nested) == toks("pairs = [a * b for a in A for b in B]")
    rows = '''D = np.zeros((n, m))
for i in range(n):
    D[i, :] = np.abs(X[i] - Y).sum(1)
'''
    assert toks(rows) == toks("D = np.array([np.abs(X[i] - Y).sum(1) for i in range(n)])")


def test_sum_loop_and_map_lambda():
    assert toks("t = 0\nfor v in xs:\n    t += v * v\n") == toks("t = sum(v * v for v in xs)")
    assert toks("r = list(map(lambda v: v + 1, xs))") == toks("r = [v + 1 for v in xs]")


def test_a_loop_that_does_more_is_left_alone():
    loop = "out = []\nfor v in xs:\n    out.append(v)\n    print(v)\n"
    assert toks(loop) != toks("out = [v for v in xs]")


def test_magics_and_broken_code_still_give_tokens():
    assert toks("%timeit f(x)\n!ls\nnp.sum?\n" + ORIGINAL) == toks(ORIGINAL)
    assert toks("x = 1  # why?\n") == toks("x = 1\n") != []  # a question in a comment is not IPython help
    broken = "def f(X:\n    return X  # unfinished"
    assert toks(broken)[:3] == ["def", "$", "("]


def test_tokens_map_to_the_lines_the_student_wrote():
    src = '''# header
def f(X):

    out = []
    for i in range(3):
        out.append(i)   # rewritten with line 4 into one comprehension
    return out
'''
    tokens, spans = normalise_with_spans(src)
    assert list(dict.fromkeys(line for _, line in tokens)) == [2, 4, 7]
    assert [t for t, line in tokens if line == 7][:2] == ["return", "$"]
    assert spans == {4: 6}  # the comprehension stands for lines 4 to 6


def test_fingerprints_are_stable_across_runs():
    """Stable hashes (not Python's salted hash()): the same code gives the same fingerprints every time."""
    import subprocess
    import sys

    code = ("from similarity.detect import kgram_hashes; "
            "print(kgram_hashes(list('abcdefghijklmnop')).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    assert eval(runs.pop()) == kgram_hashes(list("abcdefghijklmnop")).tolist()
    hashes, positions = winnowed(list("abcdefghijklmnopqrstuvwxyz"))
    assert len(hashes) == len(positions) > 0


def test_code_nested_beyond_the_parser_is_tokenised_not_fatal():
    tokens = toks("x = " + "-" * 50000 + "1")  # RecursionError in the parser: plain tokens instead
    assert tokens[:3] == ["$", "=", "-"] and tokens[-2:] == ["1", ";"] and len(tokens) == 50004
