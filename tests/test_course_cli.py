"""The `course` dispatcher's error contract: a UserError is one line and exit status 2; anything else is a
bug and keeps its traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import course_cli
from course_errors import UserError

REPO = Path(__file__).resolve().parents[1]


def test_user_error_is_one_line_and_status_2(monkeypatch, capsys):
    def handler(args):
        raise UserError("thing.csv line 3: field 'score': not a number; write e.g. 1.5")

    monkeypatch.setattr(course_cli, "_resolve", lambda name: handler)
    assert course_cli.main(["feedback", "hw"]) == 2
    err = capsys.readouterr().err
    assert err == "course feedback: error: thing.csv line 3: field 'score': not a number; write e.g. 1.5\n"


@pytest.mark.parametrize("exc", [ValueError("bad value inside a library"), FileNotFoundError("/x"),
                                 PermissionError("/y"), KeyError("k")])
def test_any_other_error_is_a_bug_and_propagates(monkeypatch, exc):
    def handler(args):
        raise exc

    monkeypatch.setattr(course_cli, "_resolve", lambda name: handler)
    with pytest.raises(type(exc)):
        course_cli.main(["feedback", "hw"])


def test_outside_a_course_is_a_user_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, "-m", "course_cli", "feedback", "hw"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "no nbgrader_config.py" in r.stderr and "Traceback" not in r.stderr
