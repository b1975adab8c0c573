"""(policy, records) -> one row per roster student with every intermediate number. Pure; vectorised.

Columns, in a stable order: roster fields; per item `<item>.raw/.max/.received/.extension_s/.late_s/
.late_units/.penalty/.points/.status`; per speed test `<test>.raw/.max/.received/.extra_s/.window_end/
.fraction/.status` then `speedtests.points`; per bonus `<b>.raw/.points/.capped`; per part
`part.<part>.points/.for_minimum/.required/.minimum_met`; then `total`, `capped`, `final`, `passed`, `reasons`.
A speed-test answer counts only if received between the test's opening and the end of its window.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gradebook.policy import Item, LateRule, Policy, SpeedTests
from gradebook.records import Records

EPS = 1e-9  # float sums such as 0.1 + 0.2: "exactly 50 %" must pass


def _pivot(frame: pd.DataFrame, value: str, index: pd.Index, columns: list[str], key: str = "student_id"
           ) -> pd.DataFrame:
    """frame's `value` (as float) by index (key) x columns (item); where a (key, item) repeats, the last row
    counts; keys not in the index are left out, missing cells are NaN. Positions by hash lookups and one
    scatter: a set_index/unstack pivot factorizes every key again and cost most of compute()."""
    out = np.full((len(index), len(columns)), np.nan)
    if len(frame) and len(columns):
        rows = index.get_indexer(frame[key])
        cols = pd.Index(columns).get_indexer(frame["item"])
        hit = (rows >= 0) & (cols >= 0)
        pos = (rows * len(columns) + cols)[hit]
        values = np.asarray(frame[value], dtype=float)[hit]
        _, first_from_end = np.unique(pos[::-1], return_index=True)  # the last row of each position
        last = len(pos) - 1 - first_from_end
        out.flat[pos[last]] = values[last]
    return pd.DataFrame(out, index=index, columns=columns)


def _epoch(col: pd.Series) -> np.ndarray:
    """Datetimes (any unit, tz-aware) -> float epoch seconds; NaN where missing."""
    col = pd.to_datetime(col, utc=True)
    naive = col.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    out = naive.astype(np.int64) / 1e6
    out[np.isnat(naive)] = np.nan
    return out


def _local(seconds: np.ndarray, index: pd.Index, tz) -> pd.Series:
    return pd.Series(pd.to_datetime(seconds, unit="s", utc=True), index=index).dt.tz_convert(tz)


def round_grade(x: np.ndarray, step: float, mode: str) -> np.ndarray:
    if mode == "none":
        return x
    q = np.round(x / step, 9)  # 4.45/0.1 is 44.4999…: clean float noise before deciding
    q = np.floor(q + 0.5) if mode == "half_up" else np.floor(q)
    return np.round(q * step, 10)


def shown_below(x: ArrayLike, bound: float) -> list[str]:
    """Values as text with two decimals, or as many more as it takes to show a value below `bound` as below
    it: a part total of 2.496 reads "2.496 < required 2.5", never "2.5 < required 2.5"."""
    x = np.asarray(x, dtype=float)
    digits = np.full(x.shape, 2)
    for d in range(2, 10):
        digits = np.where((digits == d) & (x < bound) & (np.round(x, d) >= bound), d + 1, digits)
    return [f"{v:.{d}f}".rstrip("0").rstrip(".") for v, d in zip(x.tolist(), digits.tolist(), strict=True)]


class _Inputs:
    """The records pivoted to one row per roster student and one column per item, computed once."""

    def __init__(self, policy: Policy, rec: Records):
        roster = rec.roster.drop_duplicates("student_id")
        self.policy, self.rec = policy, rec
        self.idx = pd.Index(roster["student_id"].astype(str), name="student_id")
        self.n = len(self.idx)
        self.roster = {c: roster[c].to_numpy() for c in ("first_name", "last_name", "email", "id_number")}
        nb = policy.nbgrader_items
        self.raw = _pivot(rec.scores, "score", self.idx, nb)
        self.max = _pivot(rec.scores, "max_score", self.idx, nb)
        receipts = pd.DataFrame({"student_id": rec.receipts["student_id"], "item": rec.receipts["item"],
                                 "at": _epoch(rec.receipts["received_at"])})
        # epoch seconds: vectorised, no Timestamp objects
        self.received = _pivot(receipts, "at", self.idx, nb)
        self.extension = _pivot(rec.extensions, "extra_s", self.idx, nb).fillna(0.0)
        self.manual = _pivot(rec.manual, "score", self.idx, list(policy.manual_items))

    def local(self, seconds: np.ndarray) -> pd.Series:
        return _local(seconds, self.idx, self.policy.timezone)


def _late_penalty(late: np.ndarray, rule: LateRule | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(late units, penalty fraction, past the hard cutoff) per student."""
    if rule is None:
        return np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    counted = np.nan_to_num(late) > rule.grace_s
    units = np.where(counted, np.ceil(np.nan_to_num(late) / rule.unit_s), 0.0)
    penalty = np.minimum(units * rule.penalty, rule.max_penalty)
    past = np.zeros(n, dtype=bool) if rule.hard_cutoff_s is None else np.nan_to_num(late) > rule.hard_cutoff_s
    return units, penalty, past


def _nbgrader_item(inp: _Inputs, item: Item, cols: dict[str, object]) -> np.ndarray:
    p = f"{item.name}."
    r, m = inp.raw[item.name].to_numpy(), inp.max[item.name].to_numpy()
    got = inp.received[item.name].to_numpy()
    extension = inp.extension[item.name].to_numpy()
    assert item.due is not None  # the policy loader requires a due date on every nbgrader item
    late = np.maximum(got - (item.due.timestamp() + extension), 0.0)  # NaN without receipt
    units, penalty, past = _late_penalty(late, item.late, inp.n)
    has_score, has_receipt = ~np.isnan(r), ~np.isnan(got)
    frac = np.where(has_score & (np.nan_to_num(m) > 0), np.nan_to_num(r) / np.where(m > 0, m, 1), 0.0)
    no_receipt = has_score & ~has_receipt & inp.policy.final.require_receipt
    zero = ~has_score | past | no_receipt
    pts = np.where(zero, 0.0, frac * item.points * (1.0 - penalty))
    status = np.select(
        [~has_score & ~has_receipt, ~has_score, no_receipt, past, units > 0,
         has_receipt & (np.nan_to_num(late) > 0)],
        ["missing", "not graded", "no receipt", "past cutoff", "late", "within grace"], "on time")
    cols |= {p + "raw": r, p + "max": m, p + "received": inp.local(got),
             p + "extension_s": extension, p + "late_s": late, p + "late_units": units,
             p + "penalty": penalty, p + "points": pts, p + "status": status}
    return pts


def _csv_item(inp: _Inputs, item: Item, cols: dict[str, object]) -> np.ndarray:
    p = f"{item.name}."
    r = inp.manual[item.name].to_numpy()
    pts = np.where(np.isnan(r), 0.0, np.nan_to_num(r) / item.max_raw * item.points)
    cols |= {p + "raw": r, p + "max": np.full(inp.n, item.max_raw), p + "points": pts,
             p + "status": np.where(np.isnan(r), "missing", "graded")}
    return pts


def _team_item(inp: _Inputs, item: Item, cols: dict[str, object]) -> np.ndarray:
    """The team's score for both members unless a per-student score overrides it."""
    p = f"{item.name}."
    rec = inp.rec
    team = rec.teams.drop_duplicates("student_id", keep="last").set_index("student_id")["team"]
    team = team.reindex(inp.idx)
    ts = rec.team_scores[rec.team_scores["item"] == item.name]
    team_raw = team.map(ts.drop_duplicates("team", keep="last").set_index("team")["score"]).astype(float)
    override = inp.manual[item.name].to_numpy()
    r = np.where(np.isnan(override), team_raw.to_numpy(), override)
    pts = np.where(np.isnan(r), 0.0, np.nan_to_num(r) / item.max_raw * item.points)
    status = np.select([~np.isnan(override), ~np.isnan(team_raw.to_numpy()), team.notna().to_numpy()],
                       ["individual override", "team score", "team not graded"], "no team")
    cols |= {p + "team": team.fillna("").to_numpy(), p + "raw": r, p + "max": np.full(inp.n, item.max_raw),
             p + "points": pts, p + "status": status}
    return pts


def _speedtests(inp: _Inputs, st: SpeedTests, cols: dict[str, object]) -> np.ndarray:
    """Points for the speed tests together: each test's fraction in its window, the lowest dropped."""
    acc = inp.rec.accommodations
    extra_all = _pivot(acc, "extra_s", inp.idx, ["*"])["*"]
    fracs = []
    for test in st.tests:
        p = f"{test.name}."
        r, m = inp.raw[test.name].to_numpy(), inp.max[test.name].to_numpy()
        got = inp.received[test.name].to_numpy()
        specific = _pivot(acc, "extra_s", inp.idx, [test.name])[test.name]
        extra = specific.fillna(extra_all).fillna(0.0).to_numpy()
        length = (st.duration_s if test.duration_s is None else test.duration_s) + (
            st.grace_s if test.grace_s is None else test.grace_s)
        end = test.opens.timestamp() + length + extra
        has_score, has_receipt = ~np.isnan(r), ~np.isnan(got)
        before = has_receipt & (np.nan_to_num(got) < test.opens.timestamp())  # not an answer to the test
        after = has_receipt & (np.nan_to_num(got) > end)
        no_receipt = has_score & ~has_receipt & inp.policy.final.require_receipt
        frac = np.where(has_score & ~before & ~after & ~no_receipt & (np.nan_to_num(m) > 0),
                        np.nan_to_num(r) / np.where(m > 0, m, 1), 0.0)
        status = np.select([~has_score & ~has_receipt, before, after, ~has_score, no_receipt],
                           ["missing", "before window", "after window", "not graded", "no receipt"], "in window")
        cols |= {p + "raw": r, p + "max": m, p + "received": inp.local(got),
                 p + "extra_s": extra, p + "window_end": inp.local(end),
                 p + "fraction": frac, p + "status": status}
        fracs.append(frac)
    f = np.sort(np.column_stack(fracs), axis=1)[:, st.drop_lowest:]  # ascending: drop the lowest first
    pts = f.sum(axis=1) / st.counted * st.points
    cols["speedtests.points"] = pts
    return pts


def _parts(inp: _Inputs, item_points: dict[str, np.ndarray], bonus_points: dict[str, np.ndarray],
           cols: dict[str, object]) -> tuple[np.ndarray, pd.Series]:
    """(passed every part's minimum, the reasons why not) per student."""
    policy, n, st = inp.policy, inp.n, inp.policy.speedtests
    passed = np.ones(n, dtype=bool)
    reasons = pd.Series([""] * n, index=inp.idx, dtype=object)
    for part in policy.parts.values():
        members = [i for i in policy.items.values() if i.part == part.name]
        total = sum((item_points[i.name] for i in members), np.zeros(n))
        for_min = sum((item_points[i.name] for i in members if i.counts_toward_minimum), np.zeros(n))
        if st is not None and st.part == part.name:
            total = total + item_points["speedtests"]
            if st.counts_toward_minimum:
                for_min = for_min + item_points["speedtests"]
        for b in policy.bonuses.values():
            if b.part == part.name and b.counts_toward_minimum:
                for_min = for_min + bonus_points[b.name]
        required = part.minimum * part.points
        met = for_min >= required - EPS
        passed &= met
        why = pd.Series(shown_below(for_min, required), index=inp.idx)
        reasons = reasons.where(met, reasons + f"{part.title}: " + why +
                                f" < required {required:g} ({part.minimum:.0%} of {part.points:g}); ")
        q = f"part.{part.name}."  # own prefix: a part may share its name with an item ("project")
        cols |= {q + "points": total, q + "for_minimum": for_min, q + "required": np.full(n, required),
                 q + "minimum_met": met}
    return passed, reasons


_ITEM_KINDS = {"nbgrader": _nbgrader_item, "csv": _csv_item, "team": _team_item}


def compute(policy: Policy, rec: Records) -> pd.DataFrame:
    inp = _Inputs(policy, rec)
    n = inp.n
    cols: dict[str, object] = dict(inp.roster)
    item_points = {item.name: _ITEM_KINDS[item.source](inp, item, cols) for item in policy.items.values()}
    if policy.speedtests is not None:
        item_points["speedtests"] = _speedtests(inp, policy.speedtests, cols)

    bonus_points: dict[str, np.ndarray] = {}
    for b in policy.bonuses.values():
        r = np.nan_to_num(inp.manual[b.name].to_numpy())
        bonus_points[b.name] = np.minimum(r, b.cap)
        cols |= {f"{b.name}.raw": r, f"{b.name}.points": bonus_points[b.name], f"{b.name}.capped": r > b.cap}

    passed, reasons = _parts(inp, item_points, bonus_points, cols)
    total = sum(item_points.values(), np.zeros(n)) + sum(bonus_points.values(), np.zeros(n))
    capped = np.minimum(total, policy.final.cap)
    final = round_grade(capped, policy.final.round_to, policy.final.rounding)
    if policy.final.min_final is not None:
        ok = final >= policy.final.min_final - EPS
        reasons = reasons.where(ok, reasons + f"final grade below {policy.final.min_final:g}; ")
        passed &= ok
    reasons = reasons.str.rstrip("; ").where(~passed, "every part's minimum met")
    cols |= {"total": total, "capped": capped, "final": final, "passed": passed, "reasons": reasons.to_numpy()}
    return pd.DataFrame(cols, index=inp.idx)
