"""Benchmark: `course grades` and `course explain` end to end from a real gradebook database, next to
`nbgrader export` on the same database. Goals, end to end (process start to exit): 10 000 students ->
grades CSV in <= 5 s; `course explain STUDENT` on a small course <= 1 s. Both are printed as CPU time
(user + system: what holds on a loaded machine) and wall time, each with the goal, and as ratios to
`nbgrader export` measured in the same run.

For each size N a course is built in a temporary folder: nbgrader's schema, assignments, notebooks and
grade cells through nbgrader's own API; N students with their submissions and grades (10 % missing per
assignment, 2 % of grades overridden by hand) in bulk through nbgrader's own table definitions; receipts
in the course's receipt table; roster, manual scores, teams, extensions and accommodations through
`course import`. Every command then runs as a subprocess, the way an instructor runs it, and the script
checks that `nbgrader export` and `course grades` report the same raw score for every submission.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np

from gradebook.policy import load_policy

COURSE_ID = "dl-course"
CELLS = 4  # grade cells (autograded code cells) per nbgrader assignment
BIN = Path(sys.executable).parent


def make_course(tmp: Path) -> tuple[Path, dict[str, str]]:
    root = tmp / "course"
    root.mkdir()
    for name in ("nbgrader_config.py", "course.toml"):
        shutil.copy(ROOT / name, root / name)
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(tmp / "data"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for k in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(k, None)
    (tmp / "data").mkdir()
    return root, env


def deadlines(policy) -> dict[str, dt.datetime]:
    due = {i.name: i.due for i in policy.items.values() if i.source == "nbgrader"}
    due |= {t.name: t.opens + dt.timedelta(minutes=5) for t in policy.speedtests.tests}
    return due


def build_nbgrader(db_url: str, policy, ids: np.ndarray, rng) -> list[dict]:
    """nbgrader's schema and cells through its API, the cohort's rows in bulk; returns the receipts."""
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs `alembic`
    from nbgrader.api import Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import create_engine, insert

    layout = {}
    with Gradebook(db_url, course_id=COURSE_ID) as gb:
        for item in deadlines(policy):
            a = gb.add_assignment(item)
            nb = gb.add_notebook(item, item)
            cells = [gb.add_grade_cell(f"t{k}", item, item, max_score=2.5, cell_type="code").id for k in range(CELLS)]
            layout[item] = (a.id, nb.id, cells)
    students = [{"id": s, "first_name": "First", "last_name": s, "email": f"{s}@uni.example",
                 "lms_user_id": str(k)} for k, s in enumerate(ids)]
    subs, nbs, grades, receipts = [], [], [], []
    for item, due in deadlines(policy).items():
        a_id, nb_id, cells = layout[item]
        spread = 86400 * 2 if item.startswith("assign") else 60
        for s in ids[rng.random(len(ids)) < 0.9]:
            at = (due + dt.timedelta(seconds=float(rng.normal(-3600, spread)))).astimezone(dt.UTC)
            sa, sn = uuid.uuid4().hex, uuid.uuid4().hex
            subs.append({"id": sa, "assignment_id": a_id, "student_id": s, "timestamp": at.replace(tzinfo=None)})
            nbs.append({"id": sn, "notebook_id": nb_id, "assignment_id": sa})
            for cell in cells:
                manual = float(rng.uniform(0, 2.5)) if rng.random() < 0.02 else None
                grades.append({"id": uuid.uuid4().hex, "notebook_id": sn, "cell_id": cell, "needs_manual_grade": False,
                               "auto_score": float(rng.choice([0.0, 1.25, 2.5])), "manual_score": manual})
            receipts.append({"assignment": item, "student_id": s, "version": f"{s}+{item}+{at.timestamp():.0f}",
                             "received_at": at.replace(tzinfo=None), "owner_uid": "1000", "expected_uid": "1000",
                             "status": "accepted", "reason": "", "path": f"{item}/{s}/{s}+{item}"})
    eng = create_engine(db_url)
    with eng.begin() as conn:
        for table, rows in ((Student, students), (SubmittedAssignment, subs), (SubmittedNotebook, nbs),
                            (Grade, grades)):
            conn.execute(insert(table.__table__), rows)
    eng.dispose()
    return receipts


def write_csvs(folder: Path, ids: np.ndarray, rng) -> dict[str, Path]:
    n = len(ids)
    teams = [f"T{k // 2}" for k in range(n)]
    tables = {
        "roster": (["student_id", "first_name", "last_name", "email", "id_number"],
                   [[s, "First", s, f"{s}@uni.example", str(k)] for k, s in enumerate(ids)]),
        "scores": (["student_id", "item", "score"],
                   [[s, "lecture", f"{rng.uniform(0, 3):.1f}"] for s in ids]
                   + [[s, "poster", f"{rng.uniform(0, 1.5):.1f}"] for s in ids]
                   + [[s, "project", "5.0"] for s in ids[::50]]),
        "teams": (["team", "student_id"], [[t, s] for t, s in zip(teams, ids, strict=True)]),
        "team_scores": (["team", "item", "score"], [[t, "project", f"{rng.uniform(0, 5):.1f}"]
                                                    for t in dict.fromkeys(teams)]),
        "extensions": (["student_id", "item", "extra"], [[s, "assignment1", "2d"] for s in ids[::40]]),
        "accommodations": (["student_id", "item", "extra"], [[s, "*", "150s"] for s in ids[::30]]),
    }
    paths = {}
    for kind, (header, rows) in tables.items():
        paths[kind] = folder / f"{kind}.csv"
        with open(paths[kind], "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
    return paths


def run(argv: list[str], root: Path, env: dict[str, str], timeout: float = 3600) -> tuple[float, float]:
    """(wall, CPU) seconds of one command. CPU time (user + system of the child) is the figure that holds
    on a loaded machine, where the wall time also counts the waits for a core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def best(argv: list[str], root: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    runs = [run(argv, root, env) for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def check_same_scores(grades_csv: Path, export_csv: Path) -> int:
    """nbgrader export's raw_score == course grades' raw score for every submission; returns how many."""
    ours: dict[tuple[str, str], str] = {}
    with open(grades_csv) as fh:
        for r in csv.DictReader(fh):
            ours |= {(k.removesuffix(".raw"), r["student_id"]): v for k, v in r.items() if k.endswith(".raw")}
    compared = 0
    with open(export_csv) as fh:
        for r in csv.DictReader(fh):
            mine = ours.get((r["assignment"], r["student_id"]), "")
            if r["timestamp"] in ("", "None"):  # no submission: nbgrader writes 0, we write nothing
                continue
            if mine == "" or abs(float(mine) - float(r["raw_score"])) > 1e-6:  # ours: 6 decimals
                raise SystemExit(f"{r['assignment']}/{r['student_id']}: nbgrader export says {r['raw_score']}, "
                                 f"course grades {mine!r}")
            compared += 1
    return compared


def one_size(n: int, repeat: int, peer: bool, seed: int = 0) -> dict:
    from sqlalchemy import insert

    from gradebook import course_db

    policy = load_policy(ROOT / "course.toml")
    rng = np.random.default_rng(seed)
    ids = np.array([f"s{i:05d}" for i in range(n)])
    tmp = Path(tempfile.mkdtemp(prefix=f"gb-bench-{n}-"))
    try:
        root, env = make_course(tmp)
        db_url = f"sqlite:///{tmp / 'data' / 'gradebook.db'}"
        t0 = time.perf_counter()
        receipts = build_nbgrader(db_url, policy, ids, rng)
        with course_db.writing(db_url, COURSE_ID) as conn:
            conn.execute(insert(course_db.receipt), receipts)
        course = [sys.executable, "-m", "course_cli"]
        for kind, path in write_csvs(tmp, ids, rng).items():
            run([*course, "import", kind, str(path)], root, env)
        out: dict = {"students": n, "setup": time.perf_counter() - t0, "rows": len(receipts)}
        out["grades"] = best([*course, "grades", "--to", str(tmp / "grades.csv")], root, env, repeat)
        out["moodle"] = best([*course, "grades", "--format", "moodle", "--to", str(tmp / "moodle.csv")], root, env,
                             repeat)
        out["explain"] = best([*course, "explain", str(ids[n // 2])], root, env, repeat)
        if peer:
            # nbgrader's own CSV export (the course's config points `nbgrader export` at course grades)
            out["export"] = run([str(BIN / "nbgrader"), "export", "--to", str(tmp / "export.csv"),
                                 "--ExportApp.plugin_class=nbgrader.plugins.export.CsvExportPlugin"], root, env)
            out["checked"] = check_same_scores(tmp / "grades.csv", tmp / "export.csv")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cell(t: tuple[float, float] | None, width: int) -> str:
    text = "-" if t is None else f"{t[0]:.2f} s ({t[1]:.2f})"
    return f"{text:>{width}}"


def _ratio(peer: tuple[float, float] | None, ours: tuple[float, float]) -> str:
    """How many times longer the peer took: wall (CPU)."""
    return "-" if peer is None else f"{peer[0] / ours[0]:.1f}x ({peer[1] / ours[1]:.1f}x)"


def goal_line(what: str, r: dict, key: str, limit: float, size: int | None = None) -> str:
    """One goal, end to end: CPU (user + system, the figure that holds on a loaded machine) and wall time,
    each against the limit, next to `nbgrader export` on the same database when it ran. size: the cohort
    the goal is set for, where the run had none that large."""
    wall, cpu = r[key]
    line = (f"goal: {what} <= {limit:g} s end to end, {r['students']} students: CPU {cpu:.2f} s "
            f"({'met' if cpu <= limit else 'MISSED'}), wall {wall:.2f} s ({'met' if wall <= limit else 'MISSED'})")
    if size is not None and r["students"] < size:
        line += f" (the goal is for {size} students: --students ...,{size})"
    if "export" in r:
        line += (f"; nbgrader export on the same database: CPU {r['export'][1]:.2f} s, wall {r['export'][0]:.2f} s, "
                 f"{_ratio(r['export'], r[key])} as long")
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", default="5,300,3000,10000", help="comma-separated cohort sizes")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each course command (best is printed)")
    ap.add_argument("--no-peer", action="store_true", help="skip `nbgrader export`")
    ap.add_argument("--peer-up-to", type=int, default=None, metavar="N",
                    help="run `nbgrader export` only for cohorts of at most N students (it took more than 18 min of "
                         "CPU for 10 000)")
    args = ap.parse_args()
    print("wall seconds (CPU seconds: user + system of the command), best of --repeat; nbgrader export runs once;"
          " peer/ours = how many times longer nbgrader export took")
    print(f"{'students':>8} {'scores':>7} {'course grades':>18} {'(moodle)':>18} {'course explain':>18} "
          f"{'nbgrader export':>20} {'export/grades':>14} {'export/explain':>15}")
    results = []
    for n in (int(x) for x in args.students.split(",")):
        r = one_size(n, args.repeat, not args.no_peer and (args.peer_up_to is None or n <= args.peer_up_to))
        results.append(r)
        print(f"{n:8d} {r['rows']:7d} {_cell(r['grades'], 18)} {_cell(r['moodle'], 18)} {_cell(r['explain'], 18)} "
              f"{_cell(r.get('export'), 20)} {_ratio(r.get('export'), r['grades']):>14} "
              f"{_ratio(r.get('export'), r['explain']):>15}"
              + (f"  same raw score for all {r['checked']} submissions" if "checked" in r else ""), flush=True)
    print(goal_line("course grades", max(results, key=lambda r: r["students"]), "grades", 5.0, size=10_000))
    print(goal_line("course explain STUDENT", min(results, key=lambda r: r["students"]), "explain", 1.0))
    print(f"machine: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end (wall times count "
          "the waits for a core; CPU times do not)")


if __name__ == "__main__":
    main()
