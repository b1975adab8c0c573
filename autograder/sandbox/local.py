"""No-sandbox backend: the kernel is a plain subprocess of the current user.

For instructors without bubblewrap and for fast tests. Same runner semantics (timeouts, caps, restarts,
clean working dir and environment), but NO isolation: the kernel can read what the current user can.
"""
from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.model import InfrastructureError
from autograder.sandbox import config as _config
from autograder.sandbox.client import connection_info
from autograder.sandbox.guard import GuardProcess
from autograder.sandbox.limits import Limits
from autograder.sandbox.parent import ParentProcess
from autograder.sandbox.runner import Kernel
from autograder.sandbox.writefile import wipe, write_json


def kernel_env(home: str, tmp: str, pythonpath: str, venv: Path) -> dict[str, str]:
    """The kernel's whole environment: a whitelist, nothing from the grader."""
    return {
        "HOME": home,
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "PYTHONPATH": pythonpath,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


class LocalBackend:
    def __init__(self, limits: Limits, cfg: _config.Config) -> None:
        self.limits = limits
        self.cfg = cfg
        self.root = Path(tempfile.mkdtemp(prefix="course-kernel-"))
        self.job = self.root / "job"
        self.conn = self.root / "conn"
        self.guard_dir = self.root / "guard"
        self.guard_dir.mkdir(mode=0o700)
        self.guard: GuardProcess | None = None  # set by the runner
        self.parent: ParentProcess | None = None
        self._n = 0

    def _env(self) -> dict[str, str]:
        return kernel_env(str(self.job), str(self.root / "tmp"), str(self.cfg.kernel_side), self.cfg.venv)

    def _launch(self, preload: tuple[str, ...]) -> ParentProcess:
        (self.root / "tmp").mkdir(exist_ok=True)
        python = self.cfg.python if self.cfg.python.exists() else Path(sys.executable)
        parent = ParentProcess([str(python), str(self.cfg.zygote_file), ",".join(preload)],
                               env=self._env(), cwd=str(self.job), log_path=str(self.root / "parent.log"))
        try:
            parent.wait_ready(120.0)
        except InfrastructureError:
            parent.stop()
            raise
        return parent

    def begin_job(self) -> None:
        for d in (self.job, self.conn):
            d.mkdir(mode=0o700, exist_ok=True)
            wipe(d)
        if self.cfg.zygote and (self.parent is None or not self.parent.alive()):
            if self.parent is not None:
                self.parent.stop()
            self.parent = self._launch(self.cfg.preload)

    def start_kernel(self, deadline: float) -> Kernel:
        parent = self.parent if self.cfg.zygote else self._launch(())
        assert parent is not None
        self._n += 1
        key = secrets.token_hex(32)
        ip = str(self.conn / f"k{self._n}")
        conn_file = self.conn / f"kernel-{self._n}.json"
        wipe(self.conn)
        try:
            write_json(conn_file, connection_info(ip, key))
        except OSError as exc:
            raise InfrastructureError(f"cannot write the connection file {conn_file}: {exc}") from exc
        pid = parent.fork(str(conn_file), timeout=max(1.0, deadline - time.monotonic()))
        parent.go(pid)
        return Kernel(parent=parent, pid=pid, ip=ip, key=key)

    def stop_kernel(self, kernel: Kernel) -> None:
        if not self.cfg.zygote:
            kernel.parent.stop()
            return
        if kernel.parent.alive():
            kernel.parent.killall()

    def end_job(self) -> None:
        for d in (self.job, self.conn, self.root / "tmp"):
            wipe(d)

    def oom_kills(self) -> int:
        return 0

    def pids_limit_hits(self) -> int:
        return 0

    def close(self) -> None:
        if self.guard is not None:
            self.guard.stop()
            self.guard = None
        if self.parent is not None:
            self.parent.stop()
            self.parent = None
        shutil.rmtree(self.root, ignore_errors=True)
