"""The course's own tables as SQLAlchemy Core definitions: their DDL (created on first write) and the
writers' statements. Readers never import this module (nor SQLAlchemy): their queries are the SQL text in
gradebook.course_db, whose column lists a test compares with these definitions.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text

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
