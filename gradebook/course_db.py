"""The course's own tables in the gradebook database: the audit log and the receipt log.

Both live next to nbgrader's tables under the same URL (CourseDirectory.db_url, i.e. $COURSE_DB_URL;
SQLite by default, PostgreSQL through the same setting), so one backup, one lock and one transaction cover
them. Writers (`course import`, `course collect`) take the write lock for their whole transaction
(SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), create the tables on first
use and commit all or nothing. Readers never create anything: an absent SQLite file or table reads as
empty, and they never import nbgrader.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    inspect,
    select,
    text,
    type_coerce,
)
from sqlalchemy.engine import Connection, Engine

from course_sqlite import serialise_writes

meta = MetaData()

audit_event = Table(
    "course_audit_event", meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # replay order
    Column("at", DateTime, nullable=False),  # UTC
    Column("source", Text, nullable=False),  # the imported file
    Column("kind", String(32), nullable=False, index=True),
    Column("key", String(512), nullable=False),  # key cells joined by '|'
    Column("field", String(64), nullable=False),
    Column("old", Text, nullable=False),
    Column("new", Text, nullable=False),
    Column("action", String(8), nullable=False),  # set | delete
)

receipt = Table(
    "course_receipt", meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment", String(128), nullable=False, index=True),
    Column("student_id", String(128), nullable=False, index=True),
    Column("version", String(512), nullable=False),  # the exchange folder's name
    Column("received_at", DateTime, nullable=False),  # UTC, from the server's ctime
    Column("owner_uid", String(64), nullable=False),
    Column("expected_uid", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # accepted | rejected
    Column("reason", Text, nullable=False),
    Column("path", String(1024), nullable=False, unique=True),  # under <data>/gradebook/submissions/
)

# A speed test's window as `course speedtest open` started it (server clock); it overrides course.toml's
# `opens`, and a second `open` never changes it.
speedtest_window = Table(
    "course_speedtest_window", meta,
    Column("test", String(128), primary_key=True),
    Column("opened_at", DateTime, nullable=False),  # UTC
    Column("duration_s", Float, nullable=False),
    Column("grace_s", Float, nullable=False),
    Column("closed_at", DateTime, nullable=True),  # UTC, when `close` collected and graded
)

AUDIT_COLUMNS = tuple(c.name for c in audit_event.columns)
RECEIPT_COLUMNS = tuple(c.name for c in receipt.columns if c.name != "id")
LOCK_KEY = 0x636F75727365  # PostgreSQL advisory lock shared by every writer of these tables
NBGRADER_TABLE = "assignment"  # present once nbgrader has created its schema


def sqlite_file(db_url: str) -> Path | None:
    return Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None


def engine(db_url: str, write: bool = False) -> Engine:
    if not db_url.startswith("sqlite"):
        return create_engine(db_url, pool_pre_ping=True)
    eng = create_engine(db_url, connect_args={"timeout": 60})
    return serialise_writes(eng) if write else eng


@contextmanager
def reading(db_url: str) -> Iterator[Connection | None]:
    """A read connection, or None when the SQLite file does not exist (it is never created here)."""
    path = sqlite_file(db_url)
    if path is not None and not path.is_file():
        yield None
        return
    eng = engine(db_url)
    try:
        with eng.connect() as conn:
            yield conn
    finally:
        eng.dispose()


def frame(rows, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Result rows -> DataFrame by columns (pandas converts a list of row objects one cell at a time)."""
    cols = list(zip(*rows, strict=True)) or [()] * len(names)
    return pd.DataFrame({n: list(c) for n, c in zip(names, cols, strict=True)}, columns=list(names))


def tables(conn: Connection | None) -> set[str]:
    return set() if conn is None else set(inspect(conn).get_table_names())


def _init_nbgrader(db_url: str, course_id: str) -> None:
    """nbgrader stamps its schema version only into an empty database, so its schema must come first."""
    path = sqlite_file(db_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with reading(db_url) as conn:
        if NBGRADER_TABLE in tables(conn):
            return
    bindir = str(Path(sys.executable).parent)  # nbgrader runs the `alembic` command of this environment
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.api import Gradebook

    Gradebook(db_url, course_id=course_id).close()


@contextmanager
def writing(db_url: str, course_id: str) -> Iterator[Connection]:
    """One transaction holding the course tables' write lock; commits on success, rolls back otherwise."""
    _init_nbgrader(db_url, course_id)
    eng = engine(db_url, write=True)
    try:
        with eng.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            meta.create_all(conn)  # first use; inside the lock, so two first writers do not race
            yield conn
    finally:
        eng.dispose()


# --- audit log ------------------------------------------------------------------------------------


def read_audit(conn: Connection | None, present: set[str] | None = None, for_replay: bool = False) -> pd.DataFrame:
    """The audit log in seq order (text columns; `at` as ISO 8601 UTC). present: tables(conn), if known;
    for_replay: only the columns a replay reads (the grades of 10 000 students replay ~80 000 events)."""
    names = [c for c in AUDIT_COLUMNS if not for_replay or c not in ("at", "source", "old")]
    if audit_event.name not in (tables(conn) if present is None else present):
        return pd.DataFrame({c: pd.Series(dtype=int if c == "seq" else object) for c in names})
    cols = [type_coerce(audit_event.c[c], String) if c == "at" else audit_event.c[c] for c in names]
    log = frame(conn.execute(select(*cols).order_by(audit_event.c.seq)).all(), names)
    log["seq"] = log["seq"].astype(int)
    if "at" in log:
        log["at"] = [a.isoformat(timespec="seconds") for a in _utc(log["at"])]
    return log


def _utc(col: pd.Series) -> pd.Series:
    """Naive UTC date-times as the driver returns them (SQLite: text, PostgreSQL: datetime) -> tz-aware UTC."""
    out = pd.to_datetime(col, format="ISO8601") if len(col) and isinstance(col.iloc[0], str) else pd.to_datetime(col)
    return out.dt.tz_localize("UTC")


def add_audit_events(conn: Connection, kind: str, source: str, events: list[dict[str, str]]) -> None:
    if events:
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        conn.execute(insert(audit_event), [{"at": at, "source": source, "kind": kind, **ev} for ev in events])


# --- receipt log ----------------------------------------------------------------------------------


def read_receipts(conn: Connection | None, present: set[str] | None = None) -> pd.DataFrame:
    """Every receipt (accepted and rejected) in the order recorded; received_at as tz-aware UTC."""
    if receipt.name not in (tables(conn) if present is None else present):
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in RECEIPT_COLUMNS})
        out["received_at"] = pd.Series(dtype="datetime64[ns, UTC]")
        return out
    cols = [type_coerce(receipt.c[c], String) if c == "received_at" else receipt.c[c] for c in RECEIPT_COLUMNS]
    out = frame(conn.execute(select(*cols).order_by(receipt.c.id)).all(), RECEIPT_COLUMNS)
    out["received_at"] = _utc(out["received_at"])
    return out


def receipt_paths(conn: Connection) -> set[str]:
    return set(conn.execute(select(receipt.c.path)).scalars())


def add_receipts(conn: Connection, rows: list[dict[str, str]]) -> None:
    """Receipts as `course collect` makes them (received_at: ISO 8601 with offset)."""
    if rows:
        conn.execute(insert(receipt), [
            {**r, "received_at": dt.datetime.fromisoformat(r["received_at"]).astimezone(dt.UTC).replace(tzinfo=None)}
            for r in rows])


def newest_accepted(conn: Connection, assignment: str, students: set[str]) -> dict[str, dict]:
    """Per student, the accepted receipt with the latest server time (the one graded)."""
    if not students:
        return {}
    latest = (select(receipt.c.student_id, func.max(receipt.c.received_at).label("at"))
              .where(receipt.c.assignment == assignment, receipt.c.status == "accepted",
                     receipt.c.student_id.in_(sorted(students)))
              .group_by(receipt.c.student_id).subquery())
    rows = conn.execute(
        select(receipt).join(latest, (receipt.c.student_id == latest.c.student_id)
                             & (receipt.c.received_at == latest.c.at))
        .where(receipt.c.assignment == assignment, receipt.c.status == "accepted").order_by(receipt.c.id)).mappings()
    out: dict[str, dict] = {}
    for r in rows:  # equal times: the one recorded last, as before
        out[r["student_id"]] = {**r, "received_at": r["received_at"].replace(tzinfo=dt.UTC).isoformat()}
    return out


# --- speed-test windows -----------------------------------------------------------------------------


def read_windows(conn: Connection | None, present: set[str] | None = None) -> dict[str, dict]:
    """Recorded windows by test: opened_at / closed_at as tz-aware UTC datetimes (closed_at may be None)."""
    if speedtest_window.name not in (tables(conn) if present is None else present):
        return {}
    out = {}
    for r in conn.execute(select(speedtest_window)).mappings():
        out[r["test"]] = {**r, **{k: r[k].replace(tzinfo=dt.UTC) if r[k] else None for k in ("opened_at", "closed_at")}}
    return out
