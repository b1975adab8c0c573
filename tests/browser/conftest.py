"""Fixtures of the browser test: a course server, a real student account running JupyterLab, Debian's Chromium.

Screenshots go to tests/artifacts/browser/<test>/ (git-ignored); the path is printed."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_page import CHROMIUM, CHROMIUM_ARGS, LabPage
from lab_server import REPO, Course, StudentLab, make_course, scratch_base, set_dates_from_now, student_home

STUDENT = "course-test-web"
ASSIGNMENTS = ("assignment1", "speedtest1")
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing (pip install -c requirements.lock -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: scripts/install-system-deps installs Debian's chromium as root")
    return sync_playwright


@pytest.fixture(scope="module")
def student() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("the browser test runs JupyterLab as a real student account: run as root")
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("useradd and runuser (util-linux, passwd) are needed for a real student account")
    created = False
    try:
        pwd.getpwnam(STUDENT)
    except KeyError:  # -U: the student's own group, as on a server with USERGROUPS_ENAB
        subprocess.run(["useradd", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", STUDENT],
                       check=True, capture_output=True)
        created = True
    yield STUDENT
    if created:
        subprocess.run(["userdel", STUDENT], check=False, capture_output=True)


@pytest.fixture(scope="module")
def server(student) -> Iterator[tuple[Course, StudentLab]]:
    sync_playwright = _playwright()  # skip before any set-up when the browser cannot run
    del sync_playwright
    base = scratch_base()
    try:
        course = make_course(base, ASSIGNMENTS)
        set_dates_from_now(course.root / "course.toml", "assignment1", "speedtest1")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        lab = StudentLab(student, student_home(base, student), course.exchange, ARTIFACTS / "jupyter-lab.log")
        try:
            lab.wait_ready()
            yield course, lab
        finally:
            lab.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def browser_context(server) -> Iterator:
    sync_playwright = _playwright()
    profile = Path(tempfile.mkdtemp(prefix="course-chromium-"))  # a new, empty profile
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def lab_page(request, server, browser_context) -> Iterator[LabPage]:
    _, lab = server
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    print(f"\nscreenshots: {shots}")
    page = browser_context.new_page()
    driver = LabPage(page, lab.url, lab.token, shots)
    try:
        driver.open_lab()
        yield driver
    finally:  # the last state of the page, also when a step failed
        driver.shot("end")
        page.close()
