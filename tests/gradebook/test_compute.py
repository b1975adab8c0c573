"""The course scheme end to end on the fixture cohort (conftest.py): one student per rule."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from gb_cohort import A1_DUE, A2_DUE

from gradebook.compute import compute, round_grade, shown_below
from gradebook.explain import explain
from gradebook.policy import parse_duration


@pytest.fixture
def grades(policy, cohort):
    return compute(policy, cohort.records())


def test_one_row_per_roster_student_in_roster_order(grades, cohort):
    assert list(grades.index) == cohort.roster
    assert grades.loc["none", "final"] == 0
    assert grades.loc["none", "assignment1.status"] == "missing"
    assert grades.loc["none", "speedtest2.status"] == "missing"
    assert not grades.loc["none", "passed"]


def test_exactly_half_passes_and_just_below_fails(grades):
    assert grades.loc["half", "part.lab.for_minimum"] == pytest.approx(2.5)
    assert grades.loc["half", "part.lab.minimum_met"] and grades.loc["half", "part.project.minimum_met"]
    assert grades.loc["half", "passed"]
    assert grades.loc["below", "part.lab.for_minimum"] == pytest.approx(2.49)
    assert not grades.loc["below", "part.lab.minimum_met"]
    assert grades.loc["below", "part.project.minimum_met"]
    assert not grades.loc["below", "passed"]
    assert "Lab part" in grades.loc["below", "reasons"] and "2.49" in grades.loc["below", "reasons"]


def test_bonus_is_capped_and_does_not_count_toward_a_minimum(grades):
    r = grades.loc["bonus"]
    assert (r["lecture.raw"], r["lecture.points"], r["lecture.capped"]) == (3.5, 2.0, True)
    assert (r["poster.raw"], r["poster.points"], r["poster.capped"]) == (1.5, 1.0, True)
    assert r["total"] == 3.0 and r["part.lab.for_minimum"] == 0 and not r["passed"]


@pytest.mark.parametrize("sid, status, units, penalty, points", [
    ("grace", "within grace", 0, 0.0, 1.8),
    ("late", "late", 2, 0.2, 1.44),          # 1 day 3 h = 2 started days
    ("late36", "late", 2, 0.2, 1.44),        # 1.5 days
    ("week", "late", 7, 0.5, 0.9),           # exactly at the cutoff: penalty stops at 50 %
    ("cutoff", "past cutoff", 8, 0.5, 0.0),  # one second past the 7-day hard cutoff
    ("ext", "on time", 0, 0.0, 1.8),         # 1 day late, but a 2-day extension
    ("noreceipt", "no receipt", 0, 0.0, 0.0),  # a score without a server receipt counts 0
])
def test_late_rules(grades, sid, status, units, penalty, points):
    r = grades.loc[sid]
    assert r["assignment1.status"] == status
    assert r["assignment1.late_units"] == units
    assert r["assignment1.penalty"] == pytest.approx(penalty)
    assert r["assignment1.points"] == pytest.approx(points)


@pytest.mark.parametrize("sid, status, fraction", [
    ("st_edge", "in window", 1.0), ("st_late", "after window", 0.0),
    ("st_extra", "in window", 1.0), ("st_extra_late", "after window", 0.0)])
def test_speed_test_window(grades, sid, status, fraction):
    assert grades.loc[sid, "speedtest1.status"] == status
    assert grades.loc[sid, "speedtest1.fraction"] == fraction
    assert grades.loc[sid, "speedtests.points"] == pytest.approx(fraction / 3)


def test_team_score_goes_to_both_members_unless_overridden(grades):
    assert grades.loc["team_a", "project.points"] == 4.0
    assert grades.loc["team_a", "project.status"] == "team score"
    assert grades.loc["team_b", "project.points"] == 5.0
    assert grades.loc["team_b", "project.status"] == "individual override"
    assert grades.loc["team_a", "project.team"] == "T1"


def test_cap_and_rounding(grades):
    assert grades.loc["top", "total"] == pytest.approx(13.0)
    assert grades.loc["top", "final"] == 10.0 and grades.loc["top", "passed"]
    assert grades.loc["round", "total"] == pytest.approx(6.55)
    assert grades.loc["round", "final"] == 6.6


def test_round_half_up_at_the_boundaries():
    x = np.array([6.55, 6.549999, 4.45, 4.4499, 0.05, 9.95, 10.0])
    assert list(round_grade(x, 0.1, "half_up")) == [6.6, 6.5, 4.5, 4.4, 0.1, 10.0, 10.0]
    assert list(round_grade(np.array([4.75, 4.74, 4.25]), 0.5, "half_up")) == [5.0, 4.5, 4.5]
    assert list(round_grade(np.array([4.99]), 0.5, "down")) == [4.5]


def test_due_date_across_dst_uses_absolute_time(policy, cohort):
    # Due the evening before the EU switch to summer time (2022-03-27 03:00 EET -> 04:00 EEST); received
    # 00:30 EEST two calendar days later: 23 h 31 min late in real time (1 started day), although the
    # wall clock says 24 h 31 min (2 days).
    item = policy.items["assignment1"]
    due = dt.datetime.fromisoformat("2022-03-26T23:59:00+02:00").astimezone(dt.UTC)
    p = dataclasses.replace(policy, items={**policy.items, "assignment1": dataclasses.replace(item, due=due)})
    cohort.student("dst").nb("dst", "assignment1", 10, 10,
                             dt.datetime.fromisoformat("2022-03-28T00:30:00+03:00"))
    r = compute(p, cohort.records()).loc["dst"]
    assert r["assignment1.late_s"] == 23 * 3600 + 31 * 60
    assert r["assignment1.late_units"] == 1 and r["assignment1.points"] == pytest.approx(1.8)
    assert str(r["assignment1.received"]).endswith("+03:00")  # shown in the course zone, summer time


def test_drop_lowest(policy, cohort):
    p = dataclasses.replace(policy, speedtests=dataclasses.replace(policy.speedtests, drop_lowest=1))
    cohort.student("two").nb("two", "speedtest1", 2, 2, dt.datetime(2022, 3, 9, 16, 1, tzinfo=dt.UTC))
    cohort.nb("two", "speedtest2", 1, 2, dt.datetime(2022, 3, 30, 15, 1, tzinfo=dt.UTC))
    r = compute(p, cohort.records()).loc["two"]
    assert r["speedtests.points"] == pytest.approx((1.0 + 0.5) / 2)


def test_explain_reads_like_the_rules(policy, grades):
    text = "\n".join(explain(policy, grades, "late"))
    assert "9 of 10 raw" in text and "1 day 3 h late = 2 started day(s), −20% → 1.44 of 2" in text
    assert "past the hard cutoff" in "\n".join(explain(policy, grades, "cutoff"))
    assert "after the window closed" in "\n".join(explain(policy, grades, "st_late"))
    assert "capped at 2" in "\n".join(explain(policy, grades, "bonus"))
    assert "final grade 10" in "\n".join(explain(policy, grades, "top"))
    with pytest.raises(ValueError, match="unknown student 'nobody'"):
        explain(policy, grades, "nobody")


def test_parse_duration():
    assert parse_duration("1d12h") == 1.5 * 86400 and parse_duration("90m") == 5400 and parse_duration("0") == 0
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("3 weeks")


def test_speed_test_answer_before_the_test_opened_is_outside_the_window(policy, cohort):
    opens = policy.speedtests.tests[0].opens
    cohort.student("early").nb("early", "speedtest1", 2, 2, opens - dt.timedelta(minutes=1))
    cohort.student("at_open").nb("at_open", "speedtest1", 2, 2, opens)
    g = compute(policy, cohort.records())
    assert (g.loc["early", "speedtest1.status"], g.loc["early", "speedtest1.fraction"]) == ("before window", 0.0)
    assert g.loc["early", "speedtests.points"] == 0.0
    assert (g.loc["at_open", "speedtest1.status"], g.loc["at_open", "speedtest1.fraction"]) == ("in window", 1.0)
    text = "\n".join(explain(policy, g, "early"))
    assert ("speedtest1: received 2022-03-09 17:59:00 EET, 1 min before the test opened at 2022-03-09 18:00:00 EET, "
            "so it is not an answer to the test → 0") in text


def test_the_reason_never_contradicts_the_verdict(policy, cohort):
    # lab part: 2 (assignment1) + 2.48/10 × 2 = 2.496 < 2.5 required: two decimals would read "2.5 < 2.5"
    cohort.student("almost").nb("almost", "assignment1", 10, 10, A1_DUE - dt.timedelta(days=1))
    cohort.nb("almost", "assignment2", 2.48, 10, A2_DUE)
    cohort.manual.append({"student_id": "almost", "item": "project", "score": 5.0})
    g = compute(policy, cohort.records())
    r = g.loc["almost"]
    assert r["part.lab.for_minimum"] == pytest.approx(2.496) and not r["passed"]
    assert r["reasons"] == "Lab part (assignments + speed tests): 2.496 < required 2.5 (50% of 5)"
    assert "counted for the minimum 2.496, required 2.5 (50%) → NOT met" in "\n".join(explain(policy, g, "almost"))
    assert g.loc["below", "reasons"].startswith("Lab part (assignments + speed tests): 2.49 < required 2.5")


@pytest.mark.parametrize("x", [2.4951, 2.49999, 2.4999999, 2.499999999, 2.0, 0.0])
def test_a_value_below_the_bound_is_shown_below_it(x):
    shown = shown_below(np.array([x]), 2.5)[0]
    assert float(shown) < 2.5 and abs(float(shown) - x) < 0.005
    assert shown_below(np.array([2.5, 2.567]), 2.5) == ["2.5", "2.57"]  # met: two decimals


def test_lateness_is_shown_rounded_up(policy, cohort):
    # 7 days and 0.4 s late is past the 7-day hard cutoff: it must not read as "7 days late"
    cohort.student("cut").nb("cut", "assignment1", 9, 10, A1_DUE + dt.timedelta(days=7, seconds=0.4))
    g = compute(policy, cohort.records())
    assert g.loc["cut", "assignment1.status"] == "past cutoff"
    assert "7 days 1 s late, past the hard cutoff of 7 days → 0" in "\n".join(explain(policy, g, "cut"))


def test_a_row_depends_only_on_that_students_latest_records(policy, cohort):
    """Each student's row is computed from their own records alone: records of students off the roster change
    nothing, and where a record repeats (same student and item) the later one counts."""
    want = compute(policy, cohort.records())
    rec = cohort.records()
    for name, first, replaced in (("scores", "score", 0.0), ("manual", "score", 0.0),
                                  ("extensions", "extra_s", 99 * 86400.0), ("accommodations", "extra_s", 0.0)):
        frame = getattr(rec, name)
        stale = frame.assign(**{first: replaced})  # superseded by the rows that follow
        stray = frame.assign(student_id="not-on-roster")
        setattr(rec, name, pd.concat([stale, frame, stray], ignore_index=True))
    pd.testing.assert_frame_equal(compute(policy, rec), want, check_exact=True)
    alone = cohort.records()
    keep = alone.roster["student_id"] == "late"
    alone.roster = alone.roster[keep].reset_index(drop=True)
    pd.testing.assert_frame_equal(compute(policy, alone), want.loc[["late"]], check_exact=True)
