"""Files that are always whole: write to a temp file beside the target, fsync, rename.

A reader (or a process started after a crash) sees the old complete file or the new one,
never half of either. Temp files are named ``.<target>.<pid>.tmp`` so that one left by a
killed process can be recognised and removed (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def temp_path(path: Path) -> Path:
    """Where a write to ``path`` by this process is staged."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temp file, fsync it and rename it over ``path``.

    Raises the OSError of a failed write (full disk, read-only or missing directory) after
    removing the temp file; the previous ``path`` is then untouched.
    """
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of UTF-8 text."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to another user
        return True
    return True


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete temp files (``.<name>.<pid>.tmp``) left by processes that died mid-write.

    Files of processes still alive are kept: they may be writing right now.
    """
    removed = []
    try:
        candidates = list(directory.glob(".*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        pid_text = tmp.name[:-len(".tmp")].rpartition(".")[2]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed
