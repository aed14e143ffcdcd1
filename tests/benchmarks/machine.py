"""What machine the figures came from, and how busy it was while they were taken."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any


def _cpuinfo_field(name: str) -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return None


def _mem_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) * 1024 / 1e9, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (runnable processes, all users)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    """CPU, cores, memory, Python, NumPy and its BLAS (via threadpoolctl), torch if installed.

    Torch is not imported here (it would start its OpenMP pool in this process); its build
    details come from the PyTorch reference subprocess.
    """
    import numpy as np
    from threadpoolctl import threadpool_info

    blas = [
        {k: info.get(k) for k in ("user_api", "internal_api", "version", "architecture",
                                  "threading_layer", "num_threads", "filepath")}
        for info in threadpool_info()
    ]
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "cpu_model": _cpuinfo_field("model name") or platform.processor() or "unknown",
        "cpu_flags_avx512f": "avx512f" in (_cpuinfo_field("flags") or "").split(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": _mem_total_gb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "threadpoolctl": _version("threadpoolctl"),
        "blas": blas,
        "torch": _version("torch"),
    }


def blas_summary(machine: dict[str, Any]) -> str:
    """One line: "openblas 0.3.31 (SkylakeX, pthreads)" or "no BLAS found"."""
    parts = [f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['threading_layer']})"
             for b in machine.get("blas", []) if b.get("user_api") == "blas"]
    return "; ".join(parts) or "no BLAS found by threadpoolctl"
