"""``nnfs-tui`` as a process in a real terminal: quit keys, signals, a dropped connection,
no usable terminal, and Ctrl+Z / ``fg``.

Each app runs in a pseudo-terminal of its own, as sshd starts a login: a new session whose
controlling terminal is the pty, so closing the pty's master side is a dropped connection
(the kernel hangs the terminal up and sends SIGHUP). Runs go to a temporary runs directory.
Every wait is bounded; a process left behind by a failure is killed.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.checkpoint import load_checkpoint

fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

#: Seconds the promise allows between the quit (or signal) and the process's exit.
EXIT_WITHIN = 5.0
#: Seconds any other wait may take before the test fails.
TIMEOUT = 60.0

# The child makes the pty its controlling terminal (it leads a new session), ignores SIGHUP
# when asked (as under nohup), then becomes nnfs-tui.
LAUNCH = ("import fcntl, os, signal, sys, termios\n"
          "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
          "if sys.argv[1] == 'nohup':\n"
          "    signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
          "os.execv(sys.executable, [sys.executable, '-m', 'nnfs_tui', *sys.argv[2:]])\n")
KEYS = {"f5": b"\x1b[15~", "f10": b"\x1b[21~", "ctrl+q": b"\x11"}
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\x1b")


class PtyApp:
    """nnfs-tui in a 120x40 pseudo-terminal; the output is read all the time (a full pty
    would block the app) and kept for ``text()``."""

    def __init__(self, args: list[str], env: dict[str, str], *, nohup: bool = False) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "nohup" if nohup else "-", *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = bytearray()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                if select.select([self.master], [], [], 0.05)[0]:
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    self.output += data
            except OSError:  # EIO: the app has exited and closed its side
                return

    def text(self) -> str:
        """Everything drawn so far, without the escape sequences."""
        return ANSI.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def press(self, key: str) -> None:
        os.write(self.master, KEYS[key])

    def hang_up(self) -> None:
        """Close the terminal's master side, as sshd does when the connection drops."""
        self._stop.set()
        self._reader.join(5)
        os.close(self.master)
        self.master = -1

    def wait_for_text(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while text not in self.text():
            if self.proc.poll() is not None:
                raise AssertionError(f"nnfs-tui exited ({self.proc.returncode}) before showing "
                                     f"{text!r}:\n{self.text()[-2000:]}")
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{self.text()[-2000:]}"
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._stop.set()
        self._reader.join(5)
        if self.master >= 0:
            os.close(self.master)


def app_env(runs: Path, **changes: str | None) -> dict[str, str]:
    env = dict(os.environ, NNFS_RUNS_DIR=str(runs), TERM="xterm-256color")
    for name in ("COLUMNS", "LINES", "TEXTUAL_DRIVER", "TEXTUAL_ALLOW_SIGNALS"):
        env.pop(name, None)  # COLUMNS/LINES would override the pty's size
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
def spawn() -> Iterator:
    apps: list[PtyApp] = []

    def start(*args: str, env: dict[str, str], nohup: bool = False) -> PtyApp:
        app = PtyApp(list(args), env, nohup=nohup)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.close()


def wait_for_file(pattern: str, root: Path, app: PtyApp) -> Path:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
        if app.proc.poll() is not None:
            raise AssertionError(f"nnfs-tui exited ({app.proc.returncode}):\n"
                                 f"{app.text()[-2000:]}")
        assert time.monotonic() < deadline, f"no {pattern} in {root}:\n{app.text()[-2000:]}"
        time.sleep(0.05)


ENDINGS = {
    # how: (what the test does, the exit code the promise says)
    "f10": ("key", 0),
    "ctrl+q": ("key", 0),
    "SIGINT": ("signal", 128 + signal.SIGINT),
    "SIGTERM": ("signal", 128 + signal.SIGTERM),
    "SIGHUP": ("signal", 128 + signal.SIGHUP),
    "dropped connection": ("hang up", 128 + signal.SIGHUP),
    "dropped connection under nohup": ("hang up", 128 + signal.SIGHUP),
}


@pytest.mark.parametrize("how", list(ENDINGS))
def test_a_run_ends_saved_within_five_seconds(how: str, spawn, tmp_path: Path) -> None:
    """Mid-run (the first of ten epochs done): the run stops at a batch boundary, its final
    checkpoint and run.json ("stopped") are on disk when the process has exited, the exit
    code is 0 for a quit key and 128+signal otherwise, and nothing of it is left running."""
    kind, code = ENDINGS[how]
    app = spawn("--preset", "default", env=app_env(tmp_path), nohup=how.endswith("nohup"))
    app.wait_for_text("Ready.")
    app.press("f5")
    metrics = wait_for_file("*/metrics.csv", tmp_path, app)  # epoch 1 of 10 is done
    run_dir = metrics.parent

    started = time.monotonic()
    if kind == "key":
        app.press(how)
    elif kind == "signal":
        app.proc.send_signal(getattr(signal, how))
    else:
        app.hang_up()
    try:
        returncode = app.proc.wait(EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {EXIT_WITHIN:.0f} s after {how}") from None
    took = time.monotonic() - started

    assert returncode == code, (how, returncode, app.text()[-2000:])
    with pytest.raises(ProcessLookupError):  # no process of its session is left
        os.killpg(app.proc.pid, 0)
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "stopped", meta
    assert 1 <= meta["epochs_completed"] < 10
    final = load_checkpoint(run_dir / "final.npz")
    assert final.config.hidden_sizes == (256,)
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")], "temp files left"
    assert took < EXIT_WITHIN


@pytest.mark.parametrize("term", ["dumb", None])
def test_a_terminal_that_cannot_draw_is_refused_with_one_line(term: str | None, spawn,
                                                              tmp_path: Path) -> None:
    app = spawn(env=app_env(tmp_path, TERM=term))
    assert app.proc.wait(TIMEOUT) == 2
    app.hang_up()
    lines = [line for line in app.text().splitlines() if line.strip()]
    assert len(lines) == 1 and "nnfs-train" in lines[0], lines
    assert ("TERM=dumb" if term else "TERM is not set") in lines[0]


def test_piped_stdin_is_refused_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "nnfs_tui"], input="", capture_output=True,
                          text=True, env=app_env(tmp_path), timeout=TIMEOUT)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nnfs-train" in done.stderr


# -- Ctrl+Z and fg, in tmux (a shell with job control) ---------------------------------------
TMUX, BASH = shutil.which("tmux"), shutil.which("bash")


@pytest.mark.skipif(TMUX is None or BASH is None, reason="needs tmux and bash")
def test_ctrl_z_suspends_and_fg_resumes_drawing(tmp_path: Path) -> None:
    socket = f"nnfs-tui-suspend-{os.getpid()}"

    def tmux(*args: str) -> str:
        return subprocess.run([TMUX, "-L", socket, *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def wait_until(check, what: str) -> None:  # noqa: ANN001
        deadline = time.monotonic() + TIMEOUT
        while not check():
            assert time.monotonic() < deadline, f"no {what}; the screen:\n{screen()}"
            time.sleep(0.1)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "app")

    def foreground() -> str:
        return tmux("display", "-p", "-t", "app", "#{pane_current_command}").strip()

    shell = f"env -u COLUMNS -u LINES PS1='$ ' {BASH} --norc --noprofile -i"
    tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "40", shell)
    try:
        command = (f"NNFS_RUNS_DIR={shlex.quote(str(tmp_path))} {shlex.quote(sys.executable)} "
                   "-m nnfs_tui --preset fast --no-record")
        tmux("send-keys", "-t", "app", command, "Enter")
        wait_until(lambda: "F5 starts a run" in screen(), "app")

        tmux("send-keys", "-t", "app", "C-z")
        wait_until(lambda: "Stopped" in screen() and foreground() == "bash", "stopped job")
        assert "F5 starts a run" not in screen()  # the shell has its screen back

        tmux("send-keys", "-t", "app", "fg", "Enter")
        wait_until(lambda: "F5 starts a run" in screen(), "app after fg")
        tmux("send-keys", "-t", "app", "F1")  # it reads keys and draws again
        wait_until(lambda: "nnfs-tui › Help" in screen(), "help screen")

        tmux("send-keys", "-t", "app", "Escape")
        tmux("send-keys", "-t", "app", "F10")
        wait_until(lambda: foreground() == "bash", "exit")
        tmux("send-keys", "-t", "app", "echo EXIT=$?", "Enter")
        wait_until(lambda: "EXIT=0" in screen(), "exit code 0")
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True, timeout=30)
