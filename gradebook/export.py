"""CSV exports: the full table (every intermediate number) and Moodle's grade-import layout.

Moodle (Grades > Import > CSV file) maps one identifier column to a user field ("Email address",
"ID number" or "Username") and every other column either to a grade item or to "ignore"; values are plain
numbers with a '.' decimal point, UTF-8, comma-separated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from course_errors import UserError
from gradebook.policy import Policy

MOODLE_IDS = {"email": ("Email address", "email"), "idnumber": ("ID number", "id_number"),
              "username": ("Username", "student_id")}


def iso_local(col: pd.Series) -> np.ndarray:
    """Tz-aware datetimes -> ISO 8601 text with the course offset ('2022-03-16T23:59:00+02:00'), vectorised
    (Series.dt.strftime formats one Timestamp at a time and dominated the 10 000-student export)."""
    local = col.dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    utc = col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    offset = (local - utc).astype(np.int64)
    names = {}
    for v in np.unique(offset[~np.isnat(local)]):
        sign, m = ("+" if v >= 0 else "-"), abs(int(v)) // 60
        names[v] = f"{sign}{m // 60:02d}:{m % 60:02d}"
    text = pd.Series(np.datetime_as_string(local, unit="s")) + pd.Series(offset).map(names).fillna("").to_numpy()
    return np.where(np.isnat(local), "", text.to_numpy())


def full_table(grades: pd.DataFrame) -> pd.DataFrame:
    out = grades.reset_index()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = iso_local(out[c])
    return out


def moodle_table(policy: Policy, grades: pd.DataFrame, identifier: str = "email") -> pd.DataFrame:
    if identifier not in MOODLE_IDS:
        raise UserError(f"--moodle-id {identifier!r}: use one of {', '.join(MOODLE_IDS)}")
    head, src = MOODLE_IDS[identifier]
    ids = grades.index.to_series() if src == "student_id" else grades[src]
    missing = ids.astype(str).str.strip() == ""
    if missing.any():
        who = ", ".join(grades.index[missing.to_numpy()][:5])
        raise UserError(f"--moodle-id {identifier}: the roster has no {src} for {who}; import a roster CSV with "
                         f"a {src} column or choose another --moodle-id")
    cols = {head: ids.to_numpy(), "First name": grades["first_name"].to_numpy(),
            "Last name": grades["last_name"].to_numpy()}
    for item in policy.items.values():
        cols[item.title] = grades[f"{item.name}.points"].round(2).to_numpy()
    if policy.speedtests:
        cols[policy.speedtests.title] = grades["speedtests.points"].round(2).to_numpy()
    for b in policy.bonuses.values():
        cols[f"Bonus: {b.title}"] = grades[f"{b.name}.points"].round(2).to_numpy()
    cols["Final grade"] = grades["final"].to_numpy()
    return pd.DataFrame(cols)


def write_csv(frame: pd.DataFrame, to: Path) -> None:
    """Write via a temporary file and rename, so a failed export never leaves half a file."""
    to = Path(to)
    check_target(to)
    tmp = to.with_name(f".{to.name}.tmp")
    # round() then repr is faster than a float_format applied per value, and drops float noise (1.4400000001)
    frame.round(6).to_csv(tmp, index=False)
    tmp.replace(to)


def check_target(to: Path) -> None:
    if not to.parent.is_dir():
        raise UserError(f"--to {to}: folder {to.parent} does not exist; create it or write elsewhere")
    if to.is_dir():
        raise UserError(f"--to {to}: is a folder; give a file name such as {to / 'grades.csv'}")
