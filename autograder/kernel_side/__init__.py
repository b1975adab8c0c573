"""Modules that run inside the student's (sandboxed) kernel: seeded inputs and the probe runner.

This folder is bound read-only into the sandbox and put on PYTHONPATH, so its modules are imported there as
top-level `course_inputs` / `course_probe`. They import only the standard library and numpy (torch lazily,
and only when the student already imported it). They hold NO reference code and NO expected values: the
trusted grader imports the same `course_inputs` to rebuild the inputs and computes the answers itself.
"""
