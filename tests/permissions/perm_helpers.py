"""Run commands as a real student account (imported by the permission tests)."""
from __future__ import annotations

import subprocess


def as_user(user: str, *argv: str, env: dict[str, str] | None = None, timeout: float = 600
            ) -> subprocess.CompletedProcess:
    """Run argv as `user` (runuser: real uid, gid and groups of that account, nothing inherited from root)."""
    clean = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in clean.items()),
                           *argv], capture_output=True, text=True, timeout=timeout, check=False)
