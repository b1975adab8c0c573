"""SQLite as the course's databases use it (nbgrader's gradebook, the grade events, the course's tables).

pysqlite's deferred transactions fail with "database is locked" when two writers meet half-way; a writer
that takes the write lock when its transaction begins (BEGIN IMMEDIATE) and waits up to 60 s for it never
does. Shared by autograder.store and gradebook.course_db, so both sides of the course write the same way.
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 60_000


def serialise_writes(engine: Engine) -> Engine:
    """`engine` with immediate transactions; connections opened before are dropped so that none escapes."""

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not open deferred transactions itself
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()
    return engine
