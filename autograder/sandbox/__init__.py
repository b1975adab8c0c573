"""Kernel sandbox and trusted notebook runner (issue 4 §3, §7).

    from autograder.sandbox import open_slot, check_sandbox, Limits
    with open_slot(sandbox=True) as slot:
        outcomes = slot.run_notebook(cells, budget=120.0)
"""
from __future__ import annotations

from autograder.sandbox.limits import Limits

__all__ = ["Limits", "check_sandbox", "open_slot"]


def check_sandbox() -> None:
    """Raise SandboxUnavailable (one line: what is missing, how to fix) unless sandboxed kernels can run."""
    from autograder.sandbox.setup import check_or_raise

    check_or_raise()


def open_slot(sandbox: bool = True, gpu: bool = False, limits: Limits | None = None,
              zygote: bool | None = None):
    """Acquire a free worker slot and start its kernel parent. Use as a context manager or call close().

    zygote=None follows COURSE_SANDBOX_ZYGOTE (default on): fork kernels from a pre-imported parent.
    limits=None: the defaults, with the memory cap from COURSE_SANDBOX_MEMORY_MIB when it is set.
    """
    import dataclasses

    from autograder.sandbox import config as _config
    from autograder.sandbox.slot import Slot

    cfg = _config.load()
    if limits is None:
        limits = Limits(memory_bytes=cfg.memory_mib << 20) if cfg.memory_mib else Limits()
    if zygote is not None:
        cfg = dataclasses.replace(cfg, zygote=zygote)
    if not sandbox:
        from autograder.sandbox.local import LocalBackend

        return Slot(LocalBackend(limits, cfg))
    check_sandbox()
    from autograder.sandbox.sandboxed import SandboxBackend

    return Slot(SandboxBackend.acquire(limits, cfg, gpu=gpu))
