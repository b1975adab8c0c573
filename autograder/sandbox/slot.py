"""A worker slot: one kernel parent and one job at a time."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Self

import zmq

from autograder.model import CellJob, CellOutcome
from autograder.sandbox.runner import Backend, NotebookRun


class Slot:
    """Runs notebooks one after another on one backend (sandboxed or local)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._ctx = zmq.Context()
        self._closed = False
        self._busy = threading.Lock()  # one job at a time per slot

    def run_notebook(self, cells: Sequence[CellJob], budget: float) -> list[CellOutcome]:
        if self._closed:
            raise RuntimeError("this slot is closed; open a new one with open_slot()")
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("this slot is already running a notebook; open one slot per concurrent job")
        try:
            return NotebookRun(self.backend, self._ctx).run(cells, budget)
        finally:
            self._busy.release()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.backend.close()
            finally:
                self._ctx.term()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()
