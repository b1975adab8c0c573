"""The module that runs inside the student's (sandboxed) kernel: the probe runner `course_probe`.

This folder is bound read-only into the sandbox and put on PYTHONPATH, so the module is imported there as
top-level `course_probe`. It imports only the standard library and numpy (torch when a request asks for
tensors) and nothing of the grader; it holds no reference code, no expected value and no input generator.
"""
