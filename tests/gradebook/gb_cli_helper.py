"""Run the real `course` dispatcher (course_cli.main) in a subprocess with a temporary course.

Another team's subcommand module may not exist yet while the platform is being built; only such a
missing module is replaced by an empty registration, so course_cli's parsing, lazy handler import and
one-line error handling are what the tests exercise.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIM = """
import importlib, sys, types
import course_cli
for name in course_cli.COMMAND_MODULES:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        sys.modules[name] = types.SimpleNamespace(register=lambda sub: None)
sys.exit(course_cli.main(sys.argv[1:]))
"""


def course(*args: str, root: Path = ROOT, data: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}
    env.pop("COURSE_DB_URL", None)
    env.pop("COURSE_EXCHANGE", None)
    return subprocess.run([sys.executable, "-c", SHIM, *args], capture_output=True, text=True, env=env,
                          cwd=cwd or root)
