"""The course's grading key: a random secret in the data directory, readable by the instructor only.

Probe seeds are keyed with it (pipeline.job.derive_seed), so the held-out values a seed generates cannot
be recomputed by a student who has the repository's code and knows their own id.
"""
from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

from course_errors import UserError

KEY_NAME = "grading.key"
KEY_BYTES = 32


@functools.lru_cache(maxsize=8)
def load_or_create(data_dir: Path) -> bytes:
    """The key in `data_dir`, created (mode 0600, never overwritten) on first use."""
    path = Path(data_dir) / KEY_NAME
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another grader created it first: use theirs
        return _read(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_hex(KEY_BYTES).encode())
        fh.flush()
        os.fsync(fh.fileno())
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_bytes().strip()
    if len(key) < KEY_BYTES:
        raise UserError(f"{path} is not a grading key (too short); restore it from a backup, or delete it to have "
                        "a new one made (seeds, and so the hidden inputs, change for every later grading)")
    return key
