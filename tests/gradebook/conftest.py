"""A fixture cohort built in memory: one student per rule of the course scheme."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from gb_cohort import A1_DUE, A2_DUE, ST1_END, Cohort, full_lab

from gradebook.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(ROOT / "course.toml")


@pytest.fixture
def cohort() -> Cohort:
    c = Cohort()
    on_time = A1_DUE - dt.timedelta(days=1)
    # exactly 50 % in both parts (2 + 0.5 = 2.5 lab; project 2.5 of 5) and just below (2.49)
    c.student("half").nb("half", "assignment1", 10, 10, on_time).nb("half", "assignment2", 2.5, 10, A2_DUE)
    c.student("below").nb("below", "assignment1", 10, 10, on_time).nb("below", "assignment2", 2.45, 10, A2_DUE)
    c.teams += [{"student_id": "half", "team": "T50"}, {"student_id": "below", "team": "T50"}]
    c.team_scores.append({"team": "T50", "item": "project", "score": 2.5})
    # bonus over its caps
    c.student("bonus")
    c.manual += [{"student_id": "bonus", "item": "lecture", "score": 3.5},
                 {"student_id": "bonus", "item": "poster", "score": 1.5}]
    # late rules on assignment 1 (raw 9/10 = 1.8 points before penalty)
    c.student("grace").nb("grace", "assignment1", 9, 10, A1_DUE + dt.timedelta(minutes=10))
    c.student("late").nb("late", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=1, hours=3))
    c.student("late36").nb("late36", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=1.5))
    c.student("week").nb("week", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=7))
    c.student("cutoff").nb("cutoff", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=7, seconds=1))
    c.student("ext").nb("ext", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=1))
    c.extensions.append({"student_id": "ext", "item": "assignment1", "extra_s": 2 * 86400.0})
    c.student("noreceipt").nb("noreceipt", "assignment1", 9, 10, None)
    # speed test 1: on the last second, one second after, and inside a student's extra time
    c.student("st_edge").nb("st_edge", "speedtest1", 2, 2, ST1_END)
    c.student("st_late").nb("st_late", "speedtest1", 2, 2, ST1_END + dt.timedelta(seconds=1))
    c.student("st_extra").nb("st_extra", "speedtest1", 2, 2, ST1_END + dt.timedelta(seconds=90))
    c.accommodations.append({"student_id": "st_extra", "item": "*", "extra_s": 120.0})
    c.student("st_extra_late").nb("st_extra_late", "speedtest1", 2, 2, ST1_END + dt.timedelta(seconds=121))
    c.accommodations.append({"student_id": "st_extra_late", "item": "speedtest1", "extra_s": 120.0})
    # nothing at all
    c.student("none")
    # a shared team project with one override
    c.student("team_a").student("team_b")
    c.teams += [{"student_id": "team_a", "team": "T1"}, {"student_id": "team_b", "team": "T1"}]
    c.team_scores.append({"team": "T1", "item": "project", "score": 4.0})
    c.manual.append({"student_id": "team_b", "item": "project", "score": 5.0})
    # everything full plus all bonuses: 13 points, capped at 10
    c.student("top")
    full_lab(c, "top")
    c.teams.append({"student_id": "top", "team": "T2"})
    c.team_scores.append({"team": "T2", "item": "project", "score": 5.0})
    c.manual += [{"student_id": "top", "item": "lecture", "score": 2}, {"student_id": "top", "item": "poster", "score": 1}]
    # rounding: 2 + 2 + 1 (lab) + 1.5 (project 1.5/5) + 0.05 lecture = 6.55 -> 6.6 (half up)
    c.student("round")
    full_lab(c, "round")
    c.manual += [{"student_id": "round", "item": "project", "score": 1.5},
                 {"student_id": "round", "item": "lecture", "score": 0.05}]
    return c
