"""On the course server, as real student accounts: nobody reads or changes another student's work.

The server is prepared as an instructor would: `nbgrader release_assignment` (the course's nbgrader_config.py),
two students submit through nbgrader's exchange as themselves, `course collect`, feedback written by the
autograder's writer, `course doctor --fix` once for the checkout's own modes. Then each student tries what
a curious or hostile classmate would try, with shell tools run as their own uid.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from perm_helpers import as_user

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "assignment2"
NOTEBOOK = "polyfit.ipynb"
COURSE_ID = "dl-course"
DENIED = ("Permission denied", "Operation not permitted")

SUBMIT = """
import sys
from pathlib import Path
from exchange_student import nbgrader_submit
exchange, home, student = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
released = exchange / "dl-course" / "outbound" / "assignment2" / "polyfit.ipynb"
nbgrader_submit(exchange, home, "dl-course", student, "assignment2", {"polyfit.ipynb": released.read_bytes()})
"""


@dataclass
class Server:
    root: Path
    data: Path
    exchange: Path
    homes: Path
    entries: dict[str, Path]  # each student's folder in inbound (found by root: students cannot list it)
    alice: str
    bob: str

    def submitted(self, student: str) -> Path:
        return self.data / "submitted" / student / ASSIGNMENT / NOTEBOOK

    def feedback(self, student: str) -> Path:
        return self.data / "feedback" / student / ASSIGNMENT / "feedback.html"

    def inbound(self) -> Path:
        return self.exchange / COURSE_ID / "inbound"


def _env(root: Path, data: Path) -> dict[str, str]:
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for key in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(key, None)
    return env


def _course(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def _feedback(env: dict[str, str], student: str) -> None:
    code = ("import sys\nfrom course_dir import load\nfrom autograder.feedback import write_feedback\n"
            "write_feedback(load(), {'assignment': 'assignment2', 'student': sys.argv[1], 'score': 1.0,"
            " 'max_score': 2.0, 'tests': [{'notebook': 'polyfit', 'test_id': 'fit', 'score': 1.0, 'max_score': 2.0,"
            " 'status': 'mismatch', 'message': 'E_RMS differs'}], 'notes': [], 'cells': []})")
    proc = subprocess.run([sys.executable, "-c", code, student], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.fixture(scope="module")
def server(students) -> Server:
    alice, bob = students
    base = Path(tempfile.mkdtemp(prefix="course-perm-"))
    os.chmod(base, 0o711)
    root, data, homes = base / "course", base / "data", base / "home"
    (root / "source").mkdir(parents=True)
    (root / "release").mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copy(REPO / "course.toml", root)
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    shutil.copytree(REPO / "release" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    env = _env(root, data)
    proc = subprocess.run(["nbgrader", "release_assignment", ASSIGNMENT, "--log-level=WARN"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exchange = data / "exchange"
    homes.mkdir(mode=0o711)
    entries = {}
    for student in students:
        home = homes / student
        home.mkdir(mode=0o700)
        shutil.chown(home, student, student)
        before = set((exchange / COURSE_ID / "inbound").iterdir())
        sub = as_user(student, str(Path(sys.executable)), "-c", SUBMIT, str(exchange), str(homes), student,
                      env={"HOME": str(home), "PYTHONPATH": str(REPO / "tests")})
        assert sub.returncode == 0, f"{student} could not submit through the exchange: {sub.stderr[-3000:]}"
        (entries[student],) = set((exchange / COURSE_ID / "inbound").iterdir()) - before
    collected = _course(env, "collect", ASSIGNMENT)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    for student in students:
        _feedback(env, student)
    # What nbgrader and the course commands created is right from the start: only the checkout's own
    # modes (git made them 0755) are left for the instructor's one `course doctor --fix`.
    doctor = _course(env, "doctor")
    wrong = [line.split(": ", 1)[0] for line in doctor.stdout.splitlines() if "; fix: " in line]
    assert sorted(wrong) == sorted([str(root), str(root / "source")]), doctor.stdout
    fixed = _course(env, "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    yield Server(root, data, exchange, homes, entries, alice, bob)
    shutil.rmtree(base, ignore_errors=True)


def denied(proc: subprocess.CompletedProcess) -> bool:
    return proc.returncode != 0 and any(d in proc.stderr for d in DENIED)


def test_students_submitted_through_the_exchange_as_themselves(server):
    for student in (server.alice, server.bob):
        entry = server.entries[student]
        assert entry.name.startswith(f"{student}+{ASSIGNMENT}+")
        assert entry.stat().st_uid == int(subprocess.check_output(["id", "-u", student]))
        assert server.submitted(student).is_file()  # collect accepted it (owner = the named student)


def test_inbound_cannot_be_listed_and_entries_cannot_be_taken(server):
    bob, alice_entry = server.bob, server.entries[server.alice]
    assert denied(as_user(bob, "ls", str(server.inbound())))
    # even knowing the name: the sticky bit keeps bob from renaming or removing alice's folder
    stolen = server.inbound() / f"{bob}+{ASSIGNMENT}+2000-01-01 00:00:00.000000 UTC+x"
    assert denied(as_user(bob, "mv", str(alice_entry), str(stolen)))
    assert denied(as_user(bob, "rm", "-rf", str(alice_entry)))
    assert alice_entry.is_dir() and not stolen.exists()
    # after collect the folder is alice's alone: no reading or replacing her notebook through it
    assert denied(as_user(bob, "cat", str(alice_entry / NOTEBOOK)))
    assert denied(as_user(bob, "sh", "-c", f"echo forged > '{alice_entry / NOTEBOOK}'"))


def test_collected_submissions_are_the_instructors_alone(server):
    alice, bob = server.alice, server.bob
    target = server.submitted(alice)
    original = target.read_bytes()
    versions = server.data / "gradebook" / "submissions" / ASSIGNMENT / alice
    assert versions.is_dir()
    for student in (bob, alice):  # neither another student nor the author can read or change it
        assert denied(as_user(student, "cat", str(target)))
        assert denied(as_user(student, "sh", "-c", f"echo forged > '{target}'"))
        assert denied(as_user(student, "rm", "-f", str(target)))
        assert denied(as_user(student, "ls", str(versions)))
        assert denied(as_user(student, "mkdir", str(server.data / "submitted" / student / "extra")))
    assert denied(as_user(bob, "ls", str(server.data)))
    assert target.read_bytes() == original


def test_gradebook_and_hidden_tests_are_unreadable(server):
    db = server.data / "gradebook.db"
    hidden = server.root / "source" / ASSIGNMENT / NOTEBOOK
    assert db.is_file() and hidden.is_file() and "HIDDEN TESTS" in hidden.read_text()
    for path in (db, hidden):
        assert denied(as_user(server.bob, "cat", str(path)))
    assert denied(as_user(server.bob, "ls", str(server.root / "source")))
    assert denied(as_user(server.bob, "ls", str(server.data / "gradebook")))


def test_feedback_is_readable_by_its_student_only(server):
    alice, bob = server.alice, server.bob
    mine = as_user(alice, "cat", str(server.feedback(alice)))
    assert mine.returncode == 0 and alice in mine.stdout and "E_RMS differs" in mine.stdout
    assert denied(as_user(bob, "cat", str(server.feedback(alice))))
    assert denied(as_user(bob, "ls", str(server.data / "feedback")))
    for student in (alice, bob):  # the feedback cannot be replaced, not even by its own student
        assert denied(as_user(student, "rm", "-f", str(server.feedback(alice))))
        assert denied(as_user(student, "sh", "-c", f"echo forged > '{server.feedback(alice)}'"))
    assert as_user(bob, "cat", str(server.feedback(bob))).returncode == 0
