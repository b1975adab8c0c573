"""The course's own tables in the gradebook database: the audit log and the receipt log.

Both live next to nbgrader's tables under the same URL (CourseDirectory.db_url, i.e. $COURSE_DB_URL;
SQLite by default, PostgreSQL through the same setting), so one backup, one lock and one transaction cover
them. Writers (`course import`, `course collect`) take the write lock for their whole transaction
(SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), create the tables on first
use and commit all or nothing. Readers never create anything: an absent SQLite file or table reads as
empty, and they never import nbgrader.

Every read is one SQL text (here, and nbgrader's tables in gradebook.nbgrader_db) that runs on either
driver: the standard library's sqlite3 for a SQLite file, so the read-only commands (`course grades`,
`course explain`) do not import SQLAlchemy at all, and SQLAlchemy for any other URL (PostgreSQL) and
inside a write transaction. The tables' definitions (DDL, writers' statements) are SQLAlchemy Core in
gradebook.course_tables, loaded on first use; `course_db.receipt` etc. still name them.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# A read connection: sqlite3's for a SQLite file, SQLAlchemy's otherwise (and in a write transaction).
Reader: TypeAlias = "Connection | sqlite3.Connection"

AUDIT_TABLE, RECEIPT_TABLE, WINDOW_TABLE = "course_audit_event", "course_receipt", "course_speedtest_window"
AUDIT_COLUMNS = ("seq", "at", "source", "kind", "key", "field", "old", "new", "action")
REPLAY_COLUMNS = ("kind", "key", "field", "new", "action")  # what a replay reads, in seq order
RECEIPT_COLUMNS = ("assignment", "student_id", "version", "received_at", "owner_uid", "expected_uid", "status",
                   "reason", "path")
WINDOW_COLUMNS = ("test", "opened_at", "duration_s", "grace_s", "closed_at")
TABLES = ("meta", "audit_event", "receipt", "speedtest_window")  # SQLAlchemy objects in gradebook.course_tables
LOCK_KEY = 0x636F75727365  # PostgreSQL advisory lock shared by every writer of these tables
NBGRADER_TABLE = "assignment"  # present once nbgrader has created its schema


def __getattr__(name: str) -> Any:
    """The Core table definitions (`course_db.receipt`, ...), imported with SQLAlchemy when first named."""
    if name in TABLES:
        from gradebook import course_tables

        return getattr(course_tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sqlite_file(db_url: str) -> Path | None:
    return Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None


def engine(db_url: str, write: bool = False) -> Engine:
    from sqlalchemy import create_engine

    from course_sqlite import serialise_writes

    if not db_url.startswith("sqlite"):
        return create_engine(db_url, pool_pre_ping=True)
    eng = create_engine(db_url, connect_args={"timeout": 60})
    return serialise_writes(eng) if write else eng


@contextmanager
def reading(db_url: str) -> Iterator[Reader | None]:
    """A read connection, or None when the SQLite file does not exist (it is never created here)."""
    path = sqlite_file(db_url)
    if path is not None:
        if not path.is_file():
            yield None
            return
        # mode=rw: never creates the file; opens read-only where the file is write-protected
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=60)
        try:
            yield conn
        finally:
            conn.close()
        return
    eng = engine(db_url)
    try:
        with eng.connect() as sa_conn:
            yield sa_conn
    finally:
        eng.dispose()


def rows(conn: Reader, sql: str, params: dict[str, Any] | None = None) -> list[Sequence[Any]]:
    """The rows of one read query, on either driver; parameters are named (`:name`), which both accept."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, params or {}).fetchall()
    from sqlalchemy import text

    return list(conn.execute(text(sql), params or {}).all())


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:p0, :p1, ...)` and its parameters, for `column IN (...)` (neither driver expands a list itself)."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


def select_sql(table: str, columns: Sequence[str], order_by: str | None = None) -> str:
    """SELECT of named columns, each quoted (`key`, `new` and `at` are keywords in some SQL dialects)."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"SELECT {quoted} FROM {table}" + (f' ORDER BY "{order_by}"' if order_by else "")


def frame(result: Sequence[Sequence[Any]], names: Sequence[str]) -> pd.DataFrame:
    """Result rows -> DataFrame by columns (pandas converts a list of row objects one cell at a time)."""
    cols = list(zip(*result, strict=True)) or [()] * len(names)
    return pd.DataFrame({n: list(c) for n, c in zip(names, cols, strict=True)}, columns=list(names))


def tables(conn: Reader | None) -> set[str]:
    if conn is None:
        return set()
    if isinstance(conn, sqlite3.Connection):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
        return {r[0] for r in conn.execute(sql)}
    from sqlalchemy import inspect

    return set(inspect(conn).get_table_names())


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
    from sqlalchemy import text

    from gradebook.course_tables import meta

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


def read_audit(conn: Reader | None, present: set[str] | None = None) -> pd.DataFrame:
    """The audit log in seq order (text columns; `at` as ISO 8601 UTC). present: tables(conn), if known."""
    if conn is None or AUDIT_TABLE not in (tables(conn) if present is None else present):
        return pd.DataFrame({c: pd.Series(dtype=int if c == "seq" else object) for c in AUDIT_COLUMNS})
    log = frame(rows(conn, select_sql(AUDIT_TABLE, AUDIT_COLUMNS, order_by="seq")), AUDIT_COLUMNS)
    log["seq"] = log["seq"].astype(int)
    log["at"] = [a.isoformat(timespec="seconds") for a in _utc(log["at"])]
    return log


def audit_events(conn: Reader | None, present: set[str] | None = None) -> list[Sequence[Any]]:
    """What a replay reads, as rows in seq order: (kind, key, field, new, action); the grades of 10 000
    students replay ~80 000 events, so no DataFrame is built for them."""
    if conn is None or AUDIT_TABLE not in (tables(conn) if present is None else present):
        return []
    return rows(conn, select_sql(AUDIT_TABLE, REPLAY_COLUMNS, order_by="seq"))


def _utc(col: pd.Series) -> pd.Series:
    """Naive UTC date-times as the driver returns them (SQLite: text, PostgreSQL: datetime) -> tz-aware UTC."""
    out = pd.to_datetime(col, format="ISO8601") if len(col) and isinstance(col.iloc[0], str) else pd.to_datetime(col)
    return out.dt.tz_localize("UTC")


def _utc_value(value: str | dt.datetime | None) -> dt.datetime | None:
    """One naive UTC date-time as the driver returns it -> tz-aware UTC."""
    if value is None or value == "":
        return None
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=dt.UTC)


def add_audit_events(conn: Connection, kind: str, source: str, events: list[dict[str, str]]) -> None:
    from sqlalchemy import insert

    from gradebook.course_tables import audit_event

    if events:
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        conn.execute(insert(audit_event), [{"at": at, "source": source, "kind": kind, **ev} for ev in events])


# --- receipt log ----------------------------------------------------------------------------------


def read_receipts(conn: Reader | None, present: set[str] | None = None,
                  columns: Sequence[str] = RECEIPT_COLUMNS) -> pd.DataFrame:
    """Every receipt (accepted and rejected) in the order recorded; received_at as tz-aware UTC.
    columns: those to read (received_at among them), if not all."""
    if conn is None or RECEIPT_TABLE not in (tables(conn) if present is None else present):
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        out["received_at"] = pd.Series(dtype="datetime64[ns, UTC]")
        return out
    out = frame(rows(conn, select_sql(RECEIPT_TABLE, columns, order_by="id")), columns)
    out["received_at"] = _utc(out["received_at"])
    return out


def receipt_paths(conn: Connection) -> set[str]:
    return {r[0] for r in rows(conn, select_sql(RECEIPT_TABLE, ["path"]))}


def add_receipts(conn: Connection, receipts: list[dict[str, str]]) -> None:
    """Receipts as `course collect` makes them (received_at: ISO 8601 with offset)."""
    from sqlalchemy import insert

    from gradebook.course_tables import receipt

    if receipts:
        conn.execute(insert(receipt), [
            {**r, "received_at": dt.datetime.fromisoformat(r["received_at"]).astimezone(dt.UTC).replace(tzinfo=None)}
            for r in receipts])


def newest_accepted(conn: Connection, assignment: str, students: set[str]) -> dict[str, dict]:
    """Per student, the accepted receipt with the latest server time (the one graded)."""
    from sqlalchemy import func, select

    from gradebook.course_tables import receipt

    if not students:
        return {}
    latest = (select(receipt.c.student_id, func.max(receipt.c.received_at).label("at"))
              .where(receipt.c.assignment == assignment, receipt.c.status == "accepted",
                     receipt.c.student_id.in_(sorted(students)))
              .group_by(receipt.c.student_id).subquery())
    found = conn.execute(
        select(receipt).join(latest, (receipt.c.student_id == latest.c.student_id)
                             & (receipt.c.received_at == latest.c.at))
        .where(receipt.c.assignment == assignment, receipt.c.status == "accepted").order_by(receipt.c.id)).mappings()
    out: dict[str, dict] = {}
    for r in found:  # equal times: the one recorded last, as before
        out[r["student_id"]] = {**r, "received_at": r["received_at"].replace(tzinfo=dt.UTC).isoformat()}
    return out


# --- speed-test windows -----------------------------------------------------------------------------


def read_windows(conn: Reader | None, present: set[str] | None = None) -> dict[str, dict]:
    """Recorded windows by test: opened_at / closed_at as tz-aware UTC datetimes (closed_at may be None)."""
    if conn is None or WINDOW_TABLE not in (tables(conn) if present is None else present):
        return {}
    out = {}
    for row in rows(conn, select_sql(WINDOW_TABLE, WINDOW_COLUMNS)):
        r = dict(zip(WINDOW_COLUMNS, row, strict=True))
        out[r["test"]] = {**r, **{k: _utc_value(r[k]) for k in ("opened_at", "closed_at")}}
    return out
