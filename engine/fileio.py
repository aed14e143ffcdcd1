"""Files that are always whole: write to a temp file beside the target, fsync, rename.

A reader (or a process started after a crash) sees the old complete file or the new one,
never half of either. Temp files are named ``.<target>.<pid>.tmp`` so that one left by a
killed process can be recognised and removed (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

#: How deep the JSON documents the program writes ever nest (run.json's live changes are 4).
MAX_JSON_DEPTH = 8


class RefusedFile(ValueError):
    """A file a bounded reader will not read: not a regular file, too large, outside the
    directory it must be in, not UTF-8, not JSON, or JSON nested too deeply."""


def read_bounded(path: Path, max_bytes: int, *, inside: Path | None = None) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``max_bytes``.

    Never blocks or reads without end: a FIFO, a device, a socket or a directory is refused
    before it is read (opened with O_NONBLOCK, checked with fstat), and at most
    ``max_bytes + 1`` bytes are ever read. With ``inside``, a path that resolves (through
    symlinks) outside that directory is refused. Raises :class:`RefusedFile` or OSError.
    """
    if inside is not None:
        real, root = os.path.realpath(path), os.path.realpath(inside)
        if os.path.commonpath([real, root]) != root:
            raise RefusedFile(f"links outside {inside}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile("not a regular file")
        if info.st_size > max_bytes:
            raise RefusedFile(f"{info.st_size:,} bytes, more than the {max_bytes:,} it may be")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise RefusedFile(f"grew past {max_bytes:,} bytes while being read")
    return data


def parse_json(data: bytes | str, what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from ``data``, refused (:class:`RefusedFile`) when it is not UTF-8, not JSON,
    nested deeper than ``max_depth`` or holds an integer of more than 4300 digits. The
    depth is checked on the text before parsing, so no recursion limit is ever reached."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise RefusedFile(f"{what} is not UTF-8 text") from None
    if _nesting(text) > max_depth:
        raise RefusedFile(f"{what} is nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RefusedFile(f"{what} is not valid JSON ({str(exc)[:80]})") from None


def _nesting(text: str) -> int:
    """Deepest bracket nesting of a JSON text, brackets inside strings ignored (regular
    expressions do the scanning, so a megabyte costs milliseconds)."""
    if "[" not in text and "{" not in text:
        return 0
    brackets = _BRACKETS.findall(_STRINGS.sub("", text))
    steps = (1 if b in "[{" else -1 for b in brackets)
    return max(itertools.accumulate(steps), default=0)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


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
    if not 0 < pid < 2 ** 31:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to another user
        return True
    return True


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (Linux /proc), None when it
    does not exist or the platform does not say. A pid reused by another process has a
    different start time: :func:`pid_alive` alone cannot tell them apart."""
    if not isinstance(pid, int) or not 0 < pid < 2 ** 31:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat_line = fh.read(4096)
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
        # the command name (field 2) may hold spaces or parentheses: count after its end
        fields = stat_line[stat_line.rindex(b")") + 2:].split()
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


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
