"""A whole term on the embedded defaults (SQLite, local workers, the sandbox), with the real commands.

Time is real: every receipt is the server's (`course collect`'s inode change time), so the demo places the
due dates around its own run. Assignment 1 falls due just after the class handed in: then one student hands
in within the grace time after it, one with an extension. Assignment 2 was due 8 days before the demo and the
class had a 9-day extension: one student's extension is 6 days (about 2 days late) and one has none (past the
7-day cutoff). Speed test 1 runs with a shortened window; meanwhile the instructor collects, checks
similarity, imports the manual items and grades assignment 1; one student answers after it closed."""
from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

from course_cpu import CgroupCpu
from demo import cohort, scratch, summary
from demo.cohort import SPEEDTEST, Student
from demo.timing import Clock

ZONE = ZoneInfo("Europe/Bucharest")
NOTEBOOKS = {"assignment1": ("knn.ipynb", "linear_classifier.ipynb"), "assignment2": ("polyfit.ipynb",),
             SPEEDTEST: ("speedtest1.ipynb",)}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(ZONE).replace(microsecond=0).isoformat()


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def _write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def prepare_work(s: scratch.Scratch, students: list[Student]) -> None:
    """Each student's notebooks, readable by that student only."""
    for st in students:
        for item, names in NOTEBOOKS.items():
            folder = s.base / "work" / st.id / item
            folder.mkdir(parents=True)
            for name in names:
                data = cohort.work(st, s.root / "release" / item / name, s.root / "source" / item / name)
                (folder / name).write_bytes(data)
        home = s.homes / st.id
        home.mkdir(mode=0o700)
        for path in [s.base / "work" / st.id, *(s.base / "work" / st.id).rglob("*"), home]:
            shutil.chown(path, st.id, st.id)
        os.chmod(s.base / "work" / st.id, 0o700)
    os.chmod(s.base / "work", 0o711)


def _roster(s: scratch.Scratch, students: list[Student]) -> Path:
    (s.base / "csv").mkdir()
    rows = [f"{st.id},Student,{st.id[-2:]},{st.id}@example.org,{1000 + n}" for n, st in enumerate(students)]
    return _write_csv(s.base / "csv" / "roster.csv", "student_id,first_name,last_name,email,id_number", rows)


def records(s: scratch.Scratch, students: list[Student]) -> None:
    """Extensions and accommodations: known before the term's work comes in (the roster is imported first)."""
    ids = [st.id for st in students]
    d = s.base / "csv"
    late_days, cutoff = (cohort.by_profile(students, p).id for p in ("late_days", "past_cutoff"))
    ext = [f"{cohort.by_profile(students, 'extension').id},assignment1,2d"]
    ext += [f"{i},assignment2,{'6d' if i == late_days else '9d'}" for i in ids if i != cutoff]
    s.course("import", "extensions", str(_write_csv(d / "extensions.csv", "student_id,item,extra", ext)))
    s.course("import", "accommodations", str(_write_csv(d / "accommodations.csv", "student_id,item,extra",
                                                        [f"{ids[-1]},{SPEEDTEST},10s"])))


def manual_items(s: scratch.Scratch, students: list[Student]) -> None:
    """The project in teams of 2 and the lecture and poster bonuses, as the instructor's CSVs."""
    d = s.base / "csv"
    ids = [st.id for st in students]
    teams = [f"team{n // 2 + 1:02d},{i}" for n, i in enumerate(ids)]
    team_scores = [f"team{t:02d},project,{[5, 4.5, 4, 3.5, 3][t % 5]}" for t in range(1, len(ids) // 2 + 1)]
    scores = [f"{i},lecture,{n % 4}" for n, i in enumerate(ids) if n % 4] + \
             [f"{i},poster,{n % 3}" for n, i in enumerate(ids) if n % 3]
    s.course("import", "teams", str(_write_csv(d / "teams.csv", "team,student_id", teams)))
    s.course("import", "team_scores", str(_write_csv(d / "team_scores.csv", "team,item,score", team_scores)))
    s.course("import", "scores", str(_write_csv(d / "scores.csv", "student_id,item,score", scores)))


def hand_in(s: scratch.Scratch, batch: list[tuple[Student, list[str]]], what: str, while_waiting=None) -> None:
    """Every student of the batch at once, each as their own account; `while_waiting` runs meanwhile (the
    instructor opening the speed test the students sit ready for)."""
    plan = [(st.id, items) for st, items in batch if items]
    start = time.monotonic()
    child = scratch.start_class(s, plan)
    try:
        if while_waiting is not None:
            while_waiting()
        cpu = scratch.finish_class(child, what)
    finally:  # a failed step leaves no student process waiting behind it
        child.kill()
    s.clock.add(f"students hand in: {what}", time.monotonic() - start, cpu)
    _say(f"{len(plan)} students handed in {what}")


def _window_end(s: scratch.Scratch) -> dt.datetime:
    from gradebook import course_db

    with course_db.reading(f"sqlite:///{s.data / 'gradebook.db'}") as conn:
        w = course_db.read_windows(conn)[SPEEDTEST]
    return w["opened_at"] + dt.timedelta(seconds=w["duration_s"] + w["grace_s"] + 10)  # + the accommodation


def _wait_past(when: dt.datetime) -> None:
    while dt.datetime.now(dt.UTC) <= when:
        time.sleep(0.5)


def _dates(s: scratch.Scratch, start: dt.datetime) -> None:
    today = start.astimezone(ZONE).date()
    week1 = today - dt.timedelta(days=63 + (today.weekday() - 2) % 7)  # a Wednesday: the plan's weekday
    s.course("term", "--first-week", week1.isoformat())
    scratch.set_policy(s, "items.assignment1", "due", _iso(start + dt.timedelta(days=1)))  # set again below
    scratch.set_policy(s, "items.assignment2", "due", _iso(start - dt.timedelta(days=8)))
    scratch.set_policy(s, "speedtests", "grace", '"5s"')


def setup(base: Path, clock: Clock, size: int) -> tuple[scratch.Scratch, list[Student]]:
    """The scratch course, the accounts and their work, this term's dates, the records, the releases."""
    start = dt.datetime.now(dt.UTC)
    with clock.step("scratch course"):
        s = scratch.fresh(base, clock)
    students = cohort.cohort(size)
    with clock.step("student accounts"):
        scratch.ensure_accounts([st.id for st in students])
    with clock.step("students' work (notebooks)"):
        prepare_work(s, students)
    _dates(s, start)
    s.course("import", "roster", str(_roster(s, students)))  # first: it creates the course's database
    with ThreadPoolExecutor(len(cohort.ASSIGNMENTS)) as pool:  # the releases beside the other records
        released = [pool.submit(s.course, "release", a) for a in cohort.ASSIGNMENTS]
        records(s, students)
        for f in released:
            _say(f.result().strip().splitlines()[-1])
    s.course("doctor", "--fix")  # as an instructor does once: the data folder traversable for the exchange
    return s, students


def term(s: scratch.Scratch, students: list[Student], window_s: int, workers: int, flags: list[str]) -> dict:
    """The speed test in the lecture (students ready before it opens) and assignments 1 and 2 handed in; while
    the test's window still runs, assignment 1 falls due, the late ones hand in and the instructor collects,
    checks similarity, imports the manual items and grades assignment 1 (on the slots the test's warm grader
    leaves free); after the window one more student answers, the test is closed and graded, then assignment 2
    (once the warm grader has handed back its slots)."""
    speed_late = cohort.by_profile(students, "speed_late")
    phase2 = {cohort.by_profile(students, p) for p in ("late_grace", "extension")}

    def work_of(st: Student) -> list[str]:
        items = [] if st == speed_late else [f"@{SPEEDTEST}"]
        return items + [a for a in cohort.ASSIGNMENTS if st.submits(a) and not (st in phase2 and a == "assignment1")]

    def open_test() -> None:
        print(s.course("speedtest", "open", SPEEDTEST, "--duration", f"{window_s}s", *flags), flush=True)

    with s.clock.stage("students: speed test opens, the class hands in"):
        hand_in(s, [(st, work_of(st)) for st in students], "speed test 1 in its window, then assignments 1 and 2",
                while_waiting=open_test)
    with s.clock.stage("assignment1 falls due; the late ones hand in"):
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)  # assignment 1 is due now: the first group is in
        scratch.set_policy(s, "items.assignment1", "due", _iso(due))
        _wait_past(due)
        hand_in(s, [(st, ["assignment1"]) for st in phase2], "assignment 1 after its due date")
    with s.clock.stage("during the window: collect, similarity, manual CSVs; assignment1 graded"):
        sim = _ungraded(s, students)
        with s.clock.step("waiting for the warm grader to hold its slots"):
            scratch.wait_warm_grader_ready(s, SPEEDTEST)
        _grade(s, "assignment1", workers, flags)  # on the slots the warm grader leaves free
    with s.clock.stage(f"{SPEEDTEST}: the window ends, a late answer, close (collect, grade)"):
        with s.clock.step("waiting for the speed test's window to end"):
            _wait_past(_window_end(s))
        hand_in(s, [(speed_late, [SPEEDTEST])], "speed test 1 after its window")
        s.course("speedtest", "close", SPEEDTEST, "--workers", str(workers), *flags, live=True)
        with s.clock.step("waiting for the warm grader to hand back the sandbox's slots"):
            scratch.wait_warm_grader_gone(s)
    with s.clock.stage("assignment2: autograde, feedback"):
        _grade(s, "assignment2", workers, flags)
    with s.clock.stage("grades, explain, report"):
        return {**_closing(s, students), "similarity": sim}


def _ungraded(s: scratch.Scratch, students: list[Student]) -> str:
    """Collect both assignments, then the similarity check beside the manual items' imports; its output."""
    for a in cohort.ASSIGNMENTS:
        _say((s.course("collect", a).strip().splitlines() or [f"collected {a}"])[-1])
    with ThreadPoolExecutor(1) as pool:
        sim = pool.submit(s.course, "similarity", "assignment1", "--to",
                          str(s.out / "similarity-assignment1.html"))
        manual_items(s, students)
        return sim.result()


def _grade(s: scratch.Scratch, assignment: str, workers: int, flags: list[str]) -> None:
    s.course("autograde", assignment, "--workers", str(workers), *flags, live=True)
    s.course("feedback", assignment, "--release")


def _closing(s: scratch.Scratch, students: list[Student]) -> dict:
    out = s.out
    explained = cohort.by_profile(students, "late_days").id
    _, _, why, _ = s.courses(  # they only read: all at once
        ["grades", "--to", str(out / "grades.csv")],
        ["grades", "--to", str(out / "grades-moodle.csv"), "--format", "moodle"],
        ["explain", explained],
        ["report", "--to", str(out / "report.html")])
    (out / f"explain-{explained}.txt").write_text(why)
    return {"explained": explained}


def run_term(base: Path, window_s: int, workers: int, sandbox: bool, size: int = cohort.COHORT) -> dict:
    t0 = time.monotonic()
    load = os.getloadavg()[0]
    flags = [] if sandbox else ["--no-sandbox"]
    meter = CgroupCpu("course-demo")
    clock, whole = Clock(meter=meter), meter.group is not None
    try:
        with clock.stage("set-up: scratch course, accounts, work, dates, records, releases"):
            s, students = setup(base, clock, size)
        result = term(s, students, window_s, workers, flags)
    finally:
        meter.close()
    return {**result, "scratch": s, "students": students, "wall_s": time.monotonic() - t0,
            "load": (load, os.getloadavg()[0]), "whole_cpu": whole}


def grades_table(out: Path):
    import pandas as pd

    return pd.read_csv(out / "grades.csv")


def finish(result: dict) -> dict:
    s: scratch.Scratch = result["scratch"]
    grades = grades_table(s.out)
    rows = summary.table(grades, [*cohort.ASSIGNMENTS, SPEEDTEST], s.root / "source")
    flagged = summary.flagged_pairs(result["similarity"])
    outputs = {"scratch course": s.root, "grades": s.out / "grades.csv", "Moodle": s.out / "grades-moodle.csv",
               "explain": s.out / f"explain-{result['explained']}.txt", "report": s.out / "report.html",
               "similarity": s.out / "similarity-assignment1.html", "feedback": s.data / "feedback",
               "exchange": s.exchange}
    summary.show(rows, s.clock, result["wall_s"], outputs, flagged, result["whole_cpu"])
    first, last = result["load"]
    print(f"load average (1 min) at the start and the end: {first:.1f}, {last:.1f}; {os.cpu_count()} cores",
          flush=True)
    with (s.out / "timings.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["stage", "step", "wall_s", "cpu_s"])
        w.writerows([st.stage, "", f"{st.wall_s:.2f}", f"{st.cpu_s:.2f}"] for st in s.clock.stages)
        w.writerows([st.stage, st.name, f"{st.wall_s:.2f}", f"{st.cpu_s:.2f}"] for st in s.clock.steps)
    (s.out / "flagged.txt").write_text("".join(f"{p}\n" for p in flagged))
    with (s.out / "summary.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item", *next(iter(rows.values()))])
        w.writerows([item, *c.values()] for item, c in rows.items())
    return rows

