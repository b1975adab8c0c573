"""How the slot users reach the venv, the kernel-side helpers and the zygote without o+x on the instructor's home.

setpriv drops to the slot uid before bwrap, and bwrap (unprivileged) resolves every bind source as that uid,
so a venv inside a private home (0700) is out of its reach. Instead of opening the home to every user, or
copying a multi-GB venv, the launcher (still root) enters a mount namespace of its own, bind-mounts the
three host paths onto empty mount points under the sandbox state dir (root-owned, 0711), and only then
drops privileges; bwrap binds them from there. The binds exist only in that namespace, which ends with the
kernel parent: the host's mounts and every permission bit stay as they were. The files themselves must be
readable by others (a venv is; `course sandbox setup` makes sure for the repository's helpers).
"""
from __future__ import annotations

import os
from pathlib import Path

from autograder.sandbox.config import Config

# bind "$1" on "$2", ... then run the rest of the command line in the same (private) mount namespace
_SCRIPT = 'mount --bind "$1" "$2" && mount --bind "$3" "$4" && mount --bind "$5" "$6" && shift 6 && exec "$@"'


def base(cfg: Config) -> Path:
    return cfg.state_dir / "reach"


def points(cfg: Config) -> tuple[Path, Path, Path]:
    """Mount points of the venv, the kernel-side helpers and the zygote file."""
    b = base(cfg)
    return b / "venv", b / "kernel-side", b / "zygote.py"


def missing(cfg: Config) -> list[Path]:
    venv, kernel_side, zygote = points(cfg)
    return [p for p, ok in ((venv, venv.is_dir()), (kernel_side, kernel_side.is_dir()),
                            (zygote, zygote.is_file())) if not ok]


def ensure(cfg: Config) -> list[Path]:
    """Create the empty mount points (root, idempotent); returns the ones created."""
    made = []
    b = base(cfg)
    if not b.is_dir():
        b.mkdir(mode=0o711, parents=True)
        os.chmod(b, 0o711)
        made.append(b)
    venv, kernel_side, zygote = points(cfg)
    for d in (venv, kernel_side):
        if not d.is_dir():
            d.mkdir(mode=0o755)
            os.chmod(d, 0o755)
            made.append(d)
    if not zygote.is_file():
        zygote.touch(mode=0o644)
        os.chmod(zygote, 0o644)
        made.append(zygote)
    return made


def wrap(argv: list[str], cfg: Config) -> list[str]:
    """`argv` (setpriv ... bwrap ...) run after the binds, in a private mount namespace."""
    venv, kernel_side, zygote = points(cfg)
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", _SCRIPT, "sh",
            str(cfg.venv), str(venv), str(cfg.kernel_side), str(kernel_side), str(cfg.zygote_file), str(zygote),
            *argv]
