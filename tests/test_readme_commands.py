"""Every `course` command the README shows is a command the CLI accepts, with those options (parsed by the
real parser, nothing run); the lifecycle, permission, feedback, speed-test and demo tests run them for real."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import course_cli

README = Path(__file__).resolve().parents[1] / "README.md"


def shown_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith((".venv/bin/course ", "course ")):
                commands.append(line.split("course ", 1)[1])
    # the Commands table: usage lines with placeholders, optional parts in brackets
    for usage in re.findall(r"^\| `course ([^`]*)`", text, flags=re.MULTILINE):
        usage = re.sub(r"\[[^\]]*\]", "", usage)
        for name, value in PLACEHOLDERS.items():
            usage = usage.replace(name, value)
        commands.append(" ".join(usage.split()))
    return commands


PLACEHOLDERS = {"SPEEDTEST": "speedtest1", "ASSIGNMENT": "assignment1", "STUDENT": "s1", "DATE": "2027-02-17"}


def test_the_readme_shows_commands():
    assert len(shown_commands()) > 20


@pytest.mark.parametrize("command", shown_commands())
def test_every_command_shown_parses(command):
    parser = course_cli.build_parser()
    args = parser.parse_args(shlex.split(command))
    assert callable(course_cli._resolve(args.handler))
