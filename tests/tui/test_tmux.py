"""End to end in a real terminal: ``nnfs-tui`` in tmux, driven by ``send-keys`` and read by
``capture-pane``, as a person over SSH would use it. Skipped where tmux is not installed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
TIMEOUT = 60.0


class Terminal:
    """A private tmux server holding one window of a given size."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30, check=True)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                size = self.tmux("display", "-p", "-t", "app", "#{window_width}x#{window_height}")
                raise AssertionError(f"{text!r} never appeared ({size.strip()}); the screen:\n"
                                     f"{screen}")
            time.sleep(0.1)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(f"nnfs-tui-test-{os.getpid()}")
    try:
        yield term
    finally:
        subprocess.run([TMUX, "-L", term.socket, "kill-server"], capture_output=True,
                       timeout=30)


def nnfs_tui_command() -> str:
    script = Path(sys.executable).with_name("nnfs-tui")
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m nnfs_tui"


def test_trains_an_epoch_from_the_keyboard_and_quits(terminal: Terminal, tmp_path: Path) -> None:
    exit_file = tmp_path / "exit-status"
    # COLUMNS/LINES would override the pane's real size (the test runner may export them)
    command = (f"env -u COLUMNS -u LINES {nnfs_tui_command()} --preset fast; "
               f"echo $? > {shlex.quote(str(exit_file))}; sleep 30")
    # a private server started here inherits this process's environment (cache dir etc.)
    terminal.tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "40", command)
    screen = terminal.wait_for("hyperparameters")
    assert "F5" in screen.upper() and "ready: F5 starts a run" in screen

    terminal.tmux("send-keys", "-t", "app", "F5")
    screen = terminal.wait_for("Epoch 1/5:")  # the log's line for the first finished epoch
    assert "Run 1 started" in screen

    terminal.tmux("send-keys", "-t", "app", "F10")
    deadline = time.monotonic() + TIMEOUT
    while not exit_file.exists() or not exit_file.read_text().strip():
        assert time.monotonic() < deadline, "nnfs-tui did not exit after F10:\n" + \
            terminal.screen()
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "0"
