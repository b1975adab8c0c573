"""Eight processes writing through the store at once: zero "database is locked" errors (deferred transactions
fail under this load when two readers both try to upgrade to writers; BEGIN IMMEDIATE ones wait)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from autograder.store import Store

WRITER = r"""
import sys
from sqlalchemy import text
from autograder.store import Store
store = Store(sys.argv[1], "c", create=False)
failures = 0
for i in range(int(sys.argv[3])):
    try:
        with store.session() as s:  # read, then write: the lock upgrade that deferred transactions lose
            n = s.execute(text("SELECT count(*) FROM lock_probe")).scalar()
            s.execute(text("INSERT INTO lock_probe (writer, seen) VALUES (:w, :n)"), {"w": sys.argv[2], "n": n})
    except Exception as exc:
        failures += 1
        print(type(exc).__name__, exc, file=sys.stderr)
print(failures)
"""


@pytest.mark.slow
def test_eight_writers_never_hit_a_lock_error(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    store = Store(url, "c")
    with store.session() as s:
        s.execute(text("CREATE TABLE lock_probe (id INTEGER PRIMARY KEY, writer TEXT, seen INTEGER)"))
    rounds = 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(w), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(8)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    assert [int(out) for out, _ in outs] == [0] * 8, [err[-500:] for _, err in outs]
    assert not any("locked" in err for _, err in outs)
    with store.session() as s:
        rows = s.execute(text("SELECT seen FROM lock_probe ORDER BY id")).scalars().all()
    # every transaction saw exactly the rows committed before it: the writes were serialised
    assert rows == list(range(8 * rounds))
    store.close()
