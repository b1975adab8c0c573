"""Run the real `course` dispatcher (course_cli.main) with a temporary course: in a subprocess, or in this
process for the many small CLI cases. Every subcommand module is the real one (a missing one is an error)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def course(*args: str, root: Path = ROOT, data: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}
    env.pop("COURSE_DB_URL", None)
    env.pop("COURSE_EXCHANGE", None)
    return subprocess.run([sys.executable, "-m", "course_cli", *args], check=False, capture_output=True,
                          text=True, env=env, cwd=cwd or root)


def course_inproc(*args: str, root: Path = ROOT, data: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The same dispatcher, in this process (no interpreter start-up): for the many small CLI cases."""
    import contextlib
    import io

    import course_cli

    saved = {k: os.environ.get(k) for k in ("COURSE_ROOT", "COURSE_DATA_DIR", "COURSE_DB_URL", "COURSE_EXCHANGE")}
    os.environ.update(COURSE_ROOT=str(root), COURSE_DATA_DIR=str(data))
    os.environ.pop("COURSE_DB_URL", None)
    os.environ.pop("COURSE_EXCHANGE", None)
    out, err = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd()
    try:
        os.chdir(cwd or root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = course_cli.main(list(args))
            except SystemExit as exc:  # argparse usage errors
                rc = int(exc.code or 0)
    finally:
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(list(args), rc, out.getvalue(), err.getvalue())
