"""KINDS.md is generated from the registry by its command, and the registry is complete."""
from __future__ import annotations

import subprocess
import sys

from autograder.probes import KINDS
from autograder.probes.docs import render


def test_the_doc_command_finds_kinds_md_current():
    proc = subprocess.run([sys.executable, "-m", "autograder.probes.docs", "--check"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr


def test_the_doc_lists_every_kind_with_its_defaults_and_call():
    text = render()
    for name, kind in KINDS.items():
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{name}` |")), None)
        assert row is not None, f"KINDS.md lacks {name}"
        for param, default in kind.defaults.items():
            assert f"`{param}={default!r}`" in row, f"KINDS.md: {name} {param} is not {default!r}"
        assert kind.call.describe() in row


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch):
    from autograder.probes import docs

    stale = tmp_path / "KINDS.md"
    stale.write_text(render().replace("knn.distances", "knn.dist"), encoding="utf-8")
    monkeypatch.setattr(docs, "DOC", stale)
    assert docs.main(["--check"]) == 1
    assert "knn.dist" in stale.read_text()  # --check writes nothing


def test_every_kind_is_one_unit():
    for name, kind in KINDS.items():
        assert kind.name == name and callable(kind.generate) and callable(kind.compare) and kind.doc
        if kind.per_student:  # the student's own numbers: the kernel is sent nothing
            assert kind.call.style == "value" and kind.call.kernel_inputs() == ()
        else:
            generated = kind.generate(__import__("numpy").random.default_rng(0), {**kind.defaults})
            assert set(kind.call.kernel_inputs()) <= set(generated)
