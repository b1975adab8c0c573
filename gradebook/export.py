"""CSV exports: the full table (every intermediate number) and Moodle's grade-import layout.

Moodle (Grades > Import > CSV file) maps one identifier column to a user field ("Email address",
"ID number" or "Username") and every other column either to a grade item or to "ignore"; values are plain
numbers with a '.' decimal point, UTF-8, comma-separated.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradebook.policy import Policy

MOODLE_IDS = {"email": ("Email address", "email"), "idnumber": ("ID number", "id_number"),
              "username": ("Username", "student_id")}


def full_table(grades: pd.DataFrame) -> pd.DataFrame:
    out = grades.reset_index()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S%z").fillna("")  # ISO with the course offset
    return out


def moodle_table(policy: Policy, grades: pd.DataFrame, identifier: str = "email") -> pd.DataFrame:
    if identifier not in MOODLE_IDS:
        raise ValueError(f"--moodle-id {identifier!r}: use one of {', '.join(MOODLE_IDS)}")
    head, src = MOODLE_IDS[identifier]
    ids = grades.index.to_series() if src == "student_id" else grades[src]
    missing = ids.astype(str).str.strip() == ""
    if missing.any():
        who = ", ".join(grades.index[missing.to_numpy()][:5])
        raise ValueError(f"--moodle-id {identifier}: the roster has no {src} for {who}; import a roster CSV with "
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
    tmp = to.with_name(f".{to.name}.tmp")
    frame.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(to)
