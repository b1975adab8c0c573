"""Attack submissions A01–A23 (security.md §4.2) graded in ONE sandboxed batch with two control students.

Each case is applied to the fixture's correct and wrong notebooks. After the batch, every case asserts its
stated outcome and the invariants of §4.1 that apply here: a wrong solution never scores more than
without the attack (I10), a correct one under passive hooks keeps full marks, the controls equal their
baseline (I4), no canary from hidden tests or the grader environment reaches anything the student sees
(I7), one grade per (student, test) with no NULL (I2/I3), bounded result size (I9), statuses from the
fixed vocabulary (I10), and the batch itself survives (I1).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

import attack_cases
import harness
import pytest
from fixture_course import course_env

from autograder.model import STATUSES, SandboxUnavailable

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CANARY_ENV_VALUE = "env-canary-5d1e0b"
PASSIVE_OK = ("A01", "A02", "A03", "A04", "A06p", "A07", "A12", "A13", "A14", "A15", "A17",
              "A30", "A31", "A32", "A33")  # correct + attack = full marks
# The memory bomb (A11) must reach the job's memory cap well within the cell timeout on a loaded 2-core
# machine (the verdict comes from the cgroup's OOM record: a bomb still filling memory at the timeout is a
# timeout). Faulting memory in runs at ~200 MB/s on an idle CI machine and at a fraction of that under
# load: a 512 MiB cap is reached in a few seconds, 20 s leaves a wide margin. Nothing else needs more.
CELL_TIMEOUT = 20.0
MEMORY_MIB = "512"
SABOTAGE = ("A06t", "A06r")  # hooks that break the student's own probes: no full-marks claim


def _plant_hidden_canary(root: Path) -> None:
    for path in (root / "source" / "fixture_hw").glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if "### BEGIN HIDDEN TESTS" in src:
                cell["source"] = src.replace("### BEGIN HIDDEN TESTS",
                                             f"### BEGIN HIDDEN TESTS\n# {attack_cases.CANARY_HIDDEN}")
        path.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from autograder.sandbox import check_sandbox

    try:
        check_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"sandbox unavailable: {exc}")
    Path(attack_cases.CANARY_FILE).unlink(missing_ok=True)
    tmp = tmp_path_factory.mktemp("attacks")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", listener.getsockname()[1]))
    udp.setblocking(False)
    attack_cases.LISTENER_PORT = listener.getsockname()[1]
    os.environ[attack_cases.CANARY_ENV] = CANARY_ENV_VALUE
    os.environ["COURSE_SANDBOX_MEMORY_MIB"] = MEMORY_MIB
    with course_env(tmp) as root:
        _plant_hidden_canary(root)
        course, spec = harness.load_course()
        harness.submit(course, "ctrl_ok", "correct")
        harness.submit(course, "ctrl_bad", "wrong")
        for case, (_desc, build) in attack_cases.cases().items():
            for base in ("correct", "wrong"):
                harness.submit(course, f"{case}_{base}", build(base))
        for zero in ("float_subclass", "ndarray_subclass", "object_array", "pickle_canary"):
            harness.submit(course, f"zero_{zero}", f"zero/{zero}")
        folder = harness.submit(course, "A21_correct", "correct")
        (folder / "numpy.py").write_text("raise SystemExit('shadowed numpy')\n")
        (folder / "sitecustomize.py").write_text("import os; os._exit(3)\n")
        (folder / "torch").mkdir()
        (folder / "torch" / "__init__.py").write_text("raise ImportError('shadowed torch')\n")
        (folder / "reference_impl.py").write_text("X = 1\n")
        (folder / "evil.pth").write_text("import os; os._exit(4)\n")
        os.symlink("/etc/shadow", folder / "shadow.ipynb")
        summary = harness.grade(sandbox=True, workers=2, cell_timeout=CELL_TIMEOUT, budget=180.0)
        results = {}
        for p in Path(course.results, "fixture_hw").glob("*.json"):
            results[p.stem] = json.loads(p.read_text())
        import argparse

        from autograder.commands import feedback as feedback_cmd

        assert feedback_cmd(argparse.Namespace(assignment="fixture_hw", student=[], release=False)) == 0
        connections = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                listener.accept()
                connections += 1
        with contextlib.suppress(BlockingIOError):
            while True:
                udp.recv(100)
                connections += 1
        listener.close()
        udp.close()
        yield {"connections": connections, "summary": summary, "results": results, "course": course, "spec": spec, "root": root,
               "grades": harness.db_grades(),
               "expected_wrong": {s: harness.expected_scores(s, "wrong") for s in results if s.endswith("_wrong")
                                  or s == "ctrl_bad"}}
    os.environ.pop(attack_cases.CANARY_ENV, None)
    os.environ.pop("COURSE_SANDBOX_MEMORY_MIB", None)


def by_test(batch, student: str) -> dict[str, dict]:
    return {t["test_id"]: t for t in batch["results"][student]["tests"]}


def full(batch) -> dict[str, float]:
    return {t.test_id: t.points for t in batch["spec"].tests}


def test_batch_survives_and_grades_everyone(batch):
    s = batch["summary"]
    assert not s.infrastructure, s.infrastructure
    n_students = len(list(Path(batch["course"].submitted).iterdir()))
    assert s.graded == n_students == len(batch["results"])


def test_controls_unaffected(batch):
    assert {k: v["score"] for k, v in by_test(batch, "ctrl_ok").items()} == full(batch)
    assert {k: v["score"] for k, v in by_test(batch, "ctrl_bad").items()} == batch["expected_wrong"]["ctrl_bad"]


@pytest.mark.parametrize("case", sorted(attack_cases.cases()))
def test_wrong_solution_never_gains(batch, case):
    got = by_test(batch, f"{case}_wrong")
    expected = batch["expected_wrong"][f"{case}_wrong"]
    for tid, t in got.items():
        assert t["score"] <= expected[tid] + 1e-9, (case, tid, t)


@pytest.mark.parametrize("case", PASSIVE_OK)
def test_correct_solution_under_attack_keeps_full_marks(batch, case):
    got = {k: v["score"] for k, v in by_test(batch, f"{case}_correct").items()}
    assert got == full(batch), batch["results"][f"{case}_correct"]["tests"]


def test_a01_a02_a03_tampering_is_restored_and_noted(batch):
    for case, tampered in (("A01", {"test_dist", "test_labels", "test_fit"}), ("A02", {"test_dist", "test_labels",
                                                                                     "test_fit"}),
                           ("A03", {"test_labels", "test_dist"})):
        tests = by_test(batch, f"{case}_correct")
        assert {t for t, v in tests.items() if v["status"] == "tampered_restored"} == tampered, (case, tests)
        assert all(v["verdict"] == "passed" for t, v in tests.items() if t in tampered)
        assert all("restored" in v["message"] for t, v in tests.items() if t in tampered)
    notes = " ".join(batch["results"]["A03_correct"]["notes"])
    assert "kernel 'bash' replaced" in notes and "kernel 'python2' replaced" in notes


def test_a08_exit_inside_function_costs_only_that_question(batch):
    t = by_test(batch, "A08_correct")
    assert t["test_dist"]["score"] == 0 and t["test_dist"]["status"] == "error"
    assert "SystemExit" in t["test_dist"]["message"]
    assert t["test_rms"]["score"] == 0 and t["test_rms"]["status"] == "error"
    assert t["test_labels"]["score"] == 1 and t["test_fit"]["score"] == 2


def test_a09_kernel_death_costs_only_that_question(batch):
    t = by_test(batch, "A09_correct")
    assert t["test_labels"]["status"] == "kernel_died" and t["test_labels"]["score"] == 0
    assert t["test_fit"]["status"] == "kernel_died" and t["test_fit"]["score"] == 0
    assert t["test_dist"]["score"] == 1 and t["test_rms"]["score"] == 1  # graded after the restart


def test_a10_loops_time_out(batch):
    t = by_test(batch, "A10_correct")
    assert t["test_dist"]["status"] == "timeout" and t["test_dist"]["score"] == 0
    assert t["test_rms"]["status"] == "timeout" and t["test_rms"]["score"] == 0
    assert t["test_labels"]["score"] == 1 and t["test_fit"]["score"] == 2


def test_a07_reference_not_importable_in_kernel(batch):
    outputs = json.dumps([c["outputs"] for c in batch["results"]["A07_correct"]["cells"]])
    assert "no reference_impl ModuleNotFoundError" in outputs and "open failed" in outputs
    assert "REAL-IMPORT" not in outputs


def test_a18_hard_coded_visible_answers_score_zero(batch):
    for base in ("correct", "wrong"):
        assert by_test(batch, f"A18_{base}")["test_dist"]["score"] == 0


def test_a05_a23_evil_results_are_wrong_type_and_never_unpickled(batch):
    assert by_test(batch, "zero_float_subclass")["test_rms"]["status"] == "wrong_type"
    for case in ("zero_ndarray_subclass", "zero_object_array"):
        assert by_test(batch, case)["test_dist"]["score"] == 0
    assert by_test(batch, "zero_pickle_canary")["test_fit"]["score"] == 0
    assert not Path(attack_cases.CANARY_FILE).exists()


def test_a21_extra_files_are_not_used(batch):
    got = {k: v["score"] for k, v in by_test(batch, "A21_correct").items()}
    assert got == full(batch)


def test_i7_no_canary_in_anything_the_student_sees(batch):
    feedback = Path(batch["course"].feedback)
    texts = [p.read_text(errors="replace") for p in feedback.rglob("*.html")]
    texts += [json.dumps(r) for r in batch["results"].values()]
    assert len(texts) == 2 * len(batch["results"])
    texts += [p.read_text(errors="replace") for p in Path(batch["course"].autograded).rglob("*.ipynb")]
    for text in texts:
        assert attack_cases.CANARY_HIDDEN not in text
        assert CANARY_ENV_VALUE not in text
        assert "BEGIN HIDDEN TESTS" not in text


def test_i9_bounded_results(batch):
    for p in Path(batch["course"].results).rglob("*.json"):
        assert p.stat().st_size <= 6 << 20, p
    for p in Path(batch["course"].feedback).rglob("*.html"):
        assert p.stat().st_size <= 6 << 20, p


def test_i2_i3_i10_one_grade_per_test_no_null_fixed_vocabulary(batch):
    rows = batch["grades"]
    keys = [(r[0], r[1], r[2]) for r in rows]
    assert len(keys) == len(set(keys)) == len(batch["results"]) * len(batch["spec"].tests)
    assert all(r[3] is not None and not r[5] for r in rows)
    for r in batch["results"].values():
        assert all(t["status"] in STATUSES and t["message"] for t in r["tests"] if t["status"] != "passed")


def test_a11_memory_bomb_is_zero_and_others_graded(batch):
    t = by_test(batch, "A11_correct")
    assert t["test_rms"]["score"] == 0 and t["test_rms"]["status"] == "memory", t["test_rms"]
    assert t["test_rms"]["message"] == "killed: out of memory (limit 0.5 GiB)", t["test_rms"]
    assert t["test_fit"]["score"] == 2 and t["test_dist"]["score"] == 1


def test_a12_a13_a17_contained(batch):
    outs = {case: json.dumps([c["outputs"] for c in batch["results"][f"{case}_correct"]["cells"]])
            for case in ("A12", "A13", "A17")}
    assert "capped after" in outs["A12"]
    assert "wrote 10 GiB" not in outs["A13"] and "disk full" in outs["A13"]
    # TCP fails; a UDP "connect" only sets the peer inside the sandbox's own network namespace: what
    # matters is that the host's listener (TCP and UDP on the same port) received nothing
    assert "connected 1" not in outs["A17"] and "network blocked" in outs["A17"] and "dns worked" not in outs["A17"]
    assert batch["connections"] == 0


def _outputs(batch, student: str) -> str:
    return json.dumps([c["outputs"] for c in batch["results"][student]["cells"]])


def test_a30_a31_the_kernel_parent_is_out_of_reach(batch):
    # Both attacks ran to their end, were graded as ordinary submissions (no infrastructure error, no
    # retry), and every job after them, on the same slots, was graded normally (controls, full marks).
    for case, said in (("A30", "parent change attempted"), ("A31", "parent kill attempted")):
        for base in ("correct", "wrong"):
            assert said in _outputs(batch, f"{case}_{base}"), case
            assert all(t["status"] != "infrastructure" for t in batch["results"][f"{case}_{base}"]["tests"])


def test_a32_nothing_tells_the_kernel_it_is_being_graded(batch):
    for base in ("correct", "wrong"):
        outs = _outputs(batch, f"A32_{base}")
        assert "no grader in sight" in outs and "GRADER SEEN" not in outs, outs[:2000]


def test_a33_messages_arrive_while_the_process_limit_is_full(batch):
    outs = _outputs(batch, "A33_correct")
    assert "BIG " + "y" * (100 << 10) + " END" in outs
    assert "[process limit reached (" in outs
