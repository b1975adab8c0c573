"""`course collect` of a mistyped assignment: one clear line, exit 2, nothing written."""
from __future__ import annotations

import shutil
from pathlib import Path

from course_cli import main

REPO = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mode, p.stat().st_size) for p in folder.rglob("*")}


def test_collect_of_an_unknown_assignment_is_refused(tmp_path, monkeypatch, capsys):
    from course_dir import load, prepare

    root = tmp_path / "course"
    (root / "source" / "assignment1").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    prepare(load())
    before = _snapshot(tmp_path)

    assert main(["collect", "asignment1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'asignment1': no such assignment" in err[0] and "check the spelling" in err[0], err
    assert _snapshot(tmp_path) == before  # no database, no folder, nothing
    assert not (tmp_path / "data" / "gradebook.db").exists()


def test_assignments_of_the_policy_and_of_source_are_known(tmp_path):
    from types import SimpleNamespace

    from gradebook.collect import known_assignment

    (tmp_path / "source" / "only_in_source").mkdir(parents=True)
    shutil.copy(REPO / "course.toml", tmp_path)
    course = SimpleNamespace(source=tmp_path / "source", policy_file=tmp_path / "course.toml")
    assert known_assignment(course, "only_in_source")
    assert known_assignment(course, "assignment2")  # an item of course.toml
    assert known_assignment(course, "speedtest3")  # a speed test of course.toml
    assert not known_assignment(course, "assignment9")
