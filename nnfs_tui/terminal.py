"""Notice when the terminal goes away, so a dropped connection never leaves nnfs-tui behind.

Textual's LinuxDriver draws from a writer thread and reads keys in an input thread. Once the
terminal is hung up (an SSH connection dropped while SIGHUP is ignored, as under ``nohup``),
every write fails with EIO, which ends the writer thread (the app then blocks on its full
queue), and every read returns end-of-file at once, which spins the input thread. This
driver swallows the failed writes, checks the terminal twice a second, and on the first sign
of a hang-up stops reading and calls the app's ``terminal_lost()`` once, in the event loop:
the app then stops the run, saves it and exits.
"""

from __future__ import annotations

import asyncio
import os
import termios
import threading
from collections.abc import Callable
from typing import Any, TextIO

from textual.drivers.linux_driver import LinuxDriver

#: Seconds between two checks that the terminal is still there.
WATCH_INTERVAL = 0.5


class _Output:
    """The driver's output file: a failed write marks the terminal lost instead of raising."""

    def __init__(self, file: TextIO, lost: Callable[[], None]) -> None:
        self._file = file
        self._lost = lost
        self.failed = False
        """True after a write or flush failed; later output is dropped."""

    def _fail(self) -> None:
        self.failed = True
        self._lost()

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self._file.write(text)
            except (OSError, ValueError):  # EIO or EPIPE: the terminal is gone
                self._fail()
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._fail()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class HangupAwareDriver(LinuxDriver):
    """Textual's LinuxDriver that tells the app when its terminal has been hung up."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = _Output(self._file, self._terminal_lost)
        self._lost = threading.Event()
        self._closed = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch: threading.Thread | None = None
        self._tty_fds = [fd for fd in (1, 2) if os.isatty(fd)]

    @property
    def terminal_lost(self) -> bool:
        """True once the terminal has been found hung up."""
        return self._lost.is_set()

    def start_application_mode(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # a resume from a signal handler: keep the loop we have
            pass
        super().start_application_mode()
        if self._watch is None:
            self._watch = threading.Thread(target=self._watch_terminal, name="terminal-watch",
                                           daemon=True)
            self._watch.start()

    def close(self) -> None:
        self._closed.set()
        super().close()

    def _watch_terminal(self) -> None:
        """An idle app writes nothing, so ask the terminal itself: a hung-up one says EIO."""
        while not self._closed.wait(WATCH_INTERVAL) and not self._lost.is_set():
            try:
                termios.tcgetattr(self.fileno)
            except termios.error:
                self._terminal_lost()
            except OSError:  # stdin closed under us
                self._terminal_lost()

    def _terminal_lost(self) -> None:
        """Writer or watch thread: stop reading, silence output, tell the app (once)."""
        if self._lost.is_set():
            return
        self._lost.set()
        self.exit_event.set()  # ends the input thread, which would spin on end-of-file
        _silence(self._tty_fds)
        loop = self._loop
        callback = getattr(self._app, "terminal_lost", None) or self._app.exit
        if loop is not None:
            try:
                loop.call_soon_threadsafe(callback)
            except RuntimeError:  # the loop is closed: the app has already ended
                pass


def _silence(fds: list[int]) -> None:
    """Point these file descriptors (the dead terminal) at /dev/null, so whatever is still
    printed on the way out (Python flushes stdout at exit) cannot fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        for fd in fds:
            try:
                os.dup2(null, fd)
            except OSError:
                pass
    finally:
        os.close(null)
