"""``nnfs-tui --serve``: the app served to a browser by textual-serve, with no TTY anywhere.

A real server in a subprocess, on a free port of 127.0.0.1; the test is the browser: it
fetches the page, then opens the page's websocket, which starts the app, and reads the
app's first screen from it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from nnfs_tui.serve import app_command, check_port, is_loopback

#: Seconds the server, and then the app behind the websocket, may take to answer.
BOUND = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nnfs_tui(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnfs_tui", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


async def first_screen(url: str, wanted: bytes) -> bytes:
    """What the app behind the page's websocket draws, until ``wanted`` shows (or BOUND)."""
    import aiohttp  # textual-serve's own dependency

    data = b""
    deadline = time.monotonic() + BOUND
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json(["resize", {"width": 100, "height": 30}])
        while wanted not in data and time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(ws.receive(), 1.0)
            except TimeoutError:
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                data += message.data
            elif message.type != aiohttp.WSMsgType.TEXT:
                break  # closed: the app process ended
    return data


def test_serve_answers_with_the_page_and_the_app_runs_behind_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TERM"}  # nothing terminal about it
    env["COLUMNS"] = "80"  # the server's log wraps long lines at this width, as on a CI box
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "nnfs_tui", "--serve", "--port", str(port),
             "--runs-dir", str(tmp_path / "runs")],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)
    try:
        deadline = time.monotonic() + BOUND
        status, page = 0, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, page = fetch(f"http://127.0.0.1:{port}/")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert server.poll() is None, f"the server exited: {err.read_text()}"
        assert status == 200 and "textual" in page.lower()
        assert f"ws://127.0.0.1:{port}/ws" in page
        screen = asyncio.run(first_screen(f"ws://127.0.0.1:{port}/ws?width=100&height=30",
                                          b"hyperparameters"))
        assert b"hyperparameters" in screen, (
            f"the app did not draw its form: {screen[-400:]!r} {err.read_text()}")
    finally:
        server.terminate()
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    assert code == 0, err.read_text()
    # The server's log names the command each page runs; rich wraps it wherever the width
    # (and the length of the interpreter's path) puts the line end, so compare words.
    logged = " ".join(out.read_text().split())
    assert "-m nnfs_tui --preset default --runs-dir" in logged, logged


@pytest.mark.parametrize("args, message", [
    (("--serve", "--port", "70000"),
     "nnfs-tui: --port: 70000 is not valid; expected a whole number from 1 to 65535"),
    (("--serve", "--port", "http"),
     "nnfs-tui: --port: http is not valid; expected a whole number from 1 to 65535"),
    (("--port", "8000"), "nnfs-tui: --port and --host need --serve"),
])
def test_serve_with_a_bad_port_says_so_in_one_line(args: tuple[str, ...], message: str) -> None:
    done = nnfs_tui(*args)
    assert done.returncode == 2
    assert done.stderr.strip() == message


def test_serve_on_a_taken_port_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = nnfs_tui("--serve", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"nnfs-tui: cannot listen on 127.0.0.1:{port} (address "
                                   "already in use); choose another --port or --host")
    assert done.stdout == ""  # no banner before the line (textual-serve prints one first)


def test_the_served_command_is_the_same_app_with_the_same_options() -> None:
    command = app_command("fast", "fashion-mnist", "/data/my runs", record=False)
    assert command == (f"{shlex.quote(sys.executable)} -m nnfs_tui --preset fast "
                       "--dataset fashion-mnist --runs-dir '/data/my runs' --no-record")
    assert check_port(" 8080 ") == 8080
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_help_gives_the_tip_of_a_preset_in_the_app_words() -> None:
    """``--l_rate`` is an nnfs-train flag: nnfs-tui --help says where to type it instead."""
    done = nnfs_tui("--help")
    assert done.returncode == 0
    assert "--l_rate" not in done.stdout
    assert "learning_rate 4 in the form" in done.stdout
