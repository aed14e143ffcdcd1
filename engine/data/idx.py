"""Read IDX files (the MNIST format), raw or gzip-compressed, with bounded memory.

IDX layout: ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes,
then the data in C order. Only type ``0x08`` (unsigned byte) is supported.

Memory stays bounded by what the file really holds: the header is validated
before anything is allocated, a raw file's size is checked against the header
before its data is read, and a gzip stream is decompressed at most up to the
declared size plus one byte, so a lying header or a gzip bomb fails fast.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.errors import DatasetError
from engine.memory import usable_bytes

__all__ = ["IDX_TYPE_NAMES", "read_idx"]

IDX_TYPE_NAMES: dict[int, str] = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
"""The data-type codes the IDX format defines, by code."""

_GZIP_MAGIC = b"\x1f\x8b"
_COMPRESSED_CHUNK = 1 << 20  # compressed bytes fed to zlib per step (~5 MB of MNIST output)
_MAX_ITEM_BYTES = 4096  # max_items * this bounds the total declared size
_MAX_DEFLATE_RATIO = 1032  # deflate's best compression: ~1032 output bytes per input byte
_TRAILING_CHECK = 16 << 20  # how far past the declared end a stream is checked for corruption


class _RawReader:
    """Reads an uncompressed file; ``read(n)`` returns fewer than n bytes only at end of file."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def read(self, n: int) -> bytes:
        return self._f.read(n)


class _GzipReader:
    """Decompresses gzip members on demand; ``read(n)`` never produces more than n bytes.

    zlib (``wbits=31``) checks each member's CRC-32 and length trailer itself.
    """

    def __init__(self, f: BinaryIO, path: Path) -> None:
        self._f = f
        self._path = path
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed input not yet handed to zlib
        self._finished = False

    def _fail(self, why: str) -> DatasetError:
        return DatasetError(self._path, f"not a valid gzip file ({why})")

    def _next_member(self) -> None:
        """After a member ends: start the next one, or finish at end of file."""
        # all pending input went to zlib; what follows the member is in unused_data
        # (unconsumed_tail may still hold a stale copy of it, so it is not used)
        rest = self._inflater.unused_data
        while True:
            rest = rest.lstrip(b"\x00")  # zero padding after a member is allowed, as gzip does
            if rest:
                break
            rest = self._f.read(_COMPRESSED_CHUNK)
            if not rest:
                self._finished = True
                self._pending = b""
                return
        if not rest.startswith(_GZIP_MAGIC[: len(rest)]):
            raise self._fail("unexpected bytes after the compressed stream")
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = rest

    def read(self, n: int) -> bytearray:
        parts: list[bytes] = []
        got = 0
        while got < n and not self._finished:
            if self._inflater.eof:
                self._next_member()
                continue
            at_end = False
            if not self._pending:
                self._pending = self._f.read(_COMPRESSED_CHUNK)
                at_end = not self._pending
            try:
                chunk = self._inflater.decompress(self._pending, n - got)
            except zlib.error as exc:
                raise self._fail(str(exc)) from None
            self._pending = b"" if self._inflater.eof else self._inflater.unconsumed_tail
            if chunk:
                parts.append(chunk)
                got += len(chunk)
            elif at_end and not self._inflater.eof:
                raise self._fail("compressed data ends before the end of the stream")
        return bytearray().join(parts)  # one copy, and the result is writable

    def readinto(self, view: memoryview) -> int:
        """Decompress into ``view`` (no intermediate copy); the bytes written, fewer than
        its length only at the end of the stream."""
        filled = 0
        while filled < len(view) and not self._finished:
            chunk = self.read(min(len(view) - filled, 4 * _COMPRESSED_CHUNK))
            if not chunk:
                break
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled

    def skip(self, limit: int) -> None:
        """Decompress and discard up to ``limit`` bytes, so that corruption gets noticed."""
        while limit > 0 and not self._finished:
            limit -= len(self.read(min(limit, _COMPRESSED_CHUNK)))


def _read_exactly(
    stream: _RawReader | _GzipReader, n: int, path: Path, what: str
) -> bytes | bytearray:
    data = stream.read(n)
    if len(data) < n:
        raise DatasetError(path, f"truncated: file ends inside the {what}")
    return data


def _check_dims(path: Path, dims: tuple[int, ...], max_items: int) -> int:
    """Reject zero or implausible sizes before allocating; return the declared byte count."""
    if any(d == 0 for d in dims):
        raise DatasetError(path, f"header declares a zero dimension, shape {dims}")
    total = 1
    for d in dims:
        total *= d
    if dims[0] > max_items or total > max_items * _MAX_ITEM_BYTES:
        raise DatasetError(
            path,
            f"header declares an implausible size, shape {dims} = {total} bytes "
            f"(limit: {max_items} items, {max_items * _MAX_ITEM_BYTES} bytes)",
        )
    return total


def read_idx(
    path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    max_items: int = 10_000_000,
) -> np.ndarray:
    """Read one IDX file, gzip-compressed or raw (told apart by content), into a uint8 array.

    Returns an array shaped by the header, e.g. ``(60000, 28, 28)`` for MNIST
    training images or ``(60000,)`` for its labels. The array is fresh and
    writable, its buffer shared with nothing else, so a caller may freeze it
    with ``setflags(write=False)`` without affecting anyone.

    ``sha256`` (hex) is checked against the SHA-256 of the *decompressed*
    file, header included. ``max_items`` caps the first dimension, and
    ``max_items * 4096`` caps the total byte count a header may declare.

    Raises ``DatasetError`` (message ``"<path>: <problem>"``) for a missing,
    malformed, truncated or over-long file, a corrupt gzip stream, an
    unsupported data type or a checksum mismatch.
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DatasetError(path, "file not found") from None
    except IsADirectoryError:
        raise DatasetError(path, "is a directory, not an IDX file") from None
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None

    with f:
        try:
            return _read_open_file(f, path, sha256, max_items)
        except OSError as exc:  # e.g. an I/O error half-way through
            raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None


def _read_open_file(f: BinaryIO, path: Path, sha256: str | None, max_items: int) -> np.ndarray:
    """``read_idx`` on a file opened in binary mode at its start."""
    start = f.read(2)
    f.seek(0)
    stream: _RawReader | _GzipReader
    if start == _GZIP_MAGIC:
        stream = _GzipReader(f, path)
    elif path.suffix.lower() == ".gz":
        raise DatasetError(path, "not a valid gzip file (no gzip header)")
    else:
        stream = _RawReader(f)

    magic = bytes(stream.read(4))
    if len(magic) < 4:
        raise DatasetError(
            path, f"truncated: {len(magic)} bytes, shorter than the 4-byte IDX header"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            path, f"not an IDX file: bad magic 0x{magic.hex()} (first two bytes must be zero)"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code not in IDX_TYPE_NAMES:
        raise DatasetError(path, f"not an IDX file: unknown data type code 0x{type_code:02X}")
    if type_code != 0x08:
        raise DatasetError(
            path,
            f"unsupported IDX data type 0x{type_code:02X} ({IDX_TYPE_NAMES[type_code]}); "
            "only 0x08 (unsigned byte) is supported",
        )
    if not 1 <= ndim <= 4:
        raise DatasetError(path, f"unsupported number of dimensions {ndim} (expected 1 to 4)")
    dim_bytes = _read_exactly(stream, 4 * ndim, path, "header")
    dims = tuple(int(d) for d in np.frombuffer(dim_bytes, dtype=">u4"))
    declared = _check_dims(path, dims, max_items)
    header = magic + bytes(dim_bytes)

    if isinstance(stream, _RawReader):
        available = os.fstat(f.fileno()).st_size - len(header)
        _check_payload_size(path, declared, available, exact=True)
        _check_memory(path, dims, declared)
        flat = np.empty(declared, dtype=np.uint8)
        view = memoryview(flat)
        filled = 0
        while filled < declared:
            n = f.readinto(view[filled:])
            if not n:  # the file shrank between fstat and read
                _check_payload_size(path, declared, filled, exact=True)
            filled += n
        if f.read(1):  # the file grew between fstat and read
            _check_payload_size(path, declared, declared + 1, exact=False)
        payload = flat
    else:  # decompressed straight into the one array: no second copy, no 2x peak
        most = os.fstat(f.fileno()).st_size * _MAX_DEFLATE_RATIO + 1024
        if declared > most:  # deflate cannot expand more than that: the header lies
            raise DatasetError(path, f"truncated: header declares {declared} bytes of data, a "
                               f"gzip file this size holds at most {most}")
        _check_memory(path, dims, declared)
        flat = np.empty(declared, dtype=np.uint8)
        filled = stream.readinto(memoryview(flat))
        extra = len(stream.read(1)) if filled == declared else 0
        if extra:
            # corrupt deflate data often decodes too long: blame the gzip stream if zlib can
            stream.skip(_TRAILING_CHECK)
        _check_payload_size(path, declared, filled + extra, exact=not extra)
        payload = flat

    if sha256 is not None:
        digest = hashlib.sha256(header)
        digest.update(payload)
        got = digest.hexdigest()
        if got != sha256.strip().lower():
            raise DatasetError(path, f"checksum mismatch: expected sha256 {sha256}, got {got}")

    return payload.reshape(dims)


def _check_memory(path: Path, dims: tuple[int, ...], declared: int) -> None:
    """Refuse, before anything is allocated, a file whose (honest) header declares more
    than this process may use (RLIMIT_AS, the cgroup's memory.max, available memory)."""
    usable = usable_bytes()
    if usable is not None and declared > usable:
        raise DatasetError(
            path, f"header declares {dims[0]:,} items ({declared / 1e9:.2f} GB), more than the "
            f"{usable / 1e9:.2f} GB of memory this process may use",
        )


def _check_payload_size(path: Path, declared: int, available: int, *, exact: bool) -> None:
    """Raise unless the data after the header is exactly the declared size."""
    if available < declared:
        raise DatasetError(
            path, f"truncated: header declares {declared} bytes of data, file has {available}"
        )
    if available > declared:
        has = f"{available}" if exact else f"more than {declared}"
        raise DatasetError(
            path, f"trailing data: header declares {declared} bytes of data, file has {has}"
        )
