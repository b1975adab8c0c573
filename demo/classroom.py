"""A class of students handing in at once: nbgrader's exchange imported once, one forked process per student.

python -m demo.classroom EXCHANGE BASE STUDENT=ITEM[,ITEM...] ...   (run as root; demo.student says what an
ITEM is). Importing nbgrader's exchange costs about a second of CPU; paid once here instead of once per
student. Each child drops to the student's own uid, groups and a clean environment before it touches
anything of the student's, so every file it writes into the exchange is the student's, as with
`runuser -u STUDENT`; it then runs demo.student's hand-in. Exit status 1 if any student failed, with one
line per failure on stderr."""
from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path


def become(name: str, home: Path) -> None:
    """Drop every privilege for good: the student's groups, gid and uid; their environment only."""
    pw = pwd.getpwnam(name)
    os.initgroups(name, pw.pw_gid)
    os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise SystemExit(f"{name}: could not drop root's privileges")
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home)})


def _child(exchange: str, base: Path, name: str, items: list[str]) -> int:
    from demo import student

    try:
        become(name, base / "home" / name)
        return student.main([exchange, str(base / "home" / name), str(base / "work" / name), *items])
    except SystemExit as e:
        if e.code not in (None, 0):
            print(f"{name}: {e.code}", file=sys.stderr, flush=True)
        return 0 if e.code in (None, 0) else 1
    except BaseException as e:  # noqa: BLE001  (one line per student, whatever went wrong)
        print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 1


def main(argv: list[str]) -> int:
    exchange, base, *plan = argv
    # nbgrader's exchange, imported once before the class forks
    import nbgrader.exchange.default.fetch_assignment
    import nbgrader.exchange.default.submit  # noqa: F401

    children: dict[int, str] = {}
    for entry in plan:
        name, _, items = entry.partition("=")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(exchange, Path(base), name, items.split(",")))
        children[pid] = name
    failed = []
    while children:
        pid, status = os.wait()
        name = children.pop(pid, "")
        if name and os.waitstatus_to_exitcode(status) != 0:
            failed.append(name)
    for name in failed:
        print(f"{name} could not hand in", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
