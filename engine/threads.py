"""How many BLAS threads the engine's matrix products may use.

The GEMMs of a small MLP (a 128×784 batch times a 784×256 matrix) finish in tens of
microseconds. Splitting them over threads saves little, and when another thread of the
process or another process keeps a core busy (the app's UI thread, a test runner), OpenBLAS's
spinning workers wait for a core and the same products run 10-40× slower. So the policy is:

- ``"auto"`` (the default): one BLAS thread. ``make bench`` records the measurement behind it.
- an integer n ≥ 1: exactly n BLAS threads, for wide networks on an otherwise idle machine.

The limit is applied with threadpoolctl around a run and undone afterwards.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

from threadpoolctl import threadpool_limits

AUTO_THREADS = 1


def resolve_threads(threads: int | str | None) -> int:
    """The BLAS thread count for a ``--threads`` value: "auto"/None → 1, else a positive int."""
    if threads is None or threads == "auto":
        return AUTO_THREADS
    try:
        count = int(threads)
    except (TypeError, ValueError):
        count = 0
    limit = os.cpu_count() or 1
    if isinstance(threads, bool) or count < 1 or str(threads).strip() != str(count):
        raise ValueError(f"threads: {threads} is not valid; expected 'auto' or a whole number "
                         f"from 1 to {limit}")
    return min(count, limit)


def blas_threads(threads: int | str | None) -> AbstractContextManager:
    """Context manager that limits BLAS to the resolved thread count (no-op without BLAS)."""
    count = resolve_threads(threads)
    try:
        return threadpool_limits(limits=count, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl could not inspect the BLAS
        return nullcontext()
