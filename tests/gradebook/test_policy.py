"""course.toml: the shipped policy reproduces the course; every malformed policy is one clear error."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from gb_cli_helper import course

from gradebook.policy import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "course.toml").read_text()


def test_shipped_policy_is_the_course_scheme(policy):
    assert {n: i.points for n, i in policy.items.items()} == {"assignment1": 2, "assignment2": 2, "project": 5}
    assert policy.speedtests.points == 1 and [t.name for t in policy.speedtests.tests] == [
        "speedtest1", "speedtest2", "speedtest3"]
    assert policy.speedtests.duration_s == 300
    assert {n: b.cap for n, b in policy.bonuses.items()} == {"lecture": 2, "poster": 1}
    assert {n: (p.points, p.minimum) for n, p in policy.parts.items()} == {"lab": (5, 0.5), "project": (5, 0.5)}
    assert policy.items["assignment1"].part == policy.items["assignment2"].part == policy.speedtests.part == "lab"
    assert policy.items["project"].source == "team"
    assert policy.final.cap == 10 and policy.max_total() == 13
    assert policy.timezone.key == "Europe/Bucharest"


def _bad(tmp_path: Path, old: str, new: str) -> str:
    assert old in TEXT, old
    path = tmp_path / "course.toml"
    path.write_text(TEXT.replace(old, new, 1))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path))
    return msg


def _line(old: str) -> int:
    return TEXT[: TEXT.index(old)].count("\n") + 1


@pytest.mark.parametrize("old, new, expect", [
    ("grace = \"15m\"\nmax", "grace = \"15m\"\ngrase = \"1h\"\nmax", r"\[late\.assignments\.grase\]: unknown key 'grase'"),
    ("points = 2.0\nsource = \"nbgrader\"\nrelease = 2022-03-02", "points = \"two\"\nsource = \"nbgrader\"\nrelease = 2022-03-02",
     r"\[items\.assignment1\.points\]: expected a number, got 'two'"),
    ("due = 2022-03-16T23:59:00+02:00", "due = 2022-03-16T23:59:00",
     r"\[items\.assignment1\.due\]: 2022-03-16T23:59:00 has no time zone; .*2022-03-16T23:59:00\+02:00"),
    ("due = 2022-04-06T23:59:00+03:00", "due = 2022-04-06T23:59:00+02:00",
     r"\[items\.assignment2\.due\]: .* has offset \+02:00 but Europe/Bucharest is \+03:00"),
    ("points = 5.0          # =", "points = 6.0          # =",
     r"\[parts\.lab\.points\]: declares 6 points but its items add up to 5 \(assignment1=2, assignment2=2, speedtests=1\)"),
    ("part = \"project\"\npoints = 5.0", "part = \"projekt\"\npoints = 5.0", r"unknown part 'projekt'"),
    ("late = \"assignments\"", "late = \"asignments\"", r"unknown late rule 'asignments'"),
    ("grace = \"30s\"", "grace = \"half a minute\"", r"\[speedtests\.grace\]: 'half a minute' is not a duration"),
    ("timezone = \"Europe/Bucharest\"", "timezone = \"Europe/Bucarest\"", r"unknown time zone 'Europe/Bucarest'"),
    ("drop_lowest = 0", "drop_lowest = 3", r"\[speedtests\.drop_lowest\]: expected a whole number below"),
    ("cap = 2.0", "cap = -2.0", r"\[bonus\.lecture\.cap\]: expected a number in \[0"),
    ("rounding = \"half_up\"", "rounding = \"banker\"", r"expected one of 'half_up', 'down', 'none'"),
    ("team_size = 2", "team_size = 2.5", r"\[items\.project\.team_size\]: expected a whole number"),
    ("[final]", "[final", r"not valid TOML"),
])
def test_malformed_policy_is_one_clear_error(tmp_path, old, new, expect):
    msg = _bad(tmp_path, old, new)
    assert re.search(expect, msg), msg


def test_error_names_the_line(tmp_path):
    msg = _bad(tmp_path, "due = 2022-03-16T23:59:00+02:00", "due = 2022-03-16T23:59:00")
    assert f" line {_line('due = 2022-03-16T23:59:00+02:00')}: " in msg


def test_cli_refuses_a_bad_policy_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TEXT.replace("cap = 10.0", "cap = \"ten\""))
    out = tmp_path / "grades.csv"
    p = course("grades", "--to", str(out), "--policy", str(bad), data=tmp_path / "data")
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().count("\n") == 0
    assert "[final.cap]: expected a number, got 'ten'" in p.stderr
    assert not out.exists() and not (tmp_path / "data").exists()


def test_every_problem_of_the_file_is_reported_at_once_in_file_order(tmp_path):
    text = (TEXT.replace("timezone = \"Europe/Bucharest\"", "timezone = \"Europe/Bucarest\"")
            .replace("grace = \"15m\"\nmax", "grace = \"15m\"\ngrase = \"1h\"\nmax")
            .replace("part = \"project\"\npoints = 5.0", "part = \"projekt\"\npoints = 5.0")
            .replace("rounding = \"half_up\"", "rounding = \"banker\""))
    path = tmp_path / "course.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    lines = str(info.value).split("\n")
    lines_of = [int(re.match(rf"{re.escape(str(path))} line (\d+): ", line).group(1)) for line in lines]
    assert lines_of == sorted(lines_of) and len(lines) == 4, lines
    assert lines[0].endswith("[course.timezone]: unknown time zone 'Europe/Bucarest'; use an IANA name such as "
                             "'Europe/Bucharest'")
    assert "[late.assignments.grase]: unknown key 'grase'; allowed here: grace, hard_cutoff, max_penalty, penalty, " \
        "per" in lines[1]
    assert "[items.project.part]: unknown part 'projekt'; declared parts: lab, project" in lines[2]
    assert "[final.rounding]: expected one of 'half_up', 'down', 'none', got 'banker'" in lines[3]


def test_cli_prints_every_policy_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TEXT.replace("cap = 10.0", "cap = \"ten\"").replace("penalty = 0.10", "penalty = 1.5"))
    p = course("policy", "--policy", str(bad), data=tmp_path / "data")
    assert p.returncode == 2 and p.stdout == ""
    err = p.stderr.rstrip("\n").split("\n")
    assert len(err) == 2 and err[0].startswith(f"course policy: error: {bad} line ")
    assert "[late.assignments.penalty]: expected a number in [0, 1], got 1.5" in err[0]
    assert err[1].startswith(f"{bad} line ") and "[final.cap]: expected a number, got 'ten'" in err[1]
    assert not (tmp_path / "data").exists()
