"""`course feedback --release` on a course server with real student accounts: each student's own
`nbgrader fetch_feedback` (run as that user) gets their feedback with the final points as `course grades`
computes them; another student can read neither the released copy nor the course's copy."""
from __future__ import annotations

import csv
import datetime as dt
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "permissions"))
from perm_helpers import as_user

ASSIGNMENT, NOTEBOOK, COURSE_ID = "assignment2", "polyfit.ipynb", "dl-course"
STUDENTS = ("course-fb-alice", "course-fb-bob")
SUBMIT = """
import sys
from pathlib import Path
from exchange_student import nbgrader_submit
exchange, home, student, nb = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
nbgrader_submit(exchange, home, "dl-course", student, "assignment2", {"polyfit.ipynb": nb.read_bytes()})
"""


@pytest.fixture(scope="module")
def students():
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("real student accounts need root, useradd and runuser")
    created = []
    for name in STUDENTS:
        try:
            pwd.getpwnam(name)
        except KeyError:  # -U: the student's own group
            subprocess.run(["useradd", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name],
                           check=True, capture_output=True)
            created.append(name)
    yield STUDENTS
    for name in created:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def _sandbox_flag() -> list[str]:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
        return []
    except SandboxUnavailable:
        return ["--no-sandbox"]


def _policy_due(hours_ago: float) -> str:
    """course.toml with assignment 2 due `hours_ago` hours ago (course zone, its offset then)."""
    tz = ZoneInfo("Europe/Bucharest")
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).astimezone(tz).replace(microsecond=0)
    release = (due - dt.timedelta(days=14)).astimezone(tz)
    text = (REPO / "course.toml").read_text()
    text = re.sub(r"release = 2022-03-16T16:00:00\+02:00", f"release = {release.isoformat()}", text)
    return re.sub(r"due = 2022-04-06T23:59:00\+03:00", f"due = {due.isoformat()}", text)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a whole term's worth of nbgrader and course commands: minutes on a loaded 2-core machine
def test_each_student_fetches_their_own_feedback_with_final_points(students):
    alice, bob = students
    base = Path(tempfile.mkdtemp(prefix="course-fb-"))
    os.chmod(base, 0o711)
    try:
        _run_term(base, alice, bob)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_term(base: Path, alice: str, bob: str) -> None:
    root, data, homes = base / "course", base / "data", base / "home"
    (root / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    (root / "course.toml").write_text(_policy_due(hours_ago=26.5))  # 1 day 2.5 h late: 2 started days, −20 %
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for key in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(key, None)

    def run(*argv: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(list(argv), cwd=root, env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        assert proc.returncode == 0, f"{argv}: {proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
        return proc

    course = [sys.executable, "-m", "course_cli"]
    run("nbgrader", "generate_assignment", ASSIGNMENT, "--log-level=WARN")
    run("nbgrader", "release_assignment", ASSIGNMENT, "--log-level=WARN")
    exchange = data / "exchange"
    homes.mkdir(mode=0o711)
    handed_in = {alice: root / "source" / ASSIGNMENT / NOTEBOOK, bob: root / "release" / ASSIGNMENT / NOTEBOOK}
    readable = base / "handed-in"
    readable.mkdir(mode=0o755)
    for student in (alice, bob):
        home = homes / student
        home.mkdir(mode=0o700)
        shutil.chown(home, student, student)
        nb = readable / f"{student}.ipynb"
        shutil.copy(handed_in[student], nb)
        os.chmod(nb, 0o644)
        sub = as_user(student, sys.executable, "-c", SUBMIT, str(exchange), str(homes), student, str(nb),
                      env={"HOME": str(home), "PYTHONPATH": str(REPO / "tests")})
        assert sub.returncode == 0, sub.stderr[-3000:]

    run(*course, "collect", ASSIGNMENT)  # owner check on: real accounts
    run(*course, "autograde", ASSIGNMENT, "--workers", "1", *_sandbox_flag())
    roster = base / "roster.csv"
    roster.write_text(f"student_id,first_name,last_name,email,id_number\n{alice},Alice,A,a@example.org,1\n"
                      f"{bob},Bob,B,b@example.org,2\n")
    run(*course, "import", "roster", str(roster))
    explained = run(*course, "explain", alice).stdout
    out = run(*course, "feedback", ASSIGNMENT, "--release").stdout
    assert "released to 2 student(s)" in out

    fetched = {}
    for student in (alice, bob):
        home = homes / student
        proc = as_user(student, str(Path(sys.executable).parent / "nbgrader"), "fetch_feedback", ASSIGNMENT,
                       f"--course={COURSE_ID}", f"--Exchange.root={exchange}", f"--Exchange.cache={home / '.cache'}",
                       f"--Exchange.assignment_dir={home}", env={"HOME": str(home)})
        assert proc.returncode == 0, proc.stderr[-3000:]
        (html,) = (home / ASSIGNMENT / "feedback").glob(f"*/{Path(NOTEBOOK).stem}.html")
        fetched[student] = html.read_text()

    # alice: full raw marks, final points after the late penalty, the same line as `course explain`
    line = next(x for x in explained.splitlines() if x.startswith("Assignment 2"))
    assert "1 day 2 h" in line and "2 started day(s), −20% →" in line
    assert "Final points, as the course grades them" in fetched[alice]
    assert line.split(": ", 1)[1] in fetched[alice]  # raw score, lateness, penalty and final points
    assert alice in fetched[alice] and bob not in fetched[alice]
    assert bob in fetched[bob] and alice not in fetched[bob] and "→ 0 of 2" in fetched[bob]

    # the released copies: instructor + the student's own group, 0640; bob cannot read alice's even by name
    released = sorted((exchange / COURSE_ID / "feedback").iterdir())
    assert len(released) == 2
    for path in released:
        st = path.stat()
        assert st.st_mode & 0o777 == 0o640 and st.st_gid in {pwd.getpwnam(s).pw_gid for s in (alice, bob)}
    (alices,) = [p for p in released if p.stat().st_gid == pwd.getpwnam(alice).pw_gid]
    for target in (alices, data / "feedback" / alice / ASSIGNMENT / "feedback.html"):
        peek = as_user(bob, "cat", str(target))
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, peek
    listing = as_user(bob, "ls", str(exchange / COURSE_ID / "feedback"))
    assert listing.returncode != 0 and "Permission denied" in listing.stderr

    # one source of truth: nbgrader's own grading and feedback are refused with the command to use, and
    # `nbgrader export` writes the final points of `course grades`, not nbgrader's raw scores
    for argv, hint in ((["autograde", ASSIGNMENT], "course autograde"),
                       (["generate_feedback", ASSIGNMENT], "course feedback"),
                       (["release_feedback", ASSIGNMENT], "course feedback ASSIGNMENT --release")):
        before = sorted(p.name for p in (exchange / COURSE_ID / "feedback").iterdir())
        proc = subprocess.run(["nbgrader", *argv], cwd=root, env=env, capture_output=True, text=True, timeout=600,
                              check=False)
        assert proc.returncode != 0 and hint in proc.stdout + proc.stderr, (argv, proc.stdout, proc.stderr)
        assert sorted(p.name for p in (exchange / COURSE_ID / "feedback").iterdir()) == before
    run("nbgrader", "export", f"--to={base / 'export.csv'}")
    rows = {r["student_id"]: r for r in csv.DictReader((base / "export.csv").open())}
    assert float(rows[alice]["assignment2.points"]) == pytest.approx(
        0.8 * 2 * float(rows[alice]["assignment2.raw"]) / float(rows[alice]["assignment2.max"]))

    # bob hands in again after grading: his old feedback is not released under the new submission's name
    home = homes / bob
    sub = as_user(bob, sys.executable, "-c", SUBMIT, str(exchange), str(homes), bob, str(readable / f"{alice}.ipynb"),
                  env={"HOME": str(home), "PYTHONPATH": str(REPO / "tests")})
    assert sub.returncode == 0, sub.stderr[-3000:]
    run(*course, "collect", ASSIGNMENT)
    before = sorted(p.name for p in (exchange / COURSE_ID / "feedback").iterdir())
    again = run(*course, "feedback", ASSIGNMENT, "--release", "--student", bob)
    assert f"warning: {bob}: feedback not released: the collected submission" in again.stderr
    assert "run `course autograde assignment2` first" in again.stderr and "released to 0 student(s)" in again.stdout
    assert sorted(p.name for p in (exchange / COURSE_ID / "feedback").iterdir()) == before
