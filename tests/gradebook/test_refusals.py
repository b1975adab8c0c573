"""Records that would corrupt grades are refused: one line per problem naming file, line and field, exit
status 2, and nothing written (every file of the data directory, the course database included, unchanged)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gb_cli_helper import course_inproc

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "gradebook"
PREFIX = "course import: error: "


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """A data directory with the fixture roster, teams and extensions imported (built once, copied per test)."""
    d = tmp_path_factory.mktemp("base") / "data"
    for kind in ("roster", "teams", "team_scores", "extensions"):
        p = course_inproc("import", kind, str(FIX / f"{kind}.csv"), data=d)
        assert p.returncode == 0, p.stderr
    return d


@pytest.fixture
def data(imported: Path, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(imported, d)
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def refused(data: Path, kind: str, path: Path, *extra: str) -> list[str]:
    """Run the import; it must fail with status 2 and write nothing. Returns the error lines."""
    before = snapshot(data)
    p = course_inproc("import", kind, str(path), *extra, data=data)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert snapshot(data) == before
    assert p.stderr.startswith(PREFIX) and p.stderr.endswith("\n")
    return p.stderr.removeprefix(PREFIX).rstrip("\n").split("\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_line(lines: list[str], where: str, why: str) -> None:
    assert len(lines) == 1, lines
    assert lines[0].startswith(where) and why in lines[0], lines[0]


ROSTER = "student_id,first_name,last_name,email,id_number\n" + "".join(
    f"{s},{s.title()},X,{s}@uni.example,{1001 + i}\n" for i, s in enumerate(("alice", "bob", "carol", "dan")))


@pytest.mark.parametrize("row, field, why", [
    ("eve,Eve,Y,bob@uni.example,1005", "email", "'bob@uni.example' is also the e-mail of 'bob' (line 3)"),
    ("eve,Eve,Y,Bob@Uni.Example,1005", "email", "is also the e-mail of 'bob'"),  # Moodle ignores case
    ("eve,Eve,Y,eve@uni.example,1002", "id_number", "'1002' is also the ID number of 'bob' (line 3)"),
])
def test_roster_with_a_shared_moodle_identifier(data, tmp_path, row, field, why):
    bad = write(tmp_path, "roster.csv", ROSTER + row + "\n")
    one_line(refused(data, "roster", bad), f"{bad} line 6: field '{field}': ", why)


def test_partial_roster_needs_replace_and_then_says_what_it_removes(data, tmp_path):
    partial = write(tmp_path, "roster.csv", "\n".join(ROSTER.splitlines()[:3]) + "\n")  # alice, bob
    one_line(refused(data, "roster", partial), f"{partial}: field 'student_id': ",
             "2 student(s) on the roster are not in this file (carol, dan) and importing it would remove them; "
             "add them to the file, or pass --replace")
    p = course_inproc("import", "roster", str(partial), "--replace", data=data)
    assert p.returncode == 0, p.stderr
    assert "removed 2 row(s): carol, dan" in p.stdout
    for sid, action in (("carol", "delete"), ("dan", "delete"), ("alice", "set")):
        shown = course_inproc("audit", "--student", sid, data=data).stdout.splitlines()
        assert shown[-1].split()[-1] == action, shown


def test_a_partial_scores_file_is_refused_too(data, tmp_path):
    first = write(tmp_path, "s1.csv", "student_id,item,score\nalice,lecture,1\nbob,lecture,2\n")
    assert course_inproc("import", "scores", str(first), data=data).returncode == 0
    only_bob = write(tmp_path, "s2.csv", "student_id,item,score\nbob,lecture,2.5\n")
    one_line(refused(data, "scores", only_bob), f"{only_bob}: field 'student_id': ",
             "1 scores row(s) are not in this file (alice/lecture)")


def test_team_scores_for_a_team_that_does_not_exist(data, tmp_path):
    bad = write(tmp_path, "team_scores.csv", "team,item,score\nT1,project,3\nT9,project,4\n")
    one_line(refused(data, "team_scores", bad), f"{bad} line 3: field 'team': ",
             "unknown team 'T9'; teams are: T1, T2")


def test_team_scores_before_any_team(tmp_path):
    d = tmp_path / "data"
    assert course_inproc("import", "roster", str(FIX / "roster.csv"), data=d).returncode == 0
    bad = write(tmp_path, "team_scores.csv", "team,item,score\nT1,project,3\n")
    one_line(refused(d, "team_scores", bad), f"{bad} line 2: field 'team': ",
             "unknown team 'T1'; no teams are imported yet (import them with `course import teams`)")


@pytest.mark.parametrize("extra, why", [
    # 8 April is summer time in Bucharest (+03:00): +02:00 would move the deadline by an hour
    ("2022-04-08T23:59:00+02:00", ("2022-04-08T23:59:00+02:00 has offset +02:00 but Europe/Bucharest is +03:00 "
     "on that date; write 2022-04-09T00:59:00+03:00")),
    # assignment2 is due 2022-04-06 23:59 +03:00: an earlier date would shorten the deadline
    ("2022-04-05T23:59:00+03:00", ("2022-04-05T23:59:00+03:00 is before the due date 2022-04-06T23:59:00+03:00 of "
     "'assignment2'; an extension moves the deadline later")),
])
def test_extension_dates_that_would_move_the_deadline_wrongly(data, tmp_path, extra, why):
    bad = write(tmp_path, "ext.csv", f"student_id,item,extra\ncarol,assignment1,2d\ndan,assignment2,{extra}\n")
    one_line(refused(data, "extensions", bad), f"{bad} line 3: field 'extra': ", why)


def test_every_bad_row_is_reported_at_once_one_line_each(data, tmp_path):
    bad = write(tmp_path, "scores.csv", "student_id,item,score\n"
                "alice,lecture,1\n"      # line 2: fine
                "zoe,poster,9\n"         # line 3: unknown student and out of range
                "bob,lecture,1\n"        # line 4: fine
                "bob,assignment1,1\n"    # line 5: not a manual item
                "carol,poster,many\n"    # line 6: not a number
                "bob,lecture,2\n")       # line 7: duplicate of line 4
    lines = refused(data, "scores", bad)
    assert lines == [
        f"{bad} line 3: field 'student_id': unknown student 'zoe'; import them with `course import roster` first",
        f"{bad} line 3: field 'score': 9 is outside 0..5 for item 'poster'; fix the value (or max_raw in course.toml)",
        (f"{bad} line 5: field 'item': 'assignment1' is not a manual item of course.toml; use one of: project, "
        "lecture, poster"),
        f"{bad} line 6: field 'score': 'many' is not a number",
        f"{bad} line 7: field 'item': duplicate row for bob/lecture (first on line 4); keep one",
    ]


def test_header_problems_are_reported_together(data, tmp_path):
    bad = write(tmp_path, "scores.csv", "student_id,points,comment\nalice,1,\n")
    lines = refused(data, "scores", bad)
    assert lines == [f"{bad} line 1: unknown column 'points'; scores CSV columns are student_id, item, score, comment",
                     f"{bad} line 1: missing column 'item'; scores CSV needs student_id, item, score",
                     f"{bad} line 1: missing column 'score'; scores CSV needs student_id, item, score"]


def test_a_long_list_of_problems_is_cut_with_a_count(data, tmp_path):
    bad = write(tmp_path, "scores.csv", "student_id,item,score\n" + "".join(f"s{i},lecture,1\n" for i in range(60)))
    lines = refused(data, "scores", bad)
    assert len(lines) == 51 and all("field 'student_id': unknown student" in line for line in lines[:50])
    assert lines[50] == f"{bad}: ... and 10 more problem(s); nothing was imported"
