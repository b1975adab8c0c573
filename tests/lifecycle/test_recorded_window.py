"""The window recorded by `course speedtest open` replaces course.toml's `opens`, duration and grace for that
test in the grades (pure: policy x records -> compute)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from gradebook import compute, records
from gradebook.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
OPENED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def _records(received: dict[str, dt.datetime]) -> records.Records:
    rec = records.empty_records()
    names = sorted(received)
    rec.roster = pd.DataFrame({"student_id": names, "first_name": "", "last_name": "", "email": "", "id_number": ""})
    rec.scores = pd.DataFrame({"student_id": names, "item": "speedtest1", "score": 2.0, "max_score": 2.0})
    rec.receipts = pd.DataFrame({"student_id": names, "item": "speedtest1",
                                 "received_at": pd.to_datetime([received[n] for n in names], utc=True)})
    rec.accommodations = pd.DataFrame({"student_id": ["slow"], "item": ["speedtest1"], "extra_s": [60.0]})
    rec.windows = {"speedtest1": {"test": "speedtest1", "opened_at": OPENED, "duration_s": 20.0, "grace_s": 5.0,
                                  "closed_at": None}}
    return rec


def test_recorded_window_decides_in_and_after():
    policy = load_policy(REPO / "course.toml")
    rec = _records({"inside": OPENED + dt.timedelta(seconds=24), "after": OPENED + dt.timedelta(seconds=26),
                    "early": OPENED - dt.timedelta(seconds=1), "slow": OPENED + dt.timedelta(seconds=80)})
    table = compute.compute(records.with_recorded_windows(policy, rec.windows), rec)
    status = table["speedtest1.status"].to_dict()
    assert status == {"after": "after window", "early": "before window", "inside": "in window",
                      "slow": "in window"}
    assert table.loc["inside", "speedtest1.fraction"] == 1.0 and table.loc["after", "speedtest1.fraction"] == 0
    end = table.loc["inside", "speedtest1.window_end"]
    assert end == pd.Timestamp(OPENED + dt.timedelta(seconds=25))

    # the same records judged by course.toml's own window (2022): every 2026 answer is after it
    plain = compute.compute(policy, rec)
    assert set(plain["speedtest1.status"]) == {"after window"}


def test_no_recorded_window_keeps_the_policy():
    policy = load_policy(REPO / "course.toml")
    assert records.with_recorded_windows(policy, {}) is policy
    other = records.with_recorded_windows(policy, {"speedtest2": {"opened_at": OPENED, "duration_s": 1.0,
                                                                  "grace_s": 0.0}})
    assert other.speedtests.tests[0] == policy.speedtests.tests[0]
    assert other.speedtests.tests[1].opens == OPENED
