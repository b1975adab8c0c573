"""The sandbox runs a venv that lies in the instructor's private home, and set-up leaves the home's mode alone."""
from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from perm_helpers import as_user

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox_cfg():
    from autograder.sandbox import config, setup

    cfg = config.load()
    if os.geteuid() != 0 or not os.access(cfg.bwrap, os.X_OK) or setup.user_ids(0) is None:
        pytest.skip("needs root, bubblewrap and the slot users (`course sandbox setup`)")
    return cfg


def test_venv_in_a_private_home_is_reached_without_opening_the_home(base, sandbox_cfg):
    from autograder.sandbox import config, setup

    home = base / "instructor"
    home.mkdir(mode=0o700)
    checkout = home / "course" / "autograder"
    shutil.copytree(REPO / "autograder" / "kernel_side", checkout / "kernel_side")
    (checkout / "sandbox").mkdir()
    shutil.copy(REPO / "autograder" / "sandbox" / "zygote.py", checkout / "sandbox" / "zygote.py")
    venv = home / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    cfg = dataclasses.replace(sandbox_cfg, venv=venv, kernel_side=checkout / "kernel_side",
                              zygote_file=checkout / "sandbox" / "zygote.py")
    # the slot user really cannot get there through the folders
    assert "Permission denied" in as_user(config.slot_user(0), "ls", str(venv)).stderr

    log: list[str] = []
    setup.run_setup(cfg, slots=1, log=log.append)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700, log
    assert not any("o+x" in line for line in log), log

    setup._smoke_ok = False  # bwrap as the slot user, the venv's python, the zygote file read inside
    try:
        assert setup.smoke_test(cfg) is None
    finally:
        setup._smoke_ok = False
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert not any(str(venv) in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
