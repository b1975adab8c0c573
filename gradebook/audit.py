"""Append-only audit log of imported records; the current tables are a replay of the log.

Each `course import KIND FILE` compares the file with the current table of that kind and appends one
event per changed cell (set: old -> new) or vanished row (delete), with the time and source file, in one
locked transaction of the course database (table course_audit_event, see gradebook.course_db).
Nothing is ever rewritten, so every grade can be reproduced from the log.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from gradebook import course_db
from gradebook.schemas import KINDS, SEP


def read_log(db_url: str) -> pd.DataFrame:
    with course_db.reading(db_url) as conn:
        return course_db.read_audit(conn)


def replay(log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Current table per kind from the audit log (as course_db.read_audit returns it): see replay_events."""
    log = log.sort_values("seq", kind="stable")
    return replay_events(zip(*(log[c].tolist() for c in course_db.REPLAY_COLUMNS), strict=True))


def replay_events(events: Iterable[Sequence[str]]) -> dict[str, pd.DataFrame]:
    """Current table per kind: the last value of every (key, field) set after the key's last delete, rows in
    the order their keys were first set since then. events: (kind, key, field, new, action) in seq order.
    One pass: a plain dict per kind keeps that order (a delete drops the key, a later set appends it again);
    pandas pivots cost ten times more here."""
    state: dict[str, dict[str, dict[str, str]]] = {kind: {} for kind in KINDS}
    for kind, key, field, new, action in events:
        rows = state.get(kind)
        if rows is None:
            continue
        if action == "delete":
            rows.pop(key, None)
        elif action == "set":
            rows.setdefault(key, {})[field] = new
    out: dict[str, pd.DataFrame] = {}
    for kind, (keys, values, _req) in KINDS.items():
        if rows := state[kind]:
            split = [key.split(SEP) for key in rows]
            cols = {k: [parts[i] for parts in split] for i, k in enumerate(keys)}
            cols |= {v: pd.Series([r.get(v, "") for r in rows.values()], dtype=object) for v in values}
            out[kind] = pd.DataFrame(cols, columns=list(keys + values))
    return out


def current_tables(db_url: str) -> dict[str, pd.DataFrame]:
    return replay(read_log(db_url))


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


def import_rows(db_url: str, course_id: str, kind: str, rows: list[dict[str, str]],
                source: str) -> list[dict[str, str]]:
    """Diff against the current table and append the events, all in one transaction under the write lock."""
    with course_db.writing(db_url, course_id) as conn:
        events = diff_events(kind, rows, replay_events(course_db.audit_events(conn)).get(kind))
        course_db.add_audit_events(conn, kind, source, events)
    return events
