"""The Fashion-MNIST downloader, against a local HTTP server on 127.0.0.1 (never the internet).

The files served are tiny fake Fashion-style IDX files; the pinned SHA-256 table and the
expected shapes are swapped for theirs, so every check the real download goes through
(magic, length, SHA-256 of the ``.gz``, structure, recorded SHA-256) runs on a few hundred
bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import threading
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import engine.data.download as download
from engine.data import FASHION_MNIST_CLASSES, fetch_fashion_mnist, load_dataset
from engine.errors import DatasetError

TIMEOUT = 0.5  # seconds; the stall handlers wait far longer than this
STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
NAMES = tuple(f"{stem}.gz" for stem in STEMS)

Behaviour = Callable[[BaseHTTPRequestHandler], None]

REAL_PINS = download.FASHION_MNIST_SHA256
"""The real table, kept before the autouse fixture swaps in the fake files' pins."""


# --- fake data ---------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """The uncompressed IDX file of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def make_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Small Fashion-style splits: 12 training and 5 test images of 4x4, labels 0..9."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 4, 4), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(12) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 4, 4), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([9, 0, 3, 5, 7], dtype=np.uint8),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ARRAYS = make_arrays()
FILES = {f"{stem}.gz": gzip.compress(idx_bytes(a), mtime=0) for stem, a in ARRAYS.items()}
"""What a good mirror serves, by file name."""


@pytest.fixture(autouse=True)
def fake_fashion(monkeypatch, tmp_path):
    """Pin the fake files' SHA-256s and shapes, a short timeout, and a private cache dir."""
    monkeypatch.setattr(download, "FASHION_MNIST_SHA256", {n: sha256(d) for n, d in FILES.items()})
    monkeypatch.setattr(download, "FASHION_MNIST_SHAPES", {s: a.shape for s, a in ARRAYS.items()})
    monkeypatch.setattr(download, "DEFAULT_TIMEOUT", TIMEOUT)
    monkeypatch.setenv("NNFS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("no_proxy", "*")  # a proxy in the environment must not see 127.0.0.1
    monkeypatch.delenv(download.MIRRORS_ENV, raising=False)


# --- the local server ----------------------------------------------------------


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose answer per path is set by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()  # ends the stalls at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (the http.server name)
                server.hits[self.path] += 1
                server.routes.get(self.path, status(404))(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, mirror: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mirror}/"

    def serve(self, mirror: str, make: Callable[[bytes], Behaviour]) -> None:
        """Answer each file of ``mirror`` with ``make(good_bytes_of_that_file)``."""
        for name in NAMES:
            self.routes[f"/{mirror}/{name}"] = make(FILES[name])

    def mirror_hits(self, mirror: str) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith(f"/{mirror}/"))

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def ok(data: bytes, content_type: str = "application/octet-stream") -> Behaviour:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return answer


def status(code: int) -> Behaviour:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_error(code)

    return answer


def html_page(content_type: str = "text/html; charset=utf-8") -> Behaviour:
    """A captive portal or a GitHub "blob" page: HTML served with status 200."""
    return ok(b"<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>\n", content_type)


def truncated(data: bytes) -> Behaviour:
    """Promise the whole file, send half of it, hang up."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[: len(data) // 2])
        h.wfile.flush()
        h.close_connection = True

    return answer


def redirect(location: str) -> Behaviour:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return answer


def stall_in_body(data: bytes, server: Server) -> Behaviour:
    """Send the headers and a few bytes, then go silent (far longer than the timeout)."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[:10])
        h.wfile.flush()
        server.release.wait(10)
        h.close_connection = True

    return answer


def trickle(data: bytes, server: Server) -> Behaviour:
    """Headers, then one byte every 20 ms: never silent long enough to time out."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        for i in range(len(data)):
            if server.release.wait(0.02):
                break
            try:
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
            except OSError:  # the client gave up on us
                break
        h.close_connection = True

    return answer


def stall_before_headers(server: Server) -> Behaviour:
    def answer(h: BaseHTTPRequestHandler) -> None:
        server.release.wait(10)
        h.close_connection = True

    return answer


def refused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing/"


def leftovers(directory: Path) -> list[str]:
    """Temporary files a download left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def assert_fake_arrays(arrays: dict[str, np.ndarray]) -> None:
    assert set(arrays) == set(STEMS)
    for stem in STEMS:
        np.testing.assert_array_equal(arrays[stem], ARRAYS[stem])


# --- the good path -------------------------------------------------------------


def test_download_verifies_installs_and_records_sha256(server, tmp_path):
    server.serve("m1", ok)
    calls: list[tuple[str, int, int | None]] = []
    directory = tmp_path / "fm"

    arrays = fetch_fashion_mnist(
        directory, mirrors=[server.url("m1")], progress=lambda *a: calls.append(a)
    )

    assert_fake_arrays(arrays)
    for name in NAMES:
        assert (directory / name).read_bytes() == FILES[name]
    assert leftovers(directory) == []
    recorded = dict(
        reversed(line.split()) for line in (directory / "SHA256SUMS").read_text().splitlines()
    )
    assert recorded == {s: hashlib.sha256(idx_bytes(a)).hexdigest() for s, a in ARRAYS.items()}
    # progress: every file from 0 to its full size, never going backwards
    for name in NAMES:
        mine = [(done, total) for n, done, total in calls if n == name]
        assert mine[0] == (0, len(FILES[name]))
        assert mine[-1] == (len(FILES[name]), len(FILES[name]))
        assert [d for d, _ in mine] == sorted(d for d, _ in mine)

    # a second load uses the verified files and never touches the network
    before = sum(server.hits.values())
    assert_fake_arrays(fetch_fashion_mnist(directory, mirrors=[server.url("m1")]))
    assert sum(server.hits.values()) == before


def test_load_dataset_by_any_fashion_name(server, monkeypatch):
    server.serve("m1", ok)
    monkeypatch.setenv(download.MIRRORS_ENV, server.url("m1"))

    data = load_dataset("fashion-mnist")
    assert data.name == "fashion-mnist"
    assert data.class_names == FASHION_MNIST_CLASSES == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )  # fmt: skip
    assert data.n_classes == 10 and data.image_shape == (4, 4)
    np.testing.assert_array_equal(data.x_train, ARRAYS["train-images-idx3-ubyte"].reshape(12, 16))
    np.testing.assert_array_equal(data.y_test, ARRAYS["t10k-labels-idx1-ubyte"])
    assert server.mirror_hits("m1") == 4

    for alias in ("fashion_mnist", " Fashion ", "FASHION-MNIST"):
        again = load_dataset(alias, val_fraction=0.25, seed=1)
        assert again.name == "fashion-mnist"
        assert len(again.y_train) == 9 and len(again.y_val) == 3
    assert server.mirror_hits("m1") == 4  # all from the cache


def test_files_put_there_by_hand_are_checked_and_used(tmp_path):
    directory = tmp_path / "fm"
    directory.mkdir()
    for name, data in FILES.items():
        (directory / name).write_bytes(data)

    assert_fake_arrays(fetch_fashion_mnist(directory, mirrors=[]))
    assert (directory / "SHA256SUMS").is_file()


def test_pins_are_the_sha256_of_the_four_published_gz_files():
    assert list(REAL_PINS) == list(NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in REAL_PINS.values())
    # as published (torchvision's prototype datasets and others agree)
    assert REAL_PINS == {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }  # fmt: skip


def test_mirror_list_is_https_first_and_overridable(monkeypatch):
    assert download.fashion_mnist_mirrors() == download.FASHION_MNIST_MIRRORS
    assert download.FASHION_MNIST_MIRRORS[0].startswith("https://github.com/zalandoresearch/")
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in (
        download.FASHION_MNIST_MIRRORS
    )
    monkeypatch.setenv(download.MIRRORS_ENV, " http://a/x/ , ,http://b/ ")
    assert download.fashion_mnist_mirrors() == ("http://a/x/", "http://b/")


# --- fall-through to the next mirror --------------------------------------------


def wrong_bytes(data: bytes) -> Behaviour:
    """A valid gzip file of a valid IDX file, just not the one whose SHA-256 is pinned."""
    other = gzip.compress(gzip.decompress(data)[:-1] + b"\xff", mtime=0)
    return ok(other)


def test_wrong_sha256_on_first_mirror_falls_through_to_second(server, tmp_path):
    for name in NAMES:
        server.routes[f"/m1/{name}"] = wrong_bytes(FILES[name])
    server.serve("m2", ok)

    arrays = fetch_fashion_mnist(tmp_path / "fm", mirrors=[server.url("m1"), server.url("m2")])

    assert_fake_arrays(arrays)
    assert server.mirror_hits("m1") == 4 and server.mirror_hits("m2") == 4
    assert leftovers(tmp_path / "fm") == []


BAD_MIRRORS: dict[str, tuple[Callable[[Server, bytes], Behaviour], str | None]] = {
    "html": (lambda s, data: html_page(), "HTML page"),
    "html-as-octet-stream": (  # caught by the gzip magic instead of the content type
        lambda s, data: html_page("application/octet-stream"),
        "HTML page",
    ),
    "404": (lambda s, data: status(404), "HTTP 404"),
    "500": (lambda s, data: status(500), "HTTP 500"),
    "truncated": (lambda s, data: truncated(data), "truncated"),
    "stall-in-body": (lambda s, data: stall_in_body(data, s), "stalled: no data for 0.5 s"),
    "stall-before-headers": (lambda s, data: stall_before_headers(s), "no data for 0.5 s"),
    "wrong-bytes": (lambda s, data: wrong_bytes(data), "wrong bytes: SHA-256"),
    "trickle-below-the-minimum-rate": (lambda s, data: trickle(data, s), "bytes/s, below"),
    "trickle-past-the-deadline": (lambda s, data: trickle(data, s), "deadline"),
    "http-redirect-followed": (lambda s, data: redirect(f"/m2/{NAMES[0]}"), None),
}


@pytest.mark.parametrize("case", list(BAD_MIRRORS))
def test_bad_mirror_falls_through_and_its_reason_is_reported(server, tmp_path, case,
                                                            monkeypatch):
    make, reason = BAD_MIRRORS[case]
    if case.startswith("trickle"):  # ~50 bytes/s: far below the rate, or past the deadline
        below = case.endswith("rate")
        monkeypatch.setattr(download, "RATE_GRACE", 0.2 if below else 1e9)
        monkeypatch.setattr(download, "MIN_RATE", 10_000 if below else 0)
        monkeypatch.setattr(download, "DOWNLOAD_DEADLINE", 1e9 if below else 0.3)
    name = NAMES[0]
    server.routes[f"/m1/{name}"] = make(server, FILES[name])
    server.serve("m2", ok)
    directory = tmp_path / "fm"

    arrays = fetch_fashion_mnist(
        directory, mirrors=[server.url("m1"), server.url("m2")], timeout=TIMEOUT
    )
    assert_fake_arrays(arrays)
    assert server.hits[f"/m1/{name}"] == 1
    assert leftovers(directory) == []
    if reason is None:
        return

    # alone, the same mirror fails with that reason and leaves nothing behind
    (directory / name).unlink()
    (directory / "SHA256SUMS").unlink()
    with pytest.raises(DatasetError) as caught:
        fetch_fashion_mnist(directory, mirrors=[server.url("m1")], timeout=TIMEOUT)
    assert reason in str(caught.value)
    assert not (directory / name).exists()
    assert leftovers(directory) == []


def test_all_mirrors_down_gives_one_error_with_reasons_and_the_manual_path(server, monkeypatch):
    server.serve("m404", lambda data: status(404))
    server.serve("m500", lambda data: status(500))
    server.serve("mhtml", lambda data: html_page())
    refused = refused_url()
    mirrors = [server.url("m404"), server.url("m500"), refused, server.url("mhtml")]
    monkeypatch.setenv(download.MIRRORS_ENV, ",".join(mirrors))

    with pytest.raises(DatasetError) as caught:
        load_dataset("fashion")

    message = str(caught.value)
    directory = download_dir()
    assert "could not download" in message
    for mirror, why in zip(mirrors, ["HTTP 404", "HTTP 500", "refused", "HTML page"], strict=True):
        line = next(line for line in message.splitlines() if mirror in line)
        assert why in line
    assert str(directory) in message
    for name in NAMES:
        assert name in message
    assert "--dataset DIR" in message
    assert sorted(p.name for p in directory.iterdir()) == []  # nothing partial, nothing final


def download_dir() -> Path:
    from engine.data import cache_dir

    return cache_dir() / download.FASHION_MNIST_SUBDIR


def same_size_other_bytes(data: bytes, where: str) -> bytes:
    """``data`` with a few bytes changed: in the gzip header's MTIME (still a valid gzip of the
    same IDX file) or mid-stream (a corrupted download)."""
    at = 4 if where == "gzip-header" else len(data) // 2
    return data[:at] + bytes(b ^ 0xFF for b in data[at : at + 4]) + data[at + 4 :]


@pytest.mark.parametrize("where", ["gzip-header", "mid-stream"])
def test_right_size_wrong_bytes_is_refused_by_sha256_and_the_next_mirror_used(
    server, tmp_path, where
):
    name = NAMES[0]
    other = same_size_other_bytes(FILES[name], where)
    assert len(other) == len(FILES[name]) and other != FILES[name]
    server.routes[f"/m1/{name}"] = ok(other)
    server.serve("m2", ok)
    directory = tmp_path / "fm"

    assert_fake_arrays(fetch_fashion_mnist(directory, mirrors=[server.url("m1"), server.url("m2")]))
    assert server.hits[f"/m1/{name}"] == 1 and server.hits[f"/m2/{name}"] == 1
    assert (directory / name).read_bytes() == FILES[name]

    (directory / name).unlink()
    with pytest.raises(DatasetError) as caught:
        fetch_fashion_mnist(directory, mirrors=[server.url("m1")])
    expected = f"wrong bytes: SHA-256 {sha256(other)}, expected {sha256(FILES[name])}"
    assert f"{server.url('m1')}{name}: {expected}" in str(caught.value)
    assert not (directory / name).exists()
    assert leftovers(directory) == []


def test_a_file_put_there_by_hand_with_other_bytes_is_refused_by_sha256(server, tmp_path):
    directory = tmp_path / "fm"
    directory.mkdir()
    for good_name, data in FILES.items():
        (directory / good_name).write_bytes(data)
    name = NAMES[1]
    other = same_size_other_bytes(FILES[name], "gzip-header")  # decodes to the right IDX
    (directory / name).write_bytes(other)

    with pytest.warns(RuntimeWarning), pytest.raises(DatasetError) as caught:
        fetch_fashion_mnist(directory, mirrors=[])
    assert (
        f"{name} is present without a recorded checksum; not used: "
        f"its SHA-256 is {sha256(other)}, expected {sha256(FILES[name])}"
    ) in str(caught.value)

    server.serve("m1", ok)
    with pytest.warns(RuntimeWarning, match="downloading it again"):
        assert_fake_arrays(fetch_fashion_mnist(directory, mirrors=[server.url("m1")]))
    assert (directory / name).read_bytes() == FILES[name]


def test_structure_is_checked_even_when_the_sha256_matches(server, tmp_path):
    bad = dict(ARRAYS)
    bad["train-labels-idx1-ubyte"] = (np.arange(12) % 11).astype(np.uint8)  # a label 10
    files = {f"{s}.gz": gzip.compress(idx_bytes(a), mtime=0) for s, a in bad.items()}
    name = "train-labels-idx1-ubyte.gz"
    server.routes[f"/m1/{name}"] = ok(files[name])
    for other in NAMES:
        if other != name:
            server.routes[f"/m1/{other}"] = ok(files[other])

    with pytest.raises(DatasetError, match="label 10, expected 0..9"):
        fetch_fashion_mnist(
            tmp_path / "fm",
            mirrors=[server.url("m1")],
            sha256={n: sha256(d) for n, d in files.items()},  # the bad files' own pins
        )
    assert not (tmp_path / "fm" / name).exists()

    wrong_shape = {s: (a.shape[0] + 1, *a.shape[1:]) for s, a in ARRAYS.items()}
    with pytest.raises(DatasetError, match=r"holds shape \(12, 4, 4\), expected \(13, 4, 4\)"):
        fetch_fashion_mnist(tmp_path / "fm2", mirrors=[server.url("m1")], shapes=wrong_shape)


# --- the cached copy ---------------------------------------------------------------


def corrupt(path: Path) -> None:
    """Replace the file with a valid gzip of a slightly different IDX file (same size)."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(raw), mtime=0))


def test_a_damaged_cached_file_is_fetched_again(server, monkeypatch):
    server.serve("m1", ok)
    monkeypatch.setenv(download.MIRRORS_ENV, server.url("m1"))
    load_dataset("fashion-mnist")
    path = download_dir() / "train-images-idx3-ubyte.gz"
    corrupt(path)

    with pytest.warns(RuntimeWarning, match="damaged"):
        data = load_dataset("fashion-mnist")

    np.testing.assert_array_equal(data.x_train, ARRAYS["train-images-idx3-ubyte"].reshape(12, 16))
    assert path.read_bytes() == FILES[path.name]
    assert server.hits[f"/m1/{path.name}"] == 2
    assert server.mirror_hits("m1") == 5  # only the damaged file again


def test_a_damaged_cached_file_is_reported_when_it_cannot_be_replaced(server, monkeypatch):
    server.serve("m1", ok)
    monkeypatch.setenv(download.MIRRORS_ENV, server.url("m1"))
    load_dataset("fashion-mnist")
    path = download_dir() / "t10k-labels-idx1-ubyte.gz"
    corrupt(path)
    server.serve("m1", lambda data: status(404))

    with pytest.warns(RuntimeWarning), pytest.raises(DatasetError) as caught:
        load_dataset("fashion-mnist")
    assert f"the cached {path.name} is damaged" in str(caught.value)
    assert "HTTP 404" in str(caught.value)


def test_a_wrong_sha256_record_does_not_throw_away_a_good_file(server, tmp_path):
    directory = tmp_path / "fm"
    server.serve("m1", ok)
    fetch_fashion_mnist(directory, mirrors=[server.url("m1")])
    sums = directory / "SHA256SUMS"
    good = sums.read_text()
    sums.write_text(good.replace(good[:64], "0" * 64, 1))
    before = sum(server.hits.values())

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the file is fine: nothing to warn about
        assert_fake_arrays(fetch_fashion_mnist(directory, mirrors=[server.url("m1")]))

    assert sum(server.hits.values()) == before  # its pinned SHA-256 vouched for it
    assert sums.read_text() == good


# --- redirects, progress ---------------------------------------------------------


def test_https_to_http_redirect_is_refused():
    handler = download._NoDowngradeRedirectHandler()
    request = urllib.request.Request("https://mirror.example/data/train-images-idx3-ubyte.gz")

    with pytest.raises(download._MirrorFailed, match="https to plain http"):
        handler.redirect_request(
            request, io.BytesIO(), 302, "Found", Message(), "http://evil.example/x.gz"
        )
    with pytest.raises(download._MirrorFailed, match="not http or https"):
        handler.redirect_request(request, io.BytesIO(), 302, "Found", Message(), "file:///etc/x")
    followed = handler.redirect_request(
        request, io.BytesIO(), 302, "Found", Message(), "https://cdn.example/x.gz"
    )
    assert followed.full_url == "https://cdn.example/x.gz"


def test_a_mirror_that_is_not_http_is_skipped(server, tmp_path):
    server.serve("m1", ok)
    arrays = fetch_fashion_mnist(tmp_path / "fm", mirrors=[f"file://{tmp_path}/", server.url("m1")])
    assert_fake_arrays(arrays)


def test_progress_bar_draws_and_ends_its_line():
    out = io.StringIO()
    bar = download.TextProgressBar(out, width=10, min_interval=0)
    bar("train-images-idx3-ubyte.gz", 0, 2_000_000)
    bar("train-images-idx3-ubyte.gz", 1_000_000, 2_000_000)
    bar("train-images-idx3-ubyte.gz", 2_000_000, 2_000_000)
    text = out.getvalue()
    assert "train-images-idx3-ubyte.gz [#####-----]  50%  1.0 MB/2.0 MB" in text
    assert text.endswith("[##########] 100%  2.0 MB/2.0 MB\n")
    assert download.terminal_progress(io.StringIO()) is None


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_load_dataset_draws_a_bar_only_on_a_terminal(server, monkeypatch, capsys, tmp_path):
    server.serve("m1", ok)
    monkeypatch.setenv(download.MIRRORS_ENV, server.url("m1"))
    monkeypatch.setenv("NNFS_CACHE_DIR", str(tmp_path / "a"))
    load_dataset("fashion")
    assert capsys.readouterr().err == ""  # pytest's stderr is no terminal

    monkeypatch.setenv("NNFS_CACHE_DIR", str(tmp_path / "b"))
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    load_dataset("fashion")
    drawn = terminal.getvalue()
    for name in NAMES:
        assert f"{name} [" in drawn
    assert re.search(r"t10k-labels-idx1-ubyte\.gz \[#+\] 100%.*\n$", drawn)
