"""A course server with one real student account, and that student's own JupyterLab on loopback.

The instructor side is the repository's nbgrader_config.py and course.toml in a scratch course directory
(assignments copied from source/), generated and released to a real exchange with nbgrader's own commands.
The student runs `jupyter lab` as their own unprivileged account (runuser, empty environment), with only a
student's nbgrader_config.py (the exchange and the course id) in their home.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COURSE_ID = "dl-course"
STUDENT_CONFIG = """c = get_config()  # noqa: F821
c.Exchange.root = {exchange!r}
c.Exchange.assignment_dir = {home!r}
c.CourseDirectory.course_id = {course!r}
"""
# Lab settings of a quiet, deterministic session: no news pop-up, every cell kept in the page.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass
class Course:
    root: Path
    data: Path
    exchange: Path
    env: dict[str, str]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(argv), cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=900, check=False)
        assert not check or proc.returncode == 0, f"{argv}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc

    def course(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "course_cli", *argv, check=check)

    def result(self, assignment: str, student: str) -> dict:
        return json.loads((self.data / "results" / assignment / f"{student}.json").read_text())


def make_course(base: Path, assignments: tuple[str, ...]) -> Course:
    root, data = base / "course", base / "data"
    for name in assignments:
        shutil.copytree(REPO / "source" / name, root / "source" / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    for key in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(key, None)
    course = Course(root, data, data / "exchange", env)
    for name in assignments:  # as the instructor releases: generated from source/, then to the exchange
        course.run("nbgrader", "generate_assignment", name, "--log-level=WARN")
        course.run("nbgrader", "release_assignment", name, "--log-level=WARN")
    return course


def set_dates_from_now(course_toml: Path, assignment: str, speedtest: str) -> None:
    """The term runs now: the assignment released yesterday and due in a week, the speed test open from now
    for an hour (a loaded test machine is slower than a student in a lecture)."""
    import tomllib

    text = course_toml.read_text()
    zone = ZoneInfo(tomllib.loads(text)["course"]["timezone"])
    now = datetime.now(zone).replace(microsecond=0)

    def stamp(delta: timedelta) -> str:
        return (now + delta).astimezone(zone).isoformat()

    out, section = [], ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip()
        key = line.split("=", 1)[0].strip()
        if section == f"[items.{assignment}]" and key in ("release", "due"):
            line = f"{key} = {stamp(timedelta(days=-1) if key == 'release' else timedelta(days=7))}"
        elif section == f"[speedtests.tests.{speedtest}]" and key == "opens":
            line = f"opens = {stamp(timedelta(minutes=-1))}"
        elif section == "[speedtests]" and key == "duration":
            line = 'duration = "60m"'
        out.append(line)
    course_toml.write_text("\n".join(out) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StudentLab:
    """`jupyter lab` run by the student's own account, rooted in their home, stopped through its API."""

    def __init__(self, student: str, home: Path, exchange: Path, log: Path):
        self.student, self.home, self.port = student, home, free_port()
        self.token = os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        (home / "nbgrader_config.py").write_text(
            STUDENT_CONFIG.format(exchange=str(exchange), home=str(home), course=COURSE_ID))
        jupyter = home / ".jupyter"
        for name, value in LAB_SETTINGS.items():
            path = jupyter / "lab" / "user-settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        subprocess.run(["chown", "-R", f"{student}:{student}", str(home)], check=True)
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "USER": student, "LOGNAME": student,
               "LANG": "C.UTF-8", "JUPYTER_CONFIG_DIR": str(jupyter),
               "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
               "JUPYTER_RUNTIME_DIR": str(home / ".local/share/jupyter/runtime")}
        argv = [str(BIN / "jupyter"), "lab", "--ip=127.0.0.1", f"--port={self.port}", "--no-browser",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={home}"]
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            ["runuser", "-u", student, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv],
            cwd=home, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def api(self, path: str, method: str = "GET", timeout: float = 30) -> bytes:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()

    def wait_ready(self, timeout: float = 300) -> None:
        """Poll /api/status until the server answers (start-up is slow on a loaded machine)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.proc.returncode}; see {self.log.name}")
            try:
                self.api("/api/status", timeout=5)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"jupyter lab not ready after {timeout} s; see {self.log.name}") from None
                time.sleep(0.5)  # poll interval of the readiness check

    def stop(self) -> None:
        """Shut the kernels and the server down through the API; the process group only if that fails."""
        try:
            for kernel in json.loads(self.api("/api/kernels")):
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=60)
            self.api("/api/shutdown", method="POST")
            self.proc.wait(60)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(60)
        finally:
            self.log.close()


def student_home(base: Path, student: str) -> Path:
    homes = base / "home"
    homes.mkdir(mode=0o711, exist_ok=True)
    home = homes / student
    home.mkdir(mode=0o700)
    return home


def scratch_base() -> Path:
    """A folder the student may traverse (pytest's tmp_path is 0700 root)."""
    base = Path(tempfile.mkdtemp(prefix="course-browser-"))
    os.chmod(base, 0o711)
    return base
