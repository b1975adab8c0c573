"""The warm grader of a speed test (lifecycle/warm.py): `open` starts it, `close` hands the close to it, and the
grades are those of a close in the calling process; only root reaches it; it ends with the test."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from exchange_student import nbgrader_submit
from speedtest_course import Course, make_course

from autograder.results import without_volatile

TEST = "speedtest1"
NOTEBOOK = "speedtest1.ipynb"


def _sandbox_or_skip() -> None:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    if os.geteuid() != 0:
        pytest.skip("the warm grader holds the sandbox's slots: root only")
    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")


def _course(tmp: Path, name: str, warm: bool) -> Course:
    c = make_course(tmp / name, (TEST,))
    c.env["COURSE_SPEEDTEST_WARM"] = "1" if warm else "0"
    c.data.mkdir(parents=True)
    key = c.data / "grading.key"  # both courses seed the hidden inputs alike: their results compare
    key.write_bytes(b"w4" * 32)
    key.chmod(0o600)
    return c


def _paths(c: Course) -> tuple[Path, Path]:
    code = ("import os, course_dir; from lifecycle import warm; p = warm.socket_path(course_dir.load(), "
            f"{TEST!r}); print(p); print(p.with_suffix('.log'))")
    out = subprocess.run([sys.executable, "-c", code], env=c.env, cwd=c.root, capture_output=True, text=True,
                         check=True).stdout.split()
    return Path(out[0]), Path(out[1])


def _wait_for(event, what: str, limit_s: float = 900) -> None:
    """Poll until `event()` holds; the limit only ends a wait that would never end."""
    deadline = time.monotonic() + limit_s
    while not event():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def _results(c: Course) -> dict:
    return {p.stem: without_volatile(json.loads(p.read_text()))
            for p in (c.data / "results" / TEST).glob("*.json")}


def _submit_two(c: Course, tmp: Path) -> None:
    answer = (c.root / "source" / TEST / NOTEBOOK).read_bytes()
    unanswered = (c.root / "release" / TEST / NOTEBOOK).read_bytes()
    nbgrader_submit(c.exchange, tmp / "home", "dl-course", "alice", TEST, {NOTEBOOK: answer})
    nbgrader_submit(c.exchange, tmp / "home", "dl-course", "bob", TEST, {NOTEBOOK: unanswered})


def _connect_as_nobody(path: Path) -> str:
    code = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect(sys.argv[1])\n"
            "    print('connected')\nexcept OSError as e:\n    print(type(e).__name__)")
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-S",
                           "-c", code, str(path)], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.timeout(1800)  # kernel parents to start and two closes, on a loaded machine
def test_warm_close_grades_as_a_close_here_and_ends(tmp_path: Path):
    _sandbox_or_skip()
    warm, cold = _course(tmp_path, "warm", True), _course(tmp_path, "cold", False)
    sock, log = _paths(warm)
    opened = warm.course("speedtest", "open", TEST, "--duration", "1h", "--workers", "1").stdout
    assert "warm grader" in opened and str(log) in opened, opened
    cold_opened = cold.course("speedtest", "open", TEST, "--duration", "1h").stdout
    assert "warm grader" not in cold_opened
    for c in (warm, cold):
        _submit_two(c, tmp_path / c.root.parent.name)
    _wait_for(lambda: "warm grader: ready" in warm.course("speedtest", "status", TEST, "--once").stdout,
              "the warm grader is ready")

    # only root reaches it: the socket's folder is root's alone, the socket the server's
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700 and sock.parent.stat().st_uid == 0
    assert stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0
    assert _connect_as_nobody(sock) == "PermissionError"

    closed = warm.course("speedtest", "close", TEST, "--no-check-owner").stdout
    here = cold.course("speedtest", "close", TEST, "--no-check-owner").stdout
    assert "closed for the client" in log.read_text()
    for out in (closed, here):
        assert f"{TEST}: in time (2)" in out and "alice" in out and "bob" in out, out
    assert _results(warm) == _results(cold) and set(_results(warm)) == {"alice", "bob"}
    _wait_for(lambda: not sock.exists(), "the warm grader ended after its close")


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.timeout(1800)
def test_warm_grader_ends_when_the_test_is_closed_without_it(tmp_path: Path):
    _sandbox_or_skip()
    c = _course(tmp_path, "course", True)
    sock, log = _paths(c)
    c.course("speedtest", "open", TEST, "--duration", "1h", "--workers", "1")
    _wait_for(lambda: "warm grader: ready" in c.course("speedtest", "status", TEST, "--once").stdout,
              "the warm grader is ready")
    c.env["COURSE_SPEEDTEST_WARM"] = "0"  # this close does not ask it
    c.course("speedtest", "close", TEST, "--no-check-owner")
    _wait_for(lambda: not sock.exists(), "the warm grader ended")
    assert "the test was closed" in log.read_text()


def test_no_server_no_delegation(tmp_path: Path, monkeypatch):
    """Without a server (or with the socket a killed one left behind) close runs in the calling process."""
    import argparse

    import course_dir
    from lifecycle import warm

    c = make_course(tmp_path, (TEST,))
    monkeypatch.setenv("COURSE_ROOT", str(c.root))
    monkeypatch.setenv("COURSE_DATA_DIR", str(c.data))
    monkeypatch.delenv("COURSE_SPEEDTEST_WARM", raising=False)
    course = course_dir.load()
    args = argparse.Namespace(no_sandbox=False, no_check_owner=True, workers=None)
    assert warm.delegate(course, TEST, args) is None
    assert warm.delegate(course, TEST, argparse.Namespace(no_sandbox=True)) is None
    if os.geteuid() != 0:
        return
    path = warm.socket_path(course, TEST)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # bound, never listening: what a killed server leaves
    try:
        assert warm.state(course, TEST) == "starting"
        assert warm.delegate(course, TEST, args) is None
    finally:
        stale.close()
        path.unlink()
