"""Properties of the scheme over random cohorts (hypothesis)."""
from __future__ import annotations

import datetime as dt

from gb_cohort import A1_DUE, A2_DUE, Cohort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradebook.compute import compute

NB = {"assignment1": A1_DUE, "assignment2": A2_DUE,
      "speedtest1": dt.datetime(2022, 3, 9, 16, 2, tzinfo=dt.UTC),
      "speedtest2": dt.datetime(2022, 3, 30, 15, 2, tzinfo=dt.UTC),
      "speedtest3": dt.datetime(2022, 4, 13, 15, 2, tzinfo=dt.UTC)}
MANUAL = {"project": 5.0, "lecture": 10.0, "poster": 5.0}

fraction = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))
late_h = st.floats(-48, 24 * 9, allow_nan=False)
student = st.fixed_dictionaries({
    **{k: st.tuples(fraction, late_h) for k in NB},
    **{k: fraction for k in MANUAL},
})


def _cohort(s: dict) -> Cohort:
    c = Cohort().student("x")
    for item, due in NB.items():
        frac, hours = s[item]
        if frac is not None:
            at = due + dt.timedelta(hours=hours) if item.startswith("assignment") else due
            c.nb("x", item, frac * 10, 10, at)
    for item, top in MANUAL.items():
        if s[item] is not None:
            c.manual.append({"student_id": "x", "item": item, "score": s[item] * top})
    return c


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(s=student, which=st.sampled_from([*NB, *MANUAL]), bump=st.floats(0, 1, allow_nan=False))
def test_raising_a_raw_score_never_lowers_the_final_grade(policy, s, which, bump):
    before = compute(policy, _cohort(s).records()).loc["x"]
    raised = dict(s)
    if which in NB:
        frac, hours = s[which]
        raised[which] = (min(1.0, (frac or 0.0) + bump), hours)
    else:
        raised[which] = min(1.0, (s[which] or 0.0) + bump)
    after = compute(policy, _cohort(raised).records()).loc["x"]
    assert after["final"] >= before["final"]
    assert after["total"] >= before["total"] - 1e-12
    assert after["passed"] >= before["passed"]


@FAST
@given(s=student)
def test_final_never_exceeds_the_cap_and_bonuses_never_exceed_theirs(policy, s):
    r = compute(policy, _cohort(s).records()).loc["x"]
    assert 0 <= r["final"] <= policy.final.cap
    for b in policy.bonuses.values():
        assert 0 <= r[f"{b.name}.points"] <= b.cap
    for p in policy.parts.values():
        assert r[f"part.{p.name}.points"] <= p.points + 1e-9
