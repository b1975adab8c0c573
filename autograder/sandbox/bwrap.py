"""The command line that starts the kernel parent inside the sandbox.

setpriv drops to the slot uid BEFORE bwrap creates namespaces (bwrap as root keeps every capability,
security.md §2.3); prlimit sets the per-uid rlimits; bwrap builds a minimal read-only file system.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.limits import Limits

# Fixed paths inside the sandbox.
JOB = "/job"  # cwd and HOME of the kernel
CONN = "/conn"  # connection file and ipc sockets
KERNEL_SIDE = "/opt/course-kernel"  # autograder/kernel_side, on PYTHONPATH
ZYGOTE = "/opt/course-sandbox/zygote.py"
# The venv is bound at a fixed path: its host path may lie under /tmp (CI clones into mktemp -d), which the
# slot's own /tmp would hide. A venv runs from any prefix when started as <prefix>/bin/python -m/-s.
VENV = "/opt/course-venv"
SYSTEM_RO = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")


@dataclass(frozen=True)
class SlotPaths:
    """Host-side directories of one slot (all on the slot's size-limited tmpfs)."""

    root: Path

    @property
    def job(self) -> Path:
        return self.root / "job"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def shm(self) -> Path:
        return self.root / "shm"

    @property
    def conn(self) -> Path:
        return self.root / "conn"

    def all(self) -> tuple[Path, ...]:
        return (self.job, self.tmp, self.shm, self.conn)


def kernel_env(venv: Path) -> dict[str, str]:
    """The whole environment inside the sandbox: a whitelist, nothing from the grader."""
    return {
        "HOME": JOB,
        "PATH": f"{venv}/bin:/usr/bin:/bin",
        "PYTHONPATH": KERNEL_SIDE,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "TMPDIR": "/dev/shm",  # the parent needs a writable temp dir while importing torch
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "COURSE_ZYGOTE_SANDBOXED": "1",
    }


def system_binds(args: list[str]) -> None:
    for path in SYSTEM_RO:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]


def command(*, bwrap: str, uid: int, gid: int, venv: Path, kernel_side: Path | None, zygote_file: Path,
            slot: SlotPaths, limits: Limits, preload: tuple[str, ...], gpu: bool = False) -> list[str]:
    args = [
        "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--no-new-privs", "--",
        # NPROC counts per uid: the job's pids cgroup is the real cap, this one bounds the slot uid
        "prlimit", f"--nproc={limits.pids + 64}", f"--fsize={limits.tmpfs_bytes}", "--nofile=1024", "--core=0",
        "--",
        bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        "--clearenv", "--hostname", "sandbox",
    ]
    system_binds(args)
    args += ["--ro-bind", "/etc/passwd", "/etc/passwd", "--ro-bind", "/etc/group", "/etc/group",
             "--ro-bind-try", "/etc/fonts", "/etc/fonts"]  # matplotlib's text rendering
    args += ["--ro-bind", str(venv), VENV]
    if kernel_side is not None and kernel_side.is_dir():
        args += ["--ro-bind", str(kernel_side), KERNEL_SIDE]
    else:
        args += ["--dir", KERNEL_SIDE]
    args += ["--ro-bind", str(zygote_file), ZYGOTE]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if gpu:
        for dev in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind", dev, dev]
    args += ["--bind", str(slot.job), JOB, "--bind", str(slot.tmp), "/tmp", "--bind", str(slot.shm), "/dev/shm",
             "--bind", str(slot.conn), CONN, "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", JOB]
    for key, value in kernel_env(Path(VENV)).items():
        args += ["--setenv", key, value]
    args += ["--", f"{VENV}/bin/python", "-s", ZYGOTE, ",".join(preload)]
    return args
