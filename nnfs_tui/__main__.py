"""``nnfs-tui``: open the trainer in this terminal (for scripts and pipes use ``nnfs-train``)."""

from __future__ import annotations

import argparse
import sys

from engine.config import FIELDS, PRESET_DOCS, PRESETS
from engine.errors import ConfigError
from nnfs_tui.keymap import keymap_text

EXIT_OK, EXIT_USAGE = 0, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnfs-tui",
        description="Train a from-scratch NumPy MLP on MNIST in the terminal: edit "
                    "hyperparameters, watch the curves and the digits, change the learning "
                    "rate while it trains. Works over SSH and in tmux (at least 80x24).",
        epilog="Presets: " + "; ".join(f"{k}: {v}" for k, v in PRESET_DOCS.items())
               + "\n\nKeys:\n" + keymap_text()
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("nnfs-tui: needs an interactive terminal (stdin and stdout must be a TTY); "
              "to train from a script or pipe use `nnfs-train` (see nnfs-train --help).",
              file=sys.stderr)
        return EXIT_USAGE
    from nnfs_tui.app import create_app  # after the TTY check: Textual is slow to import

    try:
        app = create_app(preset=args.preset, dataset=args.dataset, runs_dir=args.runs_dir,
                         record=args.record)
    except ConfigError as exc:
        print(f"nnfs-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.run()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
