"""`course doctor` on a course tree: a wrong mode is reported (one line, with the fix, exit 1); --fix repairs it."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from course_cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(base: Path, monkeypatch) -> Path:
    """A course whose data dir and exchange were created by the course's own code, checkout already private."""
    from course_dir import load, prepare

    root = base / "course"
    (root / "source" / "assignment1").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    os.chmod(root, 0o711)
    os.chmod(root / "source", 0o700)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(base / "data"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    prepare(load())
    return base / "data"


def doctor(capsys, *args: str) -> tuple[int, list[str]]:
    rc = main(["doctor", *args])
    return rc, capsys.readouterr().out.splitlines()


def test_a_clean_tree_passes(tree, capsys):
    rc, out = doctor(capsys)
    assert rc == 0 and out[-1].startswith("course doctor: every path"), out


def test_a_world_readable_submission_is_reported_and_fixed(tree, capsys):
    folder = tree / "submitted" / "alice" / "assignment1"
    folder.mkdir(parents=True)
    notebook = folder / "knn.ipynb"
    notebook.write_text("{}")
    for p in (tree / "submitted" / "alice", folder):
        os.chmod(p, 0o700)
    os.chmod(notebook, 0o644)
    inbound = tree / "exchange" / "dl-course" / "inbound"
    os.chmod(inbound, 0o2733)  # nbgrader's mode without the sticky bit

    rc, out = doctor(capsys)
    assert rc == 1
    assert f"{notebook}: mode 0644, want 0600 (instructor only); fix: chmod go= {notebook}" in out
    assert f"{inbound}: mode 2733, want 3733 (writable, not listable, sticky); fix: chmod 3733 {inbound}" in out
    assert len(out) == 2, out  # one line per wrong path, nothing else

    rc, out = doctor(capsys, "--fix")
    assert rc == 0, out
    assert stat.S_IMODE(notebook.stat().st_mode) == 0o600
    assert stat.S_IMODE(inbound.stat().st_mode) == 0o3733
    assert doctor(capsys)[0] == 0


def test_feedback_goes_to_the_students_group(tree, capsys, students):
    import grp

    alice = students[0]
    folder = tree / "feedback" / alice / "assignment1"
    folder.mkdir(parents=True)
    page = folder / "feedback.html"
    page.write_text("<p>ok</p>")
    for p in (folder.parent, folder):
        os.chmod(p, 0o755)
    os.chmod(page, 0o644)

    rc, out = doctor(capsys)
    assert rc == 1
    assert any(line.startswith(f"{page}: group gid 0, want {alice}") for line in out), out
    assert any(line.startswith(f"{page}: mode 0644, want 0640") for line in out), out

    assert doctor(capsys, "--fix")[0] == 0
    st = page.stat()
    assert grp.getgrgid(st.st_gid).gr_name == alice and stat.S_IMODE(st.st_mode) == 0o640
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750


def test_a_private_home_above_the_exchange_is_reported_never_changed(base, monkeypatch, capsys):
    from course_dir import load, prepare

    home = base / "home"
    home.mkdir(mode=0o700)
    root = home / "course"
    (root / "source").mkdir(parents=True, mode=0o700)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    os.chmod(root, 0o711)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(root / ".course-data"))
    monkeypatch.delenv("COURSE_EXCHANGE", raising=False)
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    prepare(load())

    rc, out = doctor(capsys, "--fix")
    assert rc == 1
    fix = (f"fix: chmod o+x {home}, or put the data (COURSE_DATA_DIR) and exchange (COURSE_EXCHANGE) outside "
           "private homes, e.g. /srv/<course>")
    data = root / ".course-data"
    assert out == [f"{home}: students cannot traverse it to reach {data / 'exchange'}; {fix}",
                   f"{home}: students cannot traverse it to reach {data / 'feedback'}; {fix}"]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
