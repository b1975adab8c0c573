"""A scratch copy of the course for the lifecycle tests: config, policy, chosen sources and releases, its own
data directory and exchange; `course` runs as a real subprocess in it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Course:
    root: Path
    data: Path
    env: dict[str, str]

    @property
    def exchange(self) -> Path:
        return self.data / "exchange"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.data / 'gradebook.db'}"

    def course(self, *argv: str, ok: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "course_cli", *argv], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if ok:
            assert proc.returncode == 0, f"course {argv}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc


def make_course(tmp: Path, assignments: tuple[str, ...], policy_edit=None) -> Course:
    root = tmp / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    text = (REPO / "course.toml").read_text()
    (root / "course.toml").write_text(policy_edit(text) if policy_edit else text)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for a in assignments:
        shutil.copytree(REPO / "source" / a, root / "source" / a, ignore=ignore)
        shutil.copytree(REPO / "release" / a, root / "release" / a, ignore=ignore)
    data = tmp / "data"
    env = {**os.environ, "COURSE_ROOT": str(root), "COURSE_DATA_DIR": str(data),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "COLUMNS": "200"}
    for var in ("COURSE_DB_URL", "COURSE_EXCHANGE"):
        env.pop(var, None)
    return Course(root, data, env)


def sandbox_flag() -> list[str]:
    from autograder.model import SandboxUnavailable
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
        return []
    except SandboxUnavailable:
        return ["--no-sandbox"]
