"""Sandboxed backend: the kernel parent runs inside bwrap as the slot's uid; the runner stays outside.

Per slot: a size-limited tmpfs on the host holds the job dir, /tmp, /dev/shm and the ipc sockets; a
cgroup caps memory and pids of each kernel (the parent stays outside it). Between jobs every process of
the job is killed (freeze + kill + thaw), SysV IPC is removed and the tmpfs is wiped.

The parent serves one student after another, so the next job must find it as it was: kernels cannot
reach it (own PID namespace, zygote.py), and before every job the runner checks what a child could
have changed (alive, not stopped, rlimits, nice, CPU affinity) and starts a fresh parent otherwise.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from autograder.model import InfrastructureError
from autograder.sandbox import bwrap, procs, reach, slots
from autograder.sandbox.cgroups import JobCgroup
from autograder.sandbox.client import connection_info
from autograder.sandbox.config import Config
from autograder.sandbox.guard import GuardProcess
from autograder.sandbox.limits import Limits
from autograder.sandbox.parent import ParentProcess
from autograder.sandbox.runner import Kernel
from autograder.sandbox.setup import usable_slots, user_ids
from autograder.sandbox.writefile import wipe, write_json

PARENT_START_TIMEOUT = 120.0
CONN_TMPFS_BYTES = 1 << 20
TMPFS_SOURCE = "tmpfs"


def _mount_source(path: Path) -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(path):
                return fields[fields.index("-") + 2]
    return None


def _mount_tmpfs(root: Path, size: int, inodes: int = 65536) -> None:
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    opts = f"size={size},nr_inodes={inodes},mode=0711,nosuid,nodev"
    if os.path.ismount(root) and _mount_source(root) != TMPFS_SOURCE:
        # mounted under another name (kernels see it in /proc/self/mountinfo): a fresh one
        subprocess.run(["umount", "-l", str(root)], check=False, capture_output=True)
    if os.path.ismount(root):
        argv = ["mount", "-o", f"remount,{opts}", root]
    else:
        argv = ["mount", "-t", "tmpfs", "-o", opts, TMPFS_SOURCE, str(root)]
    res = subprocess.run([str(a) for a in argv], check=False, capture_output=True)
    if res.returncode != 0:
        raise InfrastructureError(f"cannot mount the slot tmpfs at {root}: "
                                  f"{res.stderr.decode('utf-8', 'replace').strip()}")


class SandboxBackend:
    def __init__(self, limits: Limits, cfg: Config, index: int, lock_fd: int, gpu: bool) -> None:
        self.limits = limits
        self.cfg = cfg
        self.index = index
        self.lock_fd = lock_fd
        self.gpu = gpu
        ids = user_ids(index)
        if ids is None:
            raise InfrastructureError(f"sandbox user for slot {index} is missing; run `course sandbox setup`")
        self.uid, self.gid = ids
        self.paths = bwrap.SlotPaths(cfg.state_dir / f"slot{index}")
        self.log_path = cfg.lock_dir / f"slot{index}.log"
        self.guard_dir = cfg.lock_dir / f"slot{index}-guard"  # root only: the runner's side of the guard
        self.guard_dir.mkdir(mode=0o700, exist_ok=True)
        self.guard: GuardProcess | None = None  # set by the runner
        self.cgroup = JobCgroup(f"course-sandbox/slot{index}")
        self.parent: ParentProcess | None = None
        self.parent_host_pid: int | None = None
        self.parent_print: dict[str, str] | None = None  # what a child could change, as at launch
        self._reset_slot()

    @classmethod
    def acquire(cls, limits: Limits, cfg: Config, gpu: bool = False) -> SandboxBackend:
        count = usable_slots(cfg)
        index, fd = slots.acquire(cfg.lock_dir, count)
        try:
            return cls(limits, cfg, index, fd, gpu)
        except BaseException:
            slots.release(fd)
            raise

    # -- slot state --------------------------------------------------------------------------------
    def _reset_slot(self) -> None:
        """Kill whatever a previous holder left behind and prepare clean directories and limits."""
        self.cgroup.kill_all()
        procs.kill_uid(self.uid)
        _mount_tmpfs(self.paths.root, self.limits.tmpfs_bytes)
        # The ipc sockets and connection files get their own small tmpfs: a job that fills its disk
        # must not stop the runner from restarting its kernel.
        _mount_tmpfs(self.paths.conn, CONN_TMPFS_BYTES, inodes=4096)
        for d in self.paths.all():
            d.mkdir(mode=0o700, exist_ok=True)
            os.chown(d, self.uid, self.gid)
            os.chmod(d, 0o700)
            wipe(d)
        self._install_readonly()
        self.cgroup.set_limits(self.limits.memory_bytes, self.limits.pids)

    def _install_readonly(self) -> None:
        """Root-owned copies of what the sandbox binds read-only: on the slot's tmpfs they show no host path."""
        for name, text in bwrap.etc_files(self.uid, self.gid).items():
            path = self.paths.root / name
            path.unlink(missing_ok=True)
            path.write_text(text)
            os.chmod(path, 0o644)
        for d in (self.paths.lib, self.paths.boot):
            shutil.rmtree(d, ignore_errors=True)
        if self.cfg.kernel_side.is_dir():
            shutil.copytree(self.cfg.kernel_side, self.paths.lib, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            self.paths.lib.mkdir()
        self.paths.boot.mkdir()
        shutil.copyfile(self.cfg.zygote_file, self.paths.boot / os.path.basename(bwrap.ZYGOTE))
        for d in (self.paths.lib, self.paths.boot):
            os.chmod(d, 0o755)
            for path in d.rglob("*"):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)

    def _launch(self, preload: tuple[str, ...]) -> ParentProcess:
        venv, _kernel_side, _zygote = reach.points(self.cfg)  # bound there in the launcher's mount namespace
        # the kernel-side helpers and the zygote are bound from the slot's own copies (_install_readonly)
        argv = reach.wrap(bwrap.command(bwrap=self.cfg.bwrap, uid=self.uid, gid=self.gid, venv=venv,
                                        slot=self.paths, limits=self.limits, preload=preload, gpu=self.gpu),
                          self.cfg)
        parent = ParentProcess(argv, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd="/",
                               log_path=str(self.log_path))
        try:
            parent.wait_ready(PARENT_START_TIMEOUT)
            assert parent.pid_inside is not None
            host = None
            for _ in range(100):
                host = procs.find_host_pid(parent.pid_inside, among=procs.descendants(parent.proc.pid))
                if host:
                    break
                time.sleep(0.01)
            if host is None:
                raise InfrastructureError("cannot find the kernel parent's host pid")
            self.parent_host_pid = host
            self.parent_print = procs.fingerprint(host)
        except BaseException:
            parent.stop()
            raise
        return parent

    def _stop_parent(self) -> None:
        if self.parent is not None:
            self.parent.stop()
            self.parent = None
            self.parent_host_pid = None
            self.parent_print = None

    def _parent_intact(self) -> bool:
        """Alive and unchanged since launch (a kernel cannot reach it; this checks that it did not)."""
        if self._parent_gone() or self.parent_host_pid is None:
            return False
        try:
            return procs.fingerprint(self.parent_host_pid) == self.parent_print
        except OSError:
            return False

    def begin_job(self) -> None:
        if self.cfg.zygote and not self._parent_intact():
            self._stop_parent()
            self._reset_slot()  # a dead parent may have left anything behind
            self.parent = self._launch(self.cfg.preload)

    def start_kernel(self, deadline: float) -> Kernel:
        if self.cfg.zygote:
            parent = self.parent
        else:
            self._stop_parent()
            parent = self.parent = self._launch(())
        assert parent is not None and self.parent_host_pid is not None
        key = secrets.token_hex(32)
        name = f"kernel-{uuid.uuid4()}"  # as Jupyter names them (bwrap.CONN_NAME_LEN)
        # No process of the job is alive now (killed with the previous kernel): stale sockets and
        # whatever the job put into the runtime folder go, so a restart cannot be blocked or misdirected.
        wipe(self.paths.conn)
        try:
            write_json(self.paths.conn / f"{name}.json", connection_info(f"{bwrap.CONN}/{name}", key),
                       uid=self.uid, gid=self.gid)
        except OSError as exc:
            raise InfrastructureError(f"slot {self.index}: cannot write the connection file: {exc}") from exc
        pid = parent.fork(f"{bwrap.CONN}/{name}.json", timeout=max(1.0, deadline - time.monotonic()))
        host = procs.find_child(self.parent_host_pid, pid)
        if host is None:
            raise InfrastructureError(f"cannot find the host pid of kernel {pid}")
        # Into the job's cgroup before it runs a single student instruction (it waits for "go").
        self.cgroup.add(host)
        parent.go(pid)
        return Kernel(parent=parent, pid=pid, ip=str(self.paths.conn / name), key=key)

    def stop_kernel(self, kernel: Kernel) -> None:
        if not self.cgroup.kill_all():
            raise InfrastructureError(f"slot {self.index}: processes of the job survived SIGKILL")
        if not self.cfg.zygote:
            self._stop_parent()

    def _parent_gone(self) -> bool:
        """The kernel parent was killed (a child can do that: same uid), even if the pipe is still open."""
        if self.parent is None or self.parent_host_pid is None or not self.parent.alive():
            return True
        return procs.is_dead(self.parent_host_pid)

    def end_job(self) -> None:
        ok = self.cgroup.kill_all()
        if self.cfg.zygote and self.parent is not None and not self._parent_intact():
            self._stop_parent()  # the next job gets a fresh one (begin_job)
        # SysV IPC objects outlive their processes, but never their IPC namespace: every kernel has one of its
        # own (zygote.py), gone with the job's last process, so nothing is left to remove here.
        for d in self.paths.all():
            wipe(d)
        if not ok:
            raise InfrastructureError(f"slot {self.index}: processes of the job survived SIGKILL")

    def oom_kills(self) -> int:
        return self.cgroup.oom_kills()

    def pids_limit_hits(self) -> int:
        return self.cgroup.pids_limit_hits()

    def close(self) -> None:
        if self.guard is not None:
            self.guard.stop()
            self.guard = None
        try:
            self._stop_parent()
            self.cgroup.kill_all()
            procs.kill_uid(self.uid)
            for d in self.paths.all():
                wipe(d)
        finally:
            with contextlib.suppress(OSError):
                slots.release(self.lock_fd)
