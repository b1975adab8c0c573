"""Small file helpers for the trusted side."""
from __future__ import annotations

import json
import os
from pathlib import Path


def write_json(path: Path, data: dict, uid: int | None = None, gid: int | None = None) -> None:
    """Write a private JSON file (0600), created fresh (never through an existing file or link)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if uid is not None:
            os.fchown(fd, uid, gid if gid is not None else -1)
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)


def wipe(directory: Path) -> None:
    """Remove everything inside `directory` (links are removed, never followed); keep the directory."""
    import shutil

    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            os.chmod(entry.path, 0o700)  # the kernel may have made it unreadable
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
