"""A fixture cohort built in memory: one student per rule of the course scheme."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from gradebook import records
from gradebook.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC
A1_DUE = dt.datetime(2022, 3, 16, 21, 59, tzinfo=UTC)  # 23:59 EET
A2_DUE = dt.datetime(2022, 4, 6, 20, 59, tzinfo=UTC)  # 23:59 EEST
ST1_END = dt.datetime(2022, 3, 9, 16, 5, 30, tzinfo=UTC)  # 18:00 EET + 5 min + 30 s grace


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(ROOT / "course.toml")


class Cohort:
    def __init__(self) -> None:
        self.roster: list[str] = []
        self.scores: list[dict] = []
        self.receipts: list[dict] = []
        self.manual: list[dict] = []
        self.teams: list[dict] = []
        self.team_scores: list[dict] = []
        self.extensions: list[dict] = []
        self.accommodations: list[dict] = []

    def student(self, sid: str) -> Cohort:
        self.roster.append(sid)
        return self

    def nb(self, sid: str, item: str, score: float, max_score: float, at: dt.datetime | None) -> Cohort:
        self.scores.append({"student_id": sid, "item": item, "score": score, "max_score": max_score})
        if at is not None:
            self.receipts.append({"student_id": sid, "item": item, "received_at": at})
        return self

    def records(self) -> records.Records:
        rec = records.empty_records()
        rec.roster = pd.DataFrame({"student_id": self.roster, "first_name": "F", "last_name": self.roster,
                                   "email": [f"{s}@uni.example" for s in self.roster],
                                   "id_number": [str(1000 + i) for i in range(len(self.roster))]})
        if self.scores:
            rec.scores = pd.DataFrame(self.scores)
        if self.receipts:
            rec.receipts = pd.DataFrame(self.receipts).assign(
                received_at=lambda f: pd.to_datetime(f["received_at"], utc=True))
        for name in ("manual", "teams", "team_scores", "extensions", "accommodations"):
            rows = getattr(self, name)
            if rows:
                setattr(rec, name, pd.DataFrame(rows))
        return rec


def full_lab(c: Cohort, sid: str) -> None:
    """Everything in the lab part on time and full."""
    c.nb(sid, "assignment1", 10, 10, A1_DUE - dt.timedelta(hours=1))
    c.nb(sid, "assignment2", 10, 10, A2_DUE - dt.timedelta(hours=1))
    for name, opens in (("speedtest1", "2022-03-09T16:01Z"), ("speedtest2", "2022-03-30T15:01Z"),
                        ("speedtest3", "2022-04-13T15:01Z")):
        c.nb(sid, name, 2, 2, dt.datetime.fromisoformat(opens.replace("Z", "+00:00")))


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
