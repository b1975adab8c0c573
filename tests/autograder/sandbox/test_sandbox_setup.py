"""check_sandbox, slot allocation, start-up failures, the CLI registration."""
from __future__ import annotations

import argparse
import os
import threading

import pytest
from sandbox_helpers import cell, sandbox_or_skip

from autograder.model import InfrastructureError, SandboxUnavailable
from autograder.sandbox import Limits, check_sandbox, open_slot, slots


def test_missing_bwrap_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_SANDBOX_BWRAP", str(tmp_path / "no-bwrap"))
    with pytest.raises(SandboxUnavailable) as err:
        check_sandbox()
    msg = str(err.value)
    assert "\n" not in msg
    assert "no-bwrap" in msg and "course sandbox setup" in msg
    with pytest.raises(SandboxUnavailable):
        open_slot(sandbox=True)


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError, match="memory_bytes"):
        Limits(memory_bytes=0)


def test_memory_cap_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_MEMORY_MIB", "512")
    with open_slot(sandbox=False) as slot:
        assert slot.backend.limits.memory_bytes == 512 << 20
    monkeypatch.setenv("COURSE_SANDBOX_MEMORY_MIB", "half a gig")
    with pytest.raises(ValueError) as err:
        open_slot(sandbox=False)
    assert str(err.value) == "COURSE_SANDBOX_MEMORY_MIB must be a whole number of MiB, at least 64; got 'half a gig'"


def test_slots_are_exclusive_between_holders(tmp_path):
    a, fa = slots.acquire(tmp_path, 2)
    b, fb = slots.acquire(tmp_path, 2)
    assert a != b
    with pytest.raises(InfrastructureError, match="busy"):
        slots.acquire(tmp_path, 2, timeout=0.2)
    slots.release(fa)
    c, fc = slots.acquire(tmp_path, 2, timeout=1)
    assert c == a
    slots.release(fb)
    slots.release(fc)


def test_a_kernel_parent_that_cannot_start_is_an_infrastructure_error(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_PRELOAD", "no_such_module_for_the_parent")
    with open_slot(sandbox=False) as slot, pytest.raises(InfrastructureError, match="no_such_module"):
        slot.run_notebook([cell("a", "1")], budget=60)


def test_cli_registers_setup_and_check():
    from autograder.sandbox import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    assert parser.parse_args(["sandbox", "setup"]).handler == "autograder.sandbox.commands:setup"
    assert parser.parse_args(["sandbox", "check"]).handler == "autograder.sandbox.commands:check"


@pytest.mark.sandbox
def test_parallel_slots_get_different_users():
    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
    uids = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with open_slot(sandbox=True) as slot:
            barrier.wait(60)
            uids.append(slot.backend.uid)
            barrier.wait(60)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(set(uids)) == 2 and os.getuid() not in uids


def test_unreachable_finds_a_private_ancestor():
    import shutil
    import tempfile
    from pathlib import Path

    from autograder.sandbox.setup import unreachable

    base = Path(tempfile.mkdtemp(dir="/var/tmp"))  # pytest's own tmp root is private (0700)
    try:
        _check_unreachable(base, unreachable)
    finally:
        shutil.rmtree(base)


def _check_unreachable(tmp_path, unreachable) -> None:
    private = tmp_path / "ci-clone"
    (private / "venv" / "bin").mkdir(parents=True)
    target = private / "venv" / "bin" / "python"
    target.write_text("")
    os.chmod(tmp_path, 0o755)
    os.chmod(private, 0o700)
    assert unreachable(target) == private
    os.chmod(private, 0o701)
    assert unreachable(target) is None


@pytest.mark.sandbox
def test_setup_is_idempotent():
    if os.geteuid() != 0:
        pytest.skip("course sandbox setup needs root")
    from autograder.sandbox.setup import run_setup

    run_setup(log=lambda line: None)
    lines: list[str] = []
    assert run_setup(log=lines.append) == 0
    assert lines and lines[0].startswith("sandbox already set up")


@pytest.mark.sandbox
def test_the_start_up_check_locks_its_slot_so_a_runner_resetting_another_cannot_kill_it():
    import fcntl

    from autograder.sandbox import config, procs, setup

    sandbox_or_skip()
    cfg = config.load()
    if setup.usable_slots(cfg) < 2:
        pytest.skip("needs two slot users")
    # Hold slot 0 as a runner does, and reset it (kill every process of its uid) over and over meanwhile.
    fd = os.open(cfg.lock_dir / "slot0.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    uid0 = setup.user_ids(0)[0]
    stop = threading.Event()

    def reset_slot0() -> None:
        while not stop.is_set():
            procs.kill_uid(uid0, rounds=1)

    resetter = threading.Thread(target=reset_slot0)
    resetter.start()
    try:
        for _ in range(3):
            setup._smoke_ok = False
            assert setup.smoke_test(cfg) is None
    finally:
        stop.set()
        resetter.join()
        slots.release(fd)
        setup._smoke_ok = False


def test_the_start_up_check_is_skipped_not_failed_when_every_slot_is_busy(monkeypatch, tmp_path):
    import dataclasses

    from autograder.sandbox import config, setup

    cfg = dataclasses.replace(config.load(), lock_dir=tmp_path)
    count = setup.usable_slots(cfg)
    if count < 1:
        pytest.skip("no slot users")
    held = [slots.acquire(tmp_path, count, timeout=1)[1] for _ in range(count)]
    monkeypatch.setattr(setup, "SMOKE_SLOT_WAIT_S", 0.2)
    monkeypatch.setattr(setup, "_smoke_ok", False)
    try:
        assert setup.smoke_test(cfg) is None
        assert setup._smoke_ok is False  # not remembered: the next check runs it
    finally:
        for fd in held:
            slots.release(fd)
