"""A private PostgreSQL cluster on loopback, run by an unprivileged account, for tests that need one.

A module of its own (not a conftest) so any test folder can `from pg_cluster import private_cluster`."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (PG_BIN / "initdb").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_cluster(user: str = "nobody") -> Iterator[str]:
    """Start a throw-away cluster (trust auth, superuser 'grader'); yields its server URL without a database."""
    pw = pwd.getpwnam(user)
    base = Path(tempfile.mkdtemp(prefix="course-pg-"))
    os.chown(base, pw.pw_uid, -1)
    data = base / "data"
    port = _free_port()

    def as_user(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd],
                              capture_output=True, text=True, check=False, cwd=base,
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})

    r = as_user(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader", "--no-sync")
    assert r.returncode == 0, r.stderr
    r = as_user(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                f"-p {port} -k {base} -h 127.0.0.1 -F", "start")
    assert r.returncode == 0, r.stderr + (base / "log").read_text()
    try:
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}"
    finally:
        as_user(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def new_database(server: str, name: str) -> str:
    """CREATE DATABASE name on the cluster; returns its URL."""
    from sqlalchemy import create_engine, text

    eng = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        eng.dispose()
    return f"{server}/{name}"
