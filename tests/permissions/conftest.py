"""Real unprivileged student accounts (created with useradd, removed at the end) and a course server tree that
they can reach: the base folder is traversable, everything under it has the modes the course gives it."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

STUDENTS = ("course-test-alice", "course-test-bob")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def students() -> Iterator[tuple[str, ...]]:
    if os.geteuid() != 0:
        pytest.skip("permission tests create real student accounts: run as root")
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("useradd and runuser (util-linux, passwd) are needed for real student accounts")
    nologin = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    created = []
    for name in STUDENTS:
        try:
            pwd.getpwnam(name)
        except KeyError:  # -U: the student's own group, as on a server with USERGROUPS_ENAB
            subprocess.run(["useradd", "-U", "-M", "-d", "/nonexistent", "-s", nologin, name], check=True,
                           capture_output=True)
            created.append(name)
    yield STUDENTS
    for name in created:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder under /tmp that other users may traverse (pytest's own tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="course-perm-"))
    os.chmod(path, 0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
