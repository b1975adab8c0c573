"""Append-only audit log of imported records; the current tables are a replay of the log.

Each `course import KIND FILE` compares the file with the current table of that kind and appends one
event per changed cell (set: old -> new) or vanished row (delete), with the time and source file.
Nothing is ever rewritten, so every grade can be reproduced from the log.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path

import pandas as pd

from gradebook.schemas import KINDS, SEP

LOG_COLUMNS = ("seq", "at", "source", "kind", "key", "field", "old", "new", "action")

def store_dir(course) -> Path:
    return Path(course.data) / "gradebook"


def read_log(store: Path) -> pd.DataFrame:
    path = store / "audit.csv"
    if not path.is_file():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
    log = pd.read_csv(path, dtype=str, keep_default_na=False)
    log["seq"] = log["seq"].astype(int)
    return log


def replay(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Current table per kind: the last value of every (key, field) set after the key's last delete."""
    out: dict[str, pd.DataFrame] = {}
    for kind, (keys, values, _req) in KINDS.items():
        g = log[log["kind"] == kind]
        if g.empty:
            continue
        last_delete = g[g["action"] == "delete"].groupby("key")["seq"].max()
        sets = g[g["action"] == "set"]
        sets = sets[sets["seq"] > sets["key"].map(last_delete).fillna(-1).astype(int)]
        if sets.empty:
            continue
        first_seen = sets.groupby("key", sort=False)["seq"].min().sort_values()  # stable: first import order
        wide = (sets.sort_values("seq").drop_duplicates(["key", "field"], keep="last")
                .pivot(index="key", columns="field", values="new").reindex(first_seen.index))
        wide = wide.reindex(columns=list(values)).astype(object).fillna("")
        split = pd.DataFrame(wide.index.str.split(SEP, regex=False).tolist(), columns=list(keys), index=wide.index)
        out[kind] = pd.concat([split, wide], axis=1).reset_index(drop=True)
    return out


def current_tables(store: Path) -> dict[str, pd.DataFrame]:
    return replay(read_log(store))


def diff_events(kind: str, rows: list[dict[str, str]], current: pd.DataFrame | None) -> list[dict[str, str]]:
    """Events that turn `current` into `rows` (the file replaces the whole table of its kind)."""
    keys, values, _ = KINDS[kind]
    old: dict[str, dict[str, str]] = {}
    if current is not None:
        for rec in current.to_dict("records"):
            old[SEP.join(str(rec[k]) for k in keys)] = {v: str(rec.get(v, "")) for v in values}
    events: list[dict[str, str]] = []
    new_keys = set()
    for row in rows:
        key = SEP.join(row[k] for k in keys)
        new_keys.add(key)
        before = old.get(key, {})
        for field in values:
            if field not in row:
                continue
            if key not in old or before.get(field, "") != row[field]:
                events.append({"key": key, "field": field, "old": before.get(field, ""), "new": row[field],
                               "action": "set"})
    for key, before in old.items():
        if key not in new_keys:
            events.append({"key": key, "field": "*", "old": ";".join(f"{k}={v}" for k, v in before.items()),
                           "new": "", "action": "delete"})
    return events


def append(store: Path, kind: str, source: str, events: list[dict[str, str]]) -> int:
    """Append events in one write (one fsync); returns how many."""
    if not events:
        return 0
    store.mkdir(parents=True, exist_ok=True)
    path = store / "audit.csv"
    log = read_log(store)
    seq0 = int(log["seq"].max()) + 1 if len(log) else 1
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, lineterminator="\n")
    if not path.exists():
        w.writeheader()
    for n, ev in enumerate(events):
        w.writerow({"seq": seq0 + n, "at": at, "source": source, "kind": kind, **ev})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    return len(events)


def import_rows(store: Path, kind: str, rows: list[dict[str, str]], source: str) -> list[dict[str, str]]:
    events = diff_events(kind, rows, current_tables(store).get(kind))
    append(store, kind, source, events)
    return events
