"""``nnfs-tui``: open the trainer in this terminal (for scripts and pipes use ``nnfs-train``).

Exit codes: 0 after a quit (F10 / Ctrl+Q), 2 without a usable terminal or with bad options,
128+signal after SIGINT (130), SIGTERM (143) or SIGHUP (129; also when the terminal is gone
while SIGHUP is ignored, as under ``nohup``). However it ends, a run in progress stops at the
next batch and its final checkpoint is written before the process exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

from engine.config import FIELDS, PRESET_DOCS, PRESETS
from engine.errors import ConfigError
from nnfs_tui.keymap import in_app_words, keymap_text
from nnfs_tui.serve import served_child

if TYPE_CHECKING:
    from nnfs_tui.app import NNFSApp

EXIT_OK, EXIT_USAGE = 0, 2

#: Signals that end the app like a quit (stop at a batch boundary, save, exit 128+signal).
EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: Seconds to wait, after the app has exited, for worker threads still busy (the app itself
#: already waited for the training thread); then the process ends without them.
THREAD_GRACE = 1.0

NO_TERMINAL = ("nnfs-tui: needs an interactive terminal ({why}); to train from a script or "
               "pipe use `nnfs-train` (see nnfs-train --help).")


def terminal_problem() -> str | None:
    """Why this process cannot draw the app, or None when it can."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return "stdin and stdout must be a TTY"
    term = os.environ.get("TERM", "")
    if not term:
        return "TERM is not set; try TERM=xterm-256color"
    if term == "dumb":
        return "TERM=dumb cannot draw it; try TERM=xterm-256color"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnfs-tui",
        description="Train a from-scratch NumPy MLP on MNIST in the terminal: edit "
                    "hyperparameters, watch the curves and the digits, change the learning "
                    "rate while it trains. Works over SSH and in tmux (at least 80x24).",
        epilog="Presets: " + "; ".join(f"{k}: {in_app_words(v)}"
                                        for k, v in PRESET_DOCS.items())
               + "\n\nKeys:\n" + keymap_text()
               + "\n\nExit codes: 0 after a quit, 2 without a usable terminal or with a bad "
                 "option,\n128+signal after SIGINT (130), SIGTERM (143) or SIGHUP (129, also "
                 "when the\n"
                 "terminal is gone). A run in progress is stopped at the next batch and its\n"
                 "final checkpoint written first."
               + "\n\nHeadless (scripts, pipes, CI): nnfs-train --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=list(PRESETS), default="default",
                        help="the form's starting values (default: %(default)s)")
    parser.add_argument("--dataset", metavar="NAME_OR_DIR",
                        help=FIELDS["dataset"].doc + " (default: mnist)")
    parser.add_argument("--runs-dir", dest="runs_dir", metavar="DIR",
                        help="where runs are recorded (default $NNFS_RUNS_DIR or "
                             "~/.local/share/nnfs-tui/runs)")
    parser.add_argument("--no-record", dest="record", action="store_false",
                        help="do not record runs")
    web = parser.add_argument_group("web (textual-serve)")
    web.add_argument("--serve", action="store_true",
                     help="serve the app to a web browser instead of this terminal; each "
                          "page opened runs its own app (no TTY needed)")
    web.add_argument("--port", metavar="N", help="port to serve on (default: 8000)")
    web.add_argument("--host", metavar="ADDR",
                     help="address to listen on (default: 127.0.0.1, this machine only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve or args.port is not None or args.host is not None:
        from nnfs_tui.serve import serve_main

        return serve_main(args)
    problem = None if served_child() else terminal_problem()  # a browser page has no TTY
    if problem is not None:
        print(NO_TERMINAL.format(why=problem), file=sys.stderr)
        return EXIT_USAGE
    from nnfs_tui.app import create_app  # after the TTY check: Textual is slow to import

    try:
        app = create_app(preset=args.preset, dataset=args.dataset, runs_dir=args.runs_dir,
                         record=args.record)
    except ConfigError as exc:
        print(f"nnfs-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run_in_terminal(app)


def run_in_terminal(app: NNFSApp) -> int:
    """Run the app in this terminal until it exits; return the exit code.

    SIGINT, SIGTERM and SIGHUP end it like a quit (a signal ignored on purpose, as SIGHUP
    under ``nohup``, stays ignored), and a terminal that disappears ends it like SIGHUP.
    No thread can keep the process alive after the app has gone.
    """
    from textual.drivers.linux_driver import LinuxDriver

    from nnfs_tui.terminal import HangupAwareDriver

    if app.driver_class is LinuxDriver:  # not on Windows, nor with TEXTUAL_DRIVER set
        app.driver_class = HangupAwareDriver
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handled = []
    for signum in EXIT_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            # the handler runs in the event loop, where the app can be told safely
            loop.add_signal_handler(signum, app.exit_on_signal, signum)
            handled.append(signum)
    try:
        app.run(loop=loop)
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    code = app.return_code or 0
    finished = app.wait_for_training(THREAD_GRACE)
    if finished:
        try:  # the preview, prediction and save threads
            loop.run_until_complete(
                asyncio.wait_for(loop.shutdown_default_executor(), THREAD_GRACE))
        except TimeoutError:
            finished = False
    if not finished:  # a thread stuck beyond the grace period must not hold the process
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    loop.close()
    asyncio.set_event_loop(None)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
