"""Sandbox set-up (slot users, directories, permissions) and the checks behind check_sandbox()."""
from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.model import InfrastructureError, SandboxUnavailable
from autograder.sandbox import cgroups, reach, slots
from autograder.sandbox.bwrap import VENV, system_binds
from autograder.sandbox.config import Config, load, slot_user

FIX = "run `make` or `course sandbox setup` as root"
SMOKE_SLOT_WAIT_S = 5.0  # how long the check waits for a free slot before skipping
TOOLS = ("setpriv", "prlimit", "nsenter", "ipcrm", "unshare", "mount")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def user_ids(index: int) -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(slot_user(index))
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def existing_slots() -> int:
    """Number of consecutive slot users course-sbx0, course-sbx1, ... that exist."""
    n = 0
    while user_ids(n) is not None:
        n += 1
    return n


def _ancestors(path: Path) -> Iterator[Path]:
    path = path.absolute()
    yield from reversed(path.parents)
    yield path


def unreachable(path: Path) -> Path | None:
    """First folder on the way to `path` that other users cannot traverse, or None."""
    for p in _ancestors(path):
        try:
            mode = os.stat(p).st_mode
        except OSError:
            return p
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return p
    return None


def checks(cfg: Config | None = None) -> list[Check]:
    cfg = cfg or load()
    out: list[Check] = []

    def add(name: str, ok: object, detail: str) -> None:
        out.append(Check(name, bool(ok), detail))

    add("linux", sys.platform.startswith("linux"), sys.platform)
    add("root", os.geteuid() == 0, "the runner must be root to drop to slot users and create cgroups")
    bwrap_ok = os.path.isfile(cfg.bwrap) and os.access(cfg.bwrap, os.X_OK)
    add("bubblewrap", bwrap_ok, f"{cfg.bwrap} {'found' if bwrap_ok else 'missing (apt-get install bubblewrap)'}")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    add("util-linux tools", not missing, "missing: " + ", ".join(missing) if missing else ", ".join(TOOLS))
    slots = existing_slots()
    add("slot users", slots >= 1, f"{slots} users {slot_user(0)}..." if slots else f"no user {slot_user(0)}")
    cg = cgroups.available()
    add("cgroups", cg is None, cg or ("v2" if cgroups.is_v2() else "v1 memory, pids, freezer"))
    add("venv", cfg.python.exists(), f"{cfg.python}" if cfg.python.exists() else f"{cfg.python} missing")
    absent = reach.missing(cfg)  # the venv and helpers are bound there, never reached through their parents
    add("mount points", not absent, str(reach.base(cfg)) if not absent else "missing: " + ", ".join(map(str, absent)))
    add(f"dir {cfg.state_dir}", cfg.state_dir.is_dir(), "present" if cfg.state_dir.is_dir() else "missing")
    return out


_smoke_ok: bool = False


def usable_slots(cfg: Config) -> int:
    """Slots a runner may lock: the slot users that exist, capped by COURSE_SANDBOX_SLOTS when it is set."""
    count = existing_slots()
    if os.environ.get("COURSE_SANDBOX_SLOTS"):
        count = min(count, cfg.slots)
    return count


def smoke_test(cfg: Config) -> str | None:
    """Start `bwrap ... /bin/true` as a free slot's user; None if it works, else the error (cached on success).

    The slot is locked for the run: a runner opening or closing that slot kills every process of its uid,
    this check's included. When every slot is busy the check is skipped (not cached): the jobs holding them
    started bwrap as those users already.
    """
    global _smoke_ok
    if _smoke_ok:
        return None
    count = usable_slots(cfg)
    if count < 1:
        return f"no user {slot_user(0)}"
    try:
        index, fd = slots.acquire(cfg.lock_dir, count, timeout=SMOKE_SLOT_WAIT_S)
    except InfrastructureError:
        return None
    try:
        err = _bwrap_true(cfg, index)
    finally:
        slots.release(fd)
    _smoke_ok = err is None
    return err


def _bwrap_true(cfg: Config, index: int) -> str | None:
    ids = user_ids(index)
    if ids is None:
        return f"no user {slot_user(index)}"
    uid, gid = ids
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--", cfg.bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    system_binds(argv)
    venv, _, zygote = reach.points(cfg)
    argv += ["--proc", "/proc", "--ro-bind", str(venv), VENV, "--ro-bind", str(zygote),
             "/z.py", f"{VENV}/bin/python", "-S", "-c", "import sys; sys.exit(0 if open('/z.py').read(1) else 1)"]
    argv = reach.wrap(argv, cfg)
    try:
        res = subprocess.run(argv, check=False, capture_output=True, timeout=30,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"as {slot_user(index)}: {exc}"
    if res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"as {slot_user(index)}: {err[-1] if err else f'exit status {res.returncode}'}"
    return None


def check_or_raise(cfg: Config | None = None) -> None:
    cfg = cfg or load()
    for c in checks(cfg):
        if not c.ok:
            raise SandboxUnavailable(f"sandbox unavailable: {c.name}: {c.detail}; {FIX}")
    err = smoke_test(cfg)
    if err:
        raise SandboxUnavailable(f"sandbox unavailable: bwrap cannot start {err}; {FIX}")


# -- set-up (root, idempotent) ---------------------------------------------------------------------
def run_setup(cfg: Config | None = None, slots: int | None = None, log=print) -> int:
    cfg = cfg or load()
    if os.geteuid() != 0:
        raise PermissionError("course sandbox setup must run as root (it creates users and cgroups)")
    changed = 0
    if not (os.path.isfile(cfg.bwrap) and os.access(cfg.bwrap, os.X_OK)):
        log("installing bubblewrap (apt-get install -y bubblewrap)")
        res = subprocess.run(["apt-get", "install", "-y", "bubblewrap"], check=False, capture_output=True)
        if res.returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, capture_output=True)
            res = subprocess.run(["apt-get", "install", "-y", "bubblewrap"], check=False, capture_output=True)
        if res.returncode != 0:
            tail = res.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise RuntimeError(f"apt-get install bubblewrap failed: {' '.join(tail)}")
        changed += 1
    n = slots or cfg.slots
    nologin = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    for i in range(n):
        if user_ids(i) is None:
            subprocess.run(["useradd", "-r", "-M", "-d", "/nonexistent", "-s", nologin, slot_user(i)],
                           check=True, capture_output=True)
            log(f"created user {slot_user(i)}")
            changed += 1
    for d, mode in ((cfg.state_dir, 0o711), (cfg.lock_dir, 0o700)):
        if not d.is_dir():
            d.mkdir(parents=True, mode=mode)
            log(f"created {d}")
            changed += 1
        if stat.S_IMODE(d.stat().st_mode) != mode:
            os.chmod(d, mode)
            log(f"chmod {mode:o} {d}")
            changed += 1
    for point in reach.ensure(cfg):  # no o+x on the folders above the checkout: see sandbox/reach.py
        log(f"created {point}")
        changed += 1
    for target in (cfg.zygote_file, *(cfg.kernel_side.rglob("*") if cfg.kernel_side.is_dir() else ())):
        mode = target.stat().st_mode
        want = stat.S_IROTH | (stat.S_IXOTH if target.is_dir() else 0)
        if mode & want != want:
            os.chmod(target, stat.S_IMODE(mode) | want)
            log(f"chmod o+r {target}")
            changed += 1
    if not changed:
        log(f"sandbox already set up: {n} slot users, {cfg.state_dir}, {cfg.lock_dir}")
    return changed

