"""Fashion-MNIST, fetched on first use from public mirrors and verified before it is kept.

``fetch_fashion_mnist(directory)`` makes sure the four gzipped IDX files are
in ``directory`` and returns their decoded arrays. A missing file is
downloaded from the first mirror that serves the right bytes: each response
is streamed to a temporary file next to its final name, checked (gzip magic,
Content-Length, the pinned SHA-256 of the ``.gz``, then the decoded IDX shape and
label range), fsynced and only then renamed into place, so a final name
never holds partial or unverified data. Any failure (HTTP error, refused
connection, stall, HTML page, truncated body, wrong bytes) moves on to the
next mirror; when all fail, one ``DatasetError`` lists every mirror's reason
and says where to put the files by hand.

After a file is verified, the SHA-256 of its *decompressed* content is
recorded in ``directory/SHA256SUMS`` and checked on every later load, so a
file damaged in the cache is noticed and fetched again, never used.

Only the standard library (``urllib``) is used; no UI library is imported.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TextIO

import numpy as np

from engine.data.idx import read_idx
from engine.errors import DatasetError
from engine.fileio import atomic_write_text, fsync_dir

__all__ = [
    "DEFAULT_TIMEOUT",
    "FASHION_MNIST_ALIASES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MIRRORS",
    "FASHION_MNIST_SHA256",
    "FASHION_MNIST_SHAPES",
    "FASHION_MNIST_SUBDIR",
    "MIRRORS_ENV",
    "ProgressCallback",
    "TextProgressBar",
    "fashion_mnist_mirrors",
    "fetch_fashion_mnist",
    "terminal_progress",
]

ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(file_name, bytes_done, bytes_total)``; ``bytes_total`` is None when unknown.

Called as a download starts (``bytes_done == 0``) and after each chunk; the last call
for a complete body has ``bytes_done == bytes_total`` (an extra call makes it so when
the server sent no Content-Length). A retry on the next mirror starts again from 0
for the same file name.
"""

FASHION_MNIST_ALIASES: frozenset[str] = frozenset({"fashion-mnist", "fashion_mnist", "fashion"})
"""Names ``load_dataset`` accepts for Fashion-MNIST (compared lower-cased)."""

FASHION_MNIST_SUBDIR = "fashion-mnist"
"""The folder under ``cache_dir()`` that holds the downloaded files."""

FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
"""Base URLs tried in order (https first); ``$NNFS_FASHION_MIRRORS`` replaces them."""

MIRRORS_ENV = "NNFS_FASHION_MIRRORS"
"""Environment variable: comma-separated base URLs to use instead of the built-in mirrors."""

# SHA-256 of the .gz files as published by several independent sources (torchvision's
# prototype datasets, dataset READMEs giving the file sizes), which agree with each other.
FASHION_MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}  # fmt: skip
"""SHA-256 of each published ``.gz`` file, by file name."""

FASHION_MNIST_SHAPES: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
"""Shape each decoded file must have, by file name without ``.gz``."""

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
"""Class name of each label 0..9."""

DEFAULT_TIMEOUT = 30.0
"""Seconds a connection may take to open, or stay silent while reading, before it is dropped."""

DOWNLOAD_DEADLINE = 600.0
"""Seconds one file may take in all: a mirror still sending after that is abandoned."""

MIN_RATE = 4096
"""Bytes per second a mirror must average once ``RATE_GRACE`` seconds have passed: a mirror
that trickles a byte at a time (never silent long enough to time out) is abandoned."""

RATE_GRACE = 20.0
"""Seconds before the minimum rate is enforced (a slow start is forgiven)."""

SHA256SUMS = "SHA256SUMS"
"""File in the download directory: ``<sha256>  <name>`` of each decompressed file."""

MAX_DOWNLOAD_BYTES = 64 << 20
"""A response larger than this is cut off (the largest real file is about 26 MB)."""

_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"


class _MirrorFailed(Exception):
    """One mirror could not provide one file; the message is a short reason."""


class _NoDowngradeRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never from https to http, nor to a scheme other than http(s)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        old = urllib.parse.urlsplit(req.full_url).scheme.lower()
        new = urllib.parse.urlsplit(newurl).scheme.lower()
        if new not in ("http", "https"):
            fp.close()
            raise _MirrorFailed(f"refused a redirect to {newurl} (not http or https)")
        if old == "https" and new != "https":
            fp.close()
            raise _MirrorFailed(f"refused a redirect from https to plain http ({newurl})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fashion_mnist_mirrors() -> tuple[str, ...]:
    """The base URLs to try, in order: ``$NNFS_FASHION_MIRRORS`` if set, else the built-in list."""
    override = os.environ.get(MIRRORS_ENV, "")
    urls = tuple(url.strip() for url in override.split(",") if url.strip())
    return urls or FASHION_MNIST_MIRRORS


def fetch_fashion_mnist(
    directory: str | os.PathLike[str],
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float | None = None,
    progress: ProgressCallback | None = None,
    sha256: Mapping[str, str] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> dict[str, np.ndarray]:
    """Make sure the four Fashion-MNIST files are in ``directory``, verified; return their arrays.

    Returns ``{"train-images-idx3-ubyte": (60000, 28, 28) uint8, "train-labels-idx1-ubyte":
    (60000,), "t10k-images-idx3-ubyte": (10000, 28, 28), "t10k-labels-idx1-ubyte":
    (10000,)}``. A file already there is used if its decompressed SHA-256 matches
    ``SHA256SUMS`` (or, with no record, if its ``.gz`` matches the pinned SHA-256); otherwise
    it is downloaded from ``mirrors`` (default ``fashion_mnist_mirrors()``) in order.

    ``timeout`` (default ``DEFAULT_TIMEOUT``) bounds connecting and each silent wait while
    reading. ``sha256`` (by ``.gz`` name) and ``shapes`` (by name without ``.gz``) default to
    ``FASHION_MNIST_SHA256`` and ``FASHION_MNIST_SHAPES``; tests substitute small fixtures.

    Raises ``DatasetError`` when a file cannot be obtained: the message lists each mirror's
    reason and where to put the files by hand.
    """
    directory = Path(directory).expanduser()
    mirrors = tuple(fashion_mnist_mirrors() if mirrors is None else mirrors)
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    pins = FASHION_MNIST_SHA256 if sha256 is None else sha256
    shapes = FASHION_MNIST_SHAPES if shapes is None else shapes
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(directory, f"cannot create the download folder ({_why(exc)})") from None

    sums = _read_sums(directory / SHA256SUMS)
    arrays: dict[str, np.ndarray] = {}
    for stem, shape in shapes.items():
        name = f"{stem}.gz"
        path = directory / name
        notes: list[str] = []
        array = _use_existing(path, shape, pins[name], sums.get(stem), notes)
        if array is None:
            array = _download(path, mirrors, pins[name], shape, timeout, progress, notes)
        digest = _sha256_of(array)
        if sums.get(stem) != digest:
            sums[stem] = digest
            _write_sums(directory / SHA256SUMS, sums)
        arrays[stem] = array
    return arrays


def _use_existing(
    path: Path, shape: tuple[int, ...], pin: str, recorded: str | None, notes: list[str]
) -> np.ndarray | None:
    """The verified array of a file already on disk, or None (with a note why) to download it."""
    if not path.is_file():
        return None
    if recorded is not None:
        try:
            return _check_structure(read_idx(path, sha256=recorded), path, shape)
        except (DatasetError, _MirrorFailed) as exc:
            problem = exc.problem if isinstance(exc, DatasetError) else str(exc)
            note = f"the cached {path.name} is damaged ({problem})"
    else:
        note = f"{path.name} is present without a recorded checksum"
    # a wrong or lost SHA256SUMS line must not throw away a good file: the .gz pin decides
    try:
        got = _file_sha256(path)
        if got != pin:
            raise _MirrorFailed(f"its SHA-256 is {got}, expected {pin}")
        array = _check_structure(read_idx(path), path, shape)
    except (DatasetError, _MirrorFailed, OSError) as exc:
        problem = exc.problem if isinstance(exc, DatasetError) else _why(exc)
        notes.append(f"{note}; not used: {problem}")
        warnings.warn(f"{path}: {notes[-1]}; downloading it again", RuntimeWarning, stacklevel=4)
        return None
    return array


def _download(
    path: Path,
    mirrors: Sequence[str],
    pin: str,
    shape: tuple[int, ...],
    timeout: float,
    progress: ProgressCallback | None,
    notes: list[str],
) -> np.ndarray:
    """Fetch ``path.name`` from the first mirror that serves verified bytes; install it."""
    reasons: list[str] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + path.name
        try:
            return _download_one(url, path, pin, shape, timeout, progress)
        except _MirrorFailed as exc:
            reasons.append(f"  - {url}: {exc}")
    raise DatasetError(path.parent, _failure_message(path, reasons, notes, bool(mirrors)))


def _failure_message(path: Path, reasons: list[str], notes: list[str], any_mirror: bool) -> str:
    names = ", ".join(FASHION_MNIST_SHA256)
    lines = [f"could not download Fashion-MNIST's {path.name}:"]
    lines += [f"  - {note}" for note in notes]
    lines += reasons if any_mirror else ["  - no mirrors to try"]
    lines.append(
        f"To install it by hand, download {names} from {_HOMEPAGE} and put them, "
        f"still gzipped, in {path.parent}{os.sep}"
    )
    lines.append("Any folder of IDX files can also be loaded with --dataset DIR.")
    return "\n".join(lines)


def _download_one(
    url: str,
    path: Path,
    pin: str,
    shape: tuple[int, ...],
    timeout: float,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """Stream ``url`` to a temporary file beside ``path``, verify it, rename it into place."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _MirrorFailed("not an http or https URL")
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
        ) as tmp:
            tmp_name = tmp.name
            got = _stream(url, tmp, path.name, timeout, progress)
            tmp.flush()
            os.fsync(tmp.fileno())
        if got != pin:
            raise _MirrorFailed(f"wrong bytes: SHA-256 {got}, expected {pin}")
        try:
            array = _check_structure(read_idx(tmp_name), path, shape)
        except DatasetError as exc:
            raise _MirrorFailed(f"not a valid IDX file ({exc.problem})") from None
        os.replace(tmp_name, path)
        tmp_name = None
        fsync_dir(path.parent)
        return array
    except OSError as exc:  # creating, syncing or renaming the temporary file
        raise _MirrorFailed(f"cannot write to {path.parent} ({_why(exc)})") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _stream(
    url: str, out: IO[bytes], name: str, timeout: float, progress: ProgressCallback | None
) -> str:
    """Write the body of ``url`` to ``out``; return its SHA-256. Raise ``_MirrorFailed`` if not."""
    request = urllib.request.Request(
        url, headers={"User-Agent": "nnfs-tui", "Accept-Encoding": "identity"}
    )
    opener = urllib.request.build_opener(_NoDowngradeRedirectHandler())
    done = 0
    try:
        with opener.open(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "").lower()
            if content_type.startswith(("text/html", "application/xhtml")):
                raise _MirrorFailed(f"served an HTML page ({content_type}), not a gzip file")
            total = _content_length(response.headers.get("Content-Length"))
            if total is not None and total > MAX_DOWNLOAD_BYTES:
                raise _MirrorFailed(f"file is too large ({total} bytes)")
            digest = hashlib.sha256()
            if progress is not None:
                progress(name, 0, total)
            started = time.monotonic()
            while True:
                chunk = response.read1(_CHUNK)  # what has arrived: a trickle is seen at once
                if not chunk:
                    break
                _check_pace(done + len(chunk), time.monotonic() - started)
                if done == 0 and not chunk.startswith(_GZIP_MAGIC[: len(chunk)]):
                    kind = "an HTML page" if chunk.lstrip()[:1] == b"<" else "data"
                    raise _MirrorFailed(f"served {kind}, not a gzip file (starts {chunk[:16]!r})")
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise _MirrorFailed(f"file is too large (over {MAX_DOWNLOAD_BYTES} bytes)")
                digest.update(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _MirrorFailed(f"cannot write the download ({_why(exc)})") from None
                if progress is not None:
                    progress(name, done, total)
    except _MirrorFailed:
        raise
    except urllib.error.HTTPError as exc:
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _MirrorFailed(f"timed out after {timeout:g} s") from None
        raise _MirrorFailed(_why(reason)) from None
    except TimeoutError:
        raise _MirrorFailed(f"stalled: no data for {timeout:g} s after {done} bytes") from None
    except http.client.IncompleteRead as exc:
        raise _MirrorFailed(
            f"truncated: connection closed after {done + len(exc.partial)} bytes"
        ) from None
    except http.client.HTTPException as exc:
        raise _MirrorFailed(f"bad HTTP response ({type(exc).__name__}: {exc})") from None
    except OSError as exc:  # connection reset, TLS failure, ...
        raise _MirrorFailed(_why(exc)) from None
    if total is not None and done != total:
        raise _MirrorFailed(f"truncated: got {done} of {total} bytes")
    if done == 0:
        raise _MirrorFailed("empty response")
    if progress is not None and total is None:
        progress(name, done, done)  # the size is known now: say the file is complete
    return digest.hexdigest()


def _check_pace(done: int, elapsed: float) -> None:
    """Raise ``_MirrorFailed`` when a download is past ``DOWNLOAD_DEADLINE`` or, after
    ``RATE_GRACE``, averages less than ``MIN_RATE`` bytes a second."""
    if elapsed > DOWNLOAD_DEADLINE:
        raise _MirrorFailed(f"too slow: {done} bytes in {elapsed:.1f} s, past the "
                            f"{DOWNLOAD_DEADLINE:g} s deadline")
    if elapsed > RATE_GRACE and done / elapsed < MIN_RATE:
        raise _MirrorFailed(f"too slow: {done / elapsed:.0f} bytes/s, below the minimum of "
                            f"{MIN_RATE} bytes/s")


def _content_length(value: str | None) -> int | None:
    try:
        n = int(value) if value is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _check_structure(array: np.ndarray, path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` itself if it has ``shape`` and, for labels, values below the class count."""
    if array.shape != tuple(shape):
        raise _MirrorFailed(f"{path.name} holds shape {array.shape}, expected {tuple(shape)}")
    if array.ndim == 1 and array.size and int(array.max()) >= len(FASHION_MNIST_CLASSES):
        top = len(FASHION_MNIST_CLASSES) - 1
        raise _MirrorFailed(f"{path.name} holds label {int(array.max())}, expected 0..{top}")
    return array


def _sha256_of(array: np.ndarray) -> str:
    """SHA-256 of the decompressed IDX file that decodes to this uint8 ``array``."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    digest = hashlib.sha256(header)
    digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_sums(path: Path) -> dict[str, str]:
    """``{name: sha256}`` from a ``sha256sum``-style file; unreadable lines are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    sums = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _write_sums(path: Path, sums: Mapping[str, str]) -> None:
    """Replace ``path`` atomically; a failure only costs re-hashing the ``.gz`` next time."""
    text = "".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items()))
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        warnings.warn(f"{path}: cannot be written ({_why(exc)})", RuntimeWarning, stacklevel=3)


def _why(exc: BaseException | str) -> str:
    """A short reason: an OSError's strerror, else its text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]  # "Connection refused" mid-sentence
    return str(exc) or type(exc).__name__


class TextProgressBar:
    """Draws ``name [#####-----]  45%  11.9 MB/26.4 MB`` on one line of a terminal stream.

    A ``ProgressCallback``. Redraws at most every ``min_interval`` seconds (and
    always on completion); call ``close()`` to end a line left open by a failure.
    """

    def __init__(self, stream: TextIO, *, width: int = 24, min_interval: float = 0.1) -> None:
        self.stream = stream
        self.width = width
        self.min_interval = min_interval
        self._name: str | None = None
        self._last_done = -1
        self._open = False  # a line is drawn and not yet ended
        self._last_draw = 0.0
        self._last_len = 0

    def __call__(self, name: str, done: int, total: int | None) -> None:
        finished = total is not None and done >= total
        if finished and not self._open and (name, done) == (self._name, self._last_done):
            return  # this file's finished line is already drawn
        now = time.monotonic()
        if name == self._name and self._open and not finished:
            if now - self._last_draw < self.min_interval:
                return
        if name != self._name and self._open:
            self.close()
        self._name = name
        self._last_done = done
        if total:
            share = min(done / total, 1.0)
            filled = round(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{name} [{bar}] {share:4.0%}  {_size(done, total)}/{_size(total)}"
        else:
            text = f"{name}  {_size(done)}"
        self.stream.write("\r" + text.ljust(self._last_len))
        self._last_len = len(text)
        self._last_draw = now
        self._open = True
        if finished:
            self.close()
        else:
            self.stream.flush()

    def close(self) -> None:
        """End the current line, if one is open."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
        self._open = False
        self._last_len = 0


def _size(n: int, scale_of: int | None = None) -> str:
    """``n`` bytes as "26.4 MB" or "29.5 kB", in the unit that suits ``scale_of`` (or ``n``)."""
    if (n if scale_of is None else scale_of) >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB"


def terminal_progress(stream: TextIO | None = None) -> TextProgressBar | None:
    """A progress bar on ``stream`` (default ``sys.stderr``) if it is a terminal, else None."""
    stream = sys.stderr if stream is None else stream
    try:
        is_tty = stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or a bare object
        is_tty = False
    return TextProgressBar(stream) if is_tty else None
