"""``nnfs-tui --serve``: the same app in a web browser, through textual-serve.

The server answers http://HOST:PORT/ with a page that runs a terminal in the browser; each
page opened starts its own ``python -m nnfs_tui ...`` process (Textual's web driver instead of
a terminal), with the --preset, --dataset, --runs-dir and --no-record given to the server, so
runs land in the same runs directory as in the terminal. It listens on 127.0.0.1 unless told
otherwise: whoever reaches the page can use the app, and the app writes files (saved models,
CSV exports) wherever the server's user may.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import socket
import sys
from pathlib import Path

from engine.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def served_child() -> bool:
    """True in an app process that textual-serve started for a browser (it has no TTY)."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def check_port(text: str | int) -> int:
    """A TCP port from 1 to 65535, else ConfigError."""
    raw = str(text).strip()
    port = int(raw) if raw.isdigit() else 0
    if not 1 <= port <= 65535:
        raise ConfigError("--port", raw or "(empty)", "a whole number from 1 to 65535")
    return port


def is_loopback(host: str) -> bool:
    """True for localhost and 127.x / ::1 addresses: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(preset: str, dataset: str | None = None, runs_dir: str | None = None,
                record: bool = True) -> str:
    """The shell command that starts the app for one browser page."""
    parts = [sys.executable, "-m", "nnfs_tui", "--preset", preset]
    if dataset:
        parts += ["--dataset", dataset]
    if runs_dir:
        parts += ["--runs-dir", str(Path(runs_dir).expanduser().absolute())]
    if not record:
        parts.append("--no-record")
    return shlex.join(parts)


def serve(command: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Serve ``command`` until Ctrl+C / SIGTERM; 0, or 2 with one line on stderr when the
    server cannot start (textual-serve missing, the address taken)."""
    try:
        from textual_serve.server import Server
    except ImportError:
        print("nnfs-tui: --serve needs textual-serve (pip install 'textual-serve>=1.1')",
              file=sys.stderr)
        return 2
    if not is_loopback(host):
        print(f"nnfs-tui: warning: listening on {host}: anyone who can reach port {port} "
              "gets the app, which can write files as you", file=sys.stderr)
    try:
        # textual-serve prints its banner before it binds: try the address first, so a
        # taken port is one line and exit 2, with no banner above it
        probe_listen(host, port)
        server = Server(command, host=host, port=port, title="nnfs-tui")
        server.serve()
    except OSError as exc:  # the port is taken, or the host is not an address of this machine
        reason = str(exc.strerror or exc).rsplit(": ", 1)[-1]  # asyncio repeats the address
        reason = reason[:1].lower() + reason[1:]  # the OS says "Address ...", asyncio not
        print(f"nnfs-tui: cannot listen on {host}:{port} ({reason}); "
              "choose another --port or --host", file=sys.stderr)
        return 2
    return 0


def probe_listen(host: str, port: int) -> None:
    """Bind and listen on ``host:port`` for a moment as the server will (SO_REUSEADDR, as
    aiohttp sets it); OSError when it cannot (the port taken, a host not of this machine)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
            probe.listen(1)


def serve_main(args: argparse.Namespace) -> int:
    """``nnfs-tui --serve [--port N] [--host ADDR]`` with the app's other options."""
    if not args.serve:
        print("nnfs-tui: --port and --host need --serve", file=sys.stderr)
        return 2
    try:
        port = check_port(DEFAULT_PORT if args.port is None else args.port)
    except ConfigError as exc:
        print(f"nnfs-tui: {exc}", file=sys.stderr)
        return 2
    host = args.host or DEFAULT_HOST
    command = app_command(args.preset, args.dataset, args.runs_dir, args.record)
    return serve(command, host, port)
