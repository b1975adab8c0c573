"""Every input kind has a comparator (and back), and autograder/probes/KINDS.md lists them all."""
from __future__ import annotations

from pathlib import Path

from autograder.comparators import COMPARATORS
from autograder.kernel_side.course_inputs import KINDS

DOC = Path(__file__).resolve().parents[3] / "autograder" / "probes" / "KINDS.md"


def test_every_kind_has_a_comparator():
    assert set(KINDS) == set(COMPARATORS)


def test_kinds_doc_lists_every_kind_with_its_defaults():
    text = DOC.read_text()
    for name, kind in KINDS.items():
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{name}` |")), None)
        assert row is not None, f"KINDS.md lacks {name}"
        for param, default in kind.defaults.items():
            assert f"`{param}={default!r}`" in row, f"KINDS.md: {name} {param} is not {default!r}"
