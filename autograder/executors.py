"""Where grading jobs run: a `concurrent.futures` executor chosen from --workers / --executor.

    local (default)       ProcessPoolExecutor of N spawned workers; each opens ONE slot lazily and reuses it
    --workers 1           inline in this process (same job function, no pool)
    dask://HOST:PORT      a Dask distributed scheduler: client.get_executor(); `run_job` must be importable
                          on the workers (install this package there)

The job function is autograder.pipeline.run_job in every case; only the parent writes results.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any


class InlineExecutor(Executor):
    """Runs each job when submitted, in this process (workers=1: no pickling, no pool start-up)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        from autograder.pipeline import close_worker_slot

        close_worker_slot()


def _init_worker(options) -> None:
    # Workers must not compete for the cores with torch's thread pools (the kernels are the work).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if options is not None:
        from autograder.pipeline import warm_worker

        warm_worker(options)


def make_executor(url: str = "local", workers: int | None = None, options=None
                  ) -> tuple[Executor, Callable[[], None]]:
    """(executor, close) for `url`; ValueError with one line for a bad URL. With `options`, local workers
    open their slot and import the comparators as soon as they start (the fixed costs overlap)."""
    if url in ("", "local"):
        n = workers or os.cpu_count() or 1
        if n == 1:
            ex: Executor = InlineExecutor()
        else:
            # spawn, not fork: the parent has imported torch (comparators); forking it is unsafe
            ex = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_init_worker, initargs=(options,))
        return ex, lambda: ex.shutdown(wait=True, cancel_futures=True)
    if url.startswith(("dask://", "tcp://")):
        address = "tcp://" + url.split("://", 1)[1]
        if not address.split("//", 1)[1]:
            raise ValueError(f"--executor {url}: give the scheduler as dask://HOST:PORT")
        try:
            from distributed import Client
        except ImportError as exc:
            raise ValueError(f"--executor {url}: dask.distributed is not installed ({exc})") from None
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise ValueError(f"--executor {url}: cannot reach the Dask scheduler ({exc})") from None
        ex = client.get_executor(pure=False)

        def close() -> None:
            client.close()

        return ex, close
    raise ValueError(f"--executor {url!r}: use 'local' or dask://HOST:PORT")
