"""Builders of an in-memory cohort for the gradebook tests."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from gradebook import records

UTC = dt.UTC
A1_DUE = dt.datetime(2022, 3, 16, 21, 59, tzinfo=UTC)  # 23:59 EET
A2_DUE = dt.datetime(2022, 4, 6, 20, 59, tzinfo=UTC)  # 23:59 EEST
ST1_END = dt.datetime(2022, 3, 9, 16, 5, 30, tzinfo=UTC)  # 18:00 EET + 5 min + 30 s grace


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
        c.nb(sid, name, 2, 2, dt.datetime.fromisoformat(opens))
