"""How much memory this process may still use: the one place that question is answered.

The smallest of three limits that can each stop an allocation: the address-space limit
(``ulimit -v``, RLIMIT_AS, less what the process already maps), the cgroup's
``memory.max`` (less its ``memory.current``; containers and systemd slices set it), and
the memory the kernel says is available (MemAvailable, else physical memory).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path


def _read_int(path: str, field: str | None = None) -> int | None:
    """An integer from a /proc or /sys file (``field`` picks a ``name: value kB`` line)."""
    try:
        text = Path(path).read_text("ascii")
    except (OSError, ValueError):
        return None
    if field is None:
        word = text.split()[0] if text.split() else ""
        return int(word) if word.isdigit() else None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            parts = line.split()
            return int(parts[1]) * (1024 if parts[-1] == "kB" else 1) if len(parts) > 1 \
                and parts[1].isdigit() else None
    return None


def _cgroup_left() -> int | None:
    """memory.max − memory.current of this process's cgroup (v2), None when unlimited."""
    try:
        lines = Path("/proc/self/cgroup").read_text("ascii").splitlines()
    except (OSError, ValueError):
        return None
    for line in lines:
        if line.startswith("0::"):
            base = "/sys/fs/cgroup" + line[3:].strip()
            limit = _read_int(base + "/memory.max")
            if limit is None:  # "max": no limit here
                return None
            return max(limit - (_read_int(base + "/memory.current") or 0), 0)
    return None


def _address_space_left() -> int | None:
    """RLIMIT_AS less the process's current virtual size, None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _read_int("/proc/self/status", "VmSize") or 0
    return max(soft - used, 0)


def usable_bytes() -> int | None:
    """The most this process may allocate now (the tightest of the limits above), None when
    no limit is known."""
    available = _read_int("/proc/meminfo", "MemAvailable")
    if available is None:
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            available = None
    limits = [x for x in (_address_space_left(), _cgroup_left(), available) if x is not None]
    return min(limits) if limits else None
