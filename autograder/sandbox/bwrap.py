"""The command line that starts the kernel parent inside the sandbox.

setpriv drops to the slot uid BEFORE bwrap creates namespaces (bwrap as root keeps every capability);
prlimit sets the per-uid rlimits; bwrap builds a minimal read-only file system. The parent keeps
CAP_SYS_ADMIN and CAP_SETPCAP inside the sandbox's user namespace only, to give each kernel its own PID,
mount and IPC namespaces; every kernel drops all capabilities (zygote.py).

Nothing a kernel can see names the grader: the paths, the user name, the host name, the environment and
the kernel's command line are those of an ordinary Jupyter kernel.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.limits import Limits

# Fixed paths inside the sandbox.
USER = "jovyan"  # the name the slot uid has inside (a generated /etc/passwd)
JOB = f"/home/{USER}"  # cwd and HOME of the kernel
CONN = "/run/jupyter"  # connection file and ipc sockets
KERNEL_SIDE = "/opt/lib/python"  # autograder/kernel_side, on PYTHONPATH
ZYGOTE = "/opt/boot/zygote.py"  # its folder is hidden from every kernel
# The venv is bound at a fixed path: its host path may lie under /tmp (CI clones into mktemp -d), which the
# slot's own /tmp would hide. A venv runs from any prefix when started as <prefix>/bin/python -m/-s.
VENV = "/opt/venv"
HOSTNAME = "localhost"
CONN_NAME_LEN = len("kernel-") + 36  # kernel-<uuid4>, as Jupyter names connection files
SYSTEM_RO = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")


@dataclass(frozen=True)
class SlotPaths:
    """Host-side directories of one slot, all on the slot's size-limited tmpfs: /proc/self/mountinfo
    shows a kernel only their names inside that tmpfs, never a host path."""

    root: Path

    @property
    def job(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def shm(self) -> Path:
        return self.root / "shm"

    @property
    def conn(self) -> Path:
        return self.root / "run"

    # root-owned and read-only in the sandbox, copied in by the runner
    @property
    def passwd(self) -> Path:
        return self.root / "passwd"

    @property
    def group(self) -> Path:
        return self.root / "group"

    @property
    def lib(self) -> Path:  # autograder/kernel_side
        return self.root / "lib"

    @property
    def boot(self) -> Path:  # zygote.py
        return self.root / "boot"

    def all(self) -> tuple[Path, ...]:
        """What the kernel may write (emptied between jobs)."""
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
    }


def etc_files(uid: int, gid: int) -> dict[str, str]:
    """/etc/passwd and /etc/group as the kernel sees them: the slot uid is an ordinary notebook user."""
    return {
        "passwd": (f"root:x:0:0:root:/root:/bin/bash\n{USER}:x:{uid}:{gid}::{JOB}:/bin/bash\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
        "group": f"root:x:0:\nusers:x:{gid}:\nnogroup:x:65534:\n",
    }


def kernel_argv_len() -> int:
    """Bytes of a kernel's command line (zygote.py rewrites its own to it; NUL-terminated strings)."""
    args = [f"{VENV}/bin/python", "-m", "ipykernel_launcher", "-f", f"{CONN}/{'x' * CONN_NAME_LEN}.json"]
    return sum(len(a) + 1 for a in args)


def parent_argv(preload: tuple[str, ...], mode: str) -> list[str]:
    """The parent's command line, padded to a kernel's length so that the rewrite leaves no trace."""
    argv = [f"{VENV}/bin/python", "-s", ZYGOTE, ",".join(preload), mode]
    pad = kernel_argv_len() - sum(len(a) + 1 for a in argv) - 1
    return argv + ["-" * pad] if pad > 0 else argv


def system_binds(args: list[str]) -> None:
    for path in SYSTEM_RO:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]


def command(*, bwrap: str, uid: int, gid: int, venv: Path, slot: SlotPaths, limits: Limits,
            preload: tuple[str, ...], gpu: bool = False) -> list[str]:
    args = [
        "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", "--no-new-privs", "--",
        # NPROC counts per uid: the job's pids cgroup is the real cap, this one bounds the slot uid
        "prlimit", f"--nproc={limits.pids + 64}", f"--fsize={limits.tmpfs_bytes}", "--nofile=1024", "--core=0",
        "--",
        bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        "--clearenv", "--hostname", HOSTNAME, "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP",
    ]
    system_binds(args)
    args += ["--ro-bind", str(slot.passwd), "/etc/passwd", "--ro-bind", str(slot.group), "/etc/group",
             "--ro-bind-try", "/etc/fonts", "/etc/fonts"]  # matplotlib's text rendering
    args += ["--ro-bind", str(venv), VENV, "--ro-bind", str(slot.lib), KERNEL_SIDE,
             "--ro-bind", str(slot.boot), os.path.dirname(ZYGOTE)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    if gpu:
        for dev in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind", dev, dev]
    args += ["--bind", str(slot.job), JOB, "--bind", str(slot.tmp), "/tmp", "--bind", str(slot.shm), "/dev/shm",
             "--bind", str(slot.conn), CONN, "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", JOB]
    for key, value in kernel_env(Path(VENV)).items():
        args += ["--setenv", key, value]
    return args + ["--", *parent_argv(preload, "sandbox")]
