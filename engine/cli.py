"""``nnfs-train``: train headless from the command line.

Keeps the tutorial's flags (``--activation --optimizer --batch_size --l_rate --beta``); when
any of its underscore flags is given without ``--preset``, the run starts from the tutorial's
own network (the ``seed`` preset), so its README's commands train what they always trained.

Exit codes: 0 completed, 1 diverged, 2 bad input, 128+signal when stopped by a signal
(130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), after the checkpoint and the run record are written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn, TextIO

from engine.config import (
    APPLIES_WHEN,
    CONTINUE_FIELDS,
    FIELDS,
    PRESET_DOCS,
    PRESETS,
    ConfigError,
    field_applies,
    format_field,
    parse_field,
)
from engine.errors import NNFSError
from engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    HyperparametersChanged,
    RunFinished,
    RunStarted,
)
from engine.numbers import finite_or_none
from engine.runs import (
    TABLE_COLUMNS,
    RunInfo,
    RunStore,
    default_descending,
    parse_filter,
    resolve_column,
    sort_runs,
)
from engine.runs.importance import MIN_RUNS, parameter_importance
from engine.sweep.search import PRUNERS, SEARCHES
from engine.threads import resolve_threads


def _dest(flag: str) -> str:
    """The argparse attribute of a flag: ``--weight-decay`` → ``weight_decay``."""
    return flag.lstrip("-").replace("-", "_")


#: The config fields whose flags ``--help`` lists under each heading, in its order. The flags
#: themselves, their metavars and help lines are on the fields' specs (engine.config.FIELDS).
FLAG_GROUPS: dict[str, tuple[str, ...]] = {
    "the tutorial's flags": ("activation", "optimizer", "batch_size", "learning_rate",
                             "momentum"),
    "model and training": ("hidden_sizes", "init", "epochs", "seed", "dataset", "weight_decay",
                           "dropout", "schedule", "warmup_epochs", "lr_step_epochs", "lr_gamma",
                           "lr_restart", "beta1", "beta2", "alpha", "eps", "subset",
                           "val_fraction", "dtype"),
}
#: argparse attribute (the field's main flag: ``l_rate``) → config field (``learning_rate``).
FLAG_FIELDS: dict[str, str] = {_dest(FIELDS[name].flags[0]): name
                               for names in FLAG_GROUPS.values() for name in names}
#: The tutorial's flags that, without --preset, start the run from its own network.
TUTORIAL_FLAGS = tuple(_dest(FIELDS[name].flags[0])
                       for name in ("batch_size", "learning_rate", "momentum"))
EXIT_OK, EXIT_DIVERGED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser(*, sweep: bool = False) -> argparse.ArgumentParser:
    """The flags of a training run; ``sweep`` hides the ones a sweep refuses."""
    p = _Parser(
        prog="nnfs-train",
        description="Train a from-scratch NumPy MLP on MNIST (or any IDX dataset), headless.",
        epilog="Presets: " + "; ".join(f"{k}: {v}" for k, v in PRESET_DOCS.items())
        + ". Example: nnfs-train --activation sigmoid --optimizer momentum --l_rate 4. "
        "Also: 'nnfs-train runs' lists, exports and deletes recorded runs; 'nnfs-train sweep' "
        "trains a grid or random sample of configs; 'nnfs-train lr-find' suggests a "
        "learning rate (each has --help).",
    )
    single_run_only = argparse.SUPPRESS if sweep else None
    for heading, names in FLAG_GROUPS.items():
        group = p.add_argument_group(heading)
        for name in names:
            spec = FIELDS[name]
            group.add_argument(*spec.flags, dest=_dest(spec.flags[0]), metavar=spec.metavar,
                               help=spec.flag_help)
    r = p.add_argument_group("run")
    r.add_argument("--preset", metavar="NAME", help="start from: " + ", ".join(PRESETS))
    r.add_argument("--threads", metavar="N|auto", default="auto",
                   help="BLAS threads (default auto = 1, see README)")
    r.add_argument("--save", metavar="PATH",
                   help=single_run_only or "write a checkpoint at the end (or on Ctrl-C)")
    r.add_argument("--resume", metavar="NAME" if sweep else "PATH",
                   help="continue the sweep recorded as NAME (its finished trials are kept, "
                        "interrupted ones go on from their last epoch)" if sweep
                   else "continue the run saved in a checkpoint")
    if not sweep:
        r.add_argument("--restart-schedule", dest="restart_schedule", action="store_true",
                       help="with --resume: the added epochs get the whole schedule again "
                            "(--lr-restart at the checkpoint's epoch) instead of the tail of "
                            "the old one")
    r.add_argument("--json", action="store_true", help="one JSON object per finished trial "
                   "on stdout" if sweep else "one JSON object per epoch on stdout")
    r.add_argument("--quiet", action="store_true", help="print only the final result")
    r.add_argument("--runs-dir", dest="runs_dir", metavar="DIR",
                   help="where runs are recorded (default $NNFS_RUNS_DIR or "
                        "~/.local/share/nnfs-tui/runs)")
    r.add_argument("--name", metavar="NAME", help="the sweep's name (its trials are runs "
                   "NAME-000, NAME-001, ...)" if sweep else "name of the recorded run")
    r.add_argument("--no-record", dest="no_record", action="store_true",
                   help=single_run_only or "do not record this run in the runs directory")
    return p


def build_sweep_parser() -> argparse.ArgumentParser:
    p = build_parser(sweep=True)
    p.prog = "nnfs-train sweep"
    p.description = ("Train one run per grid point / random sample, one after another (or in "
                     "--workers processes); every trial is recorded, `nnfs-train runs` ranks "
                     "them.")
    s = p.add_argument_group("sweep")
    s.add_argument("--vary", nargs="+", action="append", default=[], metavar=("FIELD", "VALUE"),
                   help="grid over a config field, e.g. --vary learning_rate 1e-3 3e-3 "
                        "--vary hidden_sizes 64 128,64")
    s.add_argument("--sample", action="append", default=[], metavar="FIELD=DIST:LOW:HIGH",
                   help="random values, e.g. learning_rate=log:1e-4:1e-1 or "
                        "dropout=uniform:0:0.5")
    s.add_argument("--trials", default="1", metavar="N", help="random draws per grid point")
    s.add_argument("--workers", default="auto", metavar="N|auto",
                   help="trials training at once: auto = one process per core (1: in this "
                        "process); with --cluster, at most N at once")
    s.add_argument("--cluster", metavar="ADDR", default=None,
                   help="train on a Dask cluster, e.g. tcp://127.0.0.1:8786 (default "
                        "$NNFS_DASK_SCHEDULER; needs pip install 'nnfs-tui[cluster]')")
    s.add_argument("--search", default="grid", choices=SEARCHES,
                   help="grid: every planned trial; random or tpe: --budget trials chosen "
                        "by Optuna from the --vary choices and --sample ranges")
    s.add_argument("--budget", default=None, metavar="N", help="trials for random and tpe")
    s.add_argument("--prune", default="none", choices=PRUNERS,
                   help="stop hopeless trials early (asha: successive halving; median)")
    s.add_argument("--sweep-seed", dest="sweep_seed", default="0", metavar="N",
                   help="seed of the random draws and of the search")
    return p


def build_runs_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nnfs-train runs",
                description="List, export or delete recorded runs, or weigh which fields "
                            "explain their score (--importance).")
    p.add_argument("--runs-dir", dest="runs_dir", metavar="DIR")
    p.add_argument("--filter", default="", metavar="EXPR",
                   help="only the runs that match, in the Runs screen's filter language: "
                        "words, or terms like lr>=1e-3 batch=64 test>97 status=diverged")
    p.add_argument("--sort", default="started", metavar="COLUMN",
                   help="started (default: newest first) or one of: "
                        + ", ".join(TABLE_COLUMNS) + " (or lr, batch, val, test, time, ...);"
                        " accuracies best first, the rest ascending, runs without a value "
                        "last, as the Runs screen sorts")
    p.add_argument("--reverse", action="store_true", help="the other direction")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per run (with --importance: one object, the "
                        "importances and the plot's axes)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--importance", action="store_true",
                      help="how much each varied field explains the score of the runs "
                           f"(PED-ANOVA by Optuna; needs {MIN_RUNS} scored runs)")
    what.add_argument("--export", metavar="CSV", help="write the table to a CSV file")
    what.add_argument("--delete", metavar="NAME", help="delete a run")
    return p


def flag_changes(args: argparse.Namespace) -> dict[str, Any]:
    """Config field → checked value, for every field flag given on the command line."""
    return {field: parse_field(field, getattr(args, flag)) for flag, field in FLAG_FIELDS.items()
            if getattr(args, flag) is not None}


def base_preset(args: argparse.Namespace) -> str:
    """The preset the flags start from: --preset, else the tutorial's network when one of its
    flags is given, else the default."""
    if args.preset is not None:
        if args.preset not in PRESETS:
            raise ConfigError("preset", args.preset, "one of " + ", ".join(PRESETS))
        return args.preset
    if any(getattr(args, flag) is not None for flag in TUTORIAL_FLAGS):
        return "seed"
    return "default"


def config_from_args(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The config the flags describe, and the fields given explicitly."""
    changes = flag_changes(args)
    return PRESETS[base_preset(args)].replace(**changes), changes


class Reporter:
    """Prints the per-epoch lines, the --json objects and the terminal progress bar."""

    def __init__(self, *, as_json: bool, quiet: bool, out: TextIO, err: TextIO) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self.out = out
        self.err = err
        self.progress = not quiet and not as_json and err.isatty()
        self._bar_shown = False
        self.n_train = 0
        self.epochs = 0
        self.note = ""
        """A line for stderr once the run has started."""

    def silence(self) -> None:
        """Stop writing (the terminal is gone); --json output to a file or pipe goes on."""
        self.progress = False
        if self.out.isatty():
            self.as_json, self.quiet = False, True

    def __call__(self, event: Event) -> None:
        try:
            self._report(event)
        except OSError:  # a closed terminal or pipe must not stop the training
            self.silence()

    def _report(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.n_train, self.epochs = event.n_train, event.config.epochs
            if self.note:
                print(self.note, file=self.err, flush=True)
        elif isinstance(event, BatchEnded) and self.progress:
            self._bar(event)
        elif isinstance(event, EpochEnded):
            self._clear_bar()
            if self.as_json:
                print(json.dumps(_finite(event.to_dict()), allow_nan=False), file=self.out,
                      flush=True)
            elif not self.quiet:
                print(epoch_line(event), file=self.out, flush=True)
        elif isinstance(event, HyperparametersChanged) and not self.quiet:
            self._clear_bar()
            changed = ", ".join(f"{c.field}={c.value}" for c in event.changes)
            print(f"  changed at step {event.step}: {changed}", file=self.err, flush=True)

    def _bar(self, e: BatchEnded) -> None:
        width = 24
        done = int(width * e.batch / max(e.batches_per_epoch, 1))
        rate = e.samples_per_second
        eta = ""
        if rate > 0 and self.n_train:
            left = (1 - e.batch / e.batches_per_epoch + self.epochs - e.epoch) * self.n_train
            eta = f"  ETA {_clock(left / rate)}"
        line = (f"\rEpoch {e.epoch}/{self.epochs} [{'#' * done}{'.' * (width - done)}] "
                f"{e.batch}/{e.batches_per_epoch}  loss {e.loss:.4f}  acc {100 * e.accuracy:.1f}%"
                f"  {rate:,.0f} samples/s{eta}")
        self.err.write(line + "\x1b[K")
        self.err.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self._bar_shown = False


def epoch_line(e: EpochEnded) -> str:
    """The tutorial's per-epoch line, with more digits (and validation when there is one)."""
    parts = [f"Epoch: {e.epoch}/{e.epochs}", f"Time Spent: {e.epoch_seconds:.3f}s",
             f"Train Loss: {e.train_loss:.4f}", f"Train Accuracy: {100 * e.train_acc:.2f}%"]
    if e.val_acc is not None:
        parts += [f"Val Loss: {e.val_loss:.4f}", f"Val Accuracy: {100 * e.val_acc:.2f}%"]
    parts += [f"Test Loss: {e.test_loss:.4f}", f"Test Accuracy: {100 * e.test_acc:.2f}%",
              f"LR: {e.lr:.4g}"]
    return ", ".join(parts)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}:{secs:02d}"


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: finite_or_none(v) for k, v in d.items()}


#: Signals that stopped the run of this process (set by the handler): once one has, the
#: process is on its way out with 128+signal, and a further Ctrl-C must not turn that into
#: a KeyboardInterrupt after :func:`main` has returned.
_SIGNALLED: list[int] = []


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nnfs-train``; returns the exit code."""
    try:
        return _run_main(argv)
    finally:
        if _SIGNALLED and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_main(argv: list[str] | None) -> int:
    """:func:`_main`, with every error it may raise turned into one line and an exit code."""
    try:
        return _main(argv)
    except UsageError as exc:
        print(f"nnfs-train: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (NNFSError, ValueError) as exc:
        print(f"nnfs-train: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `nnfs-train runs | head`
        sys.stderr.close()
        return EXIT_OK
    except MemoryError:
        _say("nnfs-train: error: out of memory (try a smaller network, --subset or "
             "--batch_size)")
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl-C: every file on disk is a complete one
        _say("\nnnfs-train: aborted (the last complete checkpoint and record are kept)")
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["runs"]:
        return runs_main(argv[1:])
    if argv[:1] == ["sweep"]:
        return sweep_main(argv[1:])
    if argv[:1] == ["lr-find"]:
        return lr_find_main(argv[1:])
    from engine.checkpoint import load_checkpoint
    from engine.session import RunSession

    args = build_parser().parse_args(argv)
    check_paths(args, ("resume", "save", "runs_dir"))
    if args.resume is not None and args.preset is not None:
        raise UsageError("--resume continues a saved run; --preset cannot be given with it")
    resolve_threads(args.threads)
    reporter = Reporter(as_json=args.json, quiet=args.quiet, out=sys.stdout, err=sys.stderr)
    interval = 0.1 if reporter.progress else 1.0
    checkpoint = None
    if args.resume:
        config_changes = flag_changes(args)
        fixed = sorted(k for k in config_changes
                       if not FIELDS[k].live and k not in CONTINUE_FIELDS)
        if fixed:
            raise UsageError(f"--resume continues a saved run; {', '.join(fixed)} cannot "
                             "change (only epochs, lr_restart and live hyperparameters "
                             "can)")
        checkpoint = load_checkpoint(args.resume)
        done = int(checkpoint.loop["epoch"])
        config = checkpoint.config.replace(**config_changes)
        if done >= config.epochs:
            raise UsageError(f"--resume {args.resume}: all {plural(done, 'epoch')} of the run "
                             f"are trained; give --epochs N with N > {done} to train more")
        if args.restart_schedule:
            config = config.replace(lr_restart=float(done))
    elif args.restart_schedule:
        raise UsageError("--restart-schedule restarts the schedule of a run continued with "
                         "--resume; for a new run, give --lr-restart EPOCH")
    else:
        config, given = config_from_args(args)
        warn_unused(given, config)
        if args.preset is None and not args.json and not args.quiet and any(
                getattr(args, f) is not None for f in TUTORIAL_FLAGS):
            # said once the run has started: a config the data refuses is one line alone
            reporter.note = "(tutorial flags given: starting from the 'seed' preset, 784-64-10)"
    if args.save:
        check_save_path(args.save)
    session = RunSession(config, checkpoint=checkpoint, on_event=reporter,
                         batch_event_interval=interval, threads=args.threads,
                         store=None if args.no_record else RunStore(args.runs_dir),
                         name=args.name)

    caught: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if caught and signum == signal.SIGINT:  # a second Ctrl-C: leave now
            raise KeyboardInterrupt
        caught.append(signum)
        _SIGNALLED.append(signum)
        if signum == signal.SIGHUP:  # the terminal is gone: writing to it would fail
            reporter.silence()
        else:
            _say(f"\nnnfs-train: {signal.Signals(signum).name} received, stopping at the "
                 "next batch" + (" (Ctrl-C again to abort)" if signum == signal.SIGINT else ""))
        session.stop()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        # Under nohup SIGHUP is ignored on purpose: keep it that way.
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, on_signal)
    started = time.perf_counter()
    try:
        finished: RunFinished = session.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    wall = time.perf_counter() - started
    save_failed = False
    if args.save:
        saved, save_failed = save_or_fallback(session, args.save)
        if not save_failed and not args.json:
            _say(f"saved checkpoint to {saved}")
    summary = (f"{finished.status}: {plural(finished.epochs_completed, 'epoch')}, "
               f"{plural(finished.step, 'step')} in {wall:.1f}s")
    if finished.test_acc is not None:
        summary += f", test accuracy {100 * finished.test_acc:.2f}%"
    if finished.reason:
        summary += f" ({finished.reason})"
    _say(summary, sys.stderr if args.json else sys.stdout)
    if session.path is not None and not args.quiet:
        _say(f"recorded as run {session.name} in {session.path.parent}")
    for problem in session.errors:
        _say(f"nnfs-train: warning: {problem}")
    if finished.status == "diverged":
        return EXIT_DIVERGED
    if save_failed:
        return EXIT_USAGE
    if caught:
        return 128 + caught[0]  # 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP
    return EXIT_OK


def save_or_fallback(session: Any, target: str) -> tuple[Path | None, bool]:
    """Write the final ``--save``: (where it went, whether that failed). When it fails (a
    full disk, a directory gone) that is said in one line and the weights go to the temp
    directory instead, saying where; (None, True) when that fails too (the line then says
    where a copy may still be: the run record's final.npz)."""
    from engine.errors import CheckpointError

    try:
        return session.save(Path(target).expanduser()), False
    except CheckpointError as exc:
        _say(f"nnfs-train: error: {exc}")
    fallback = Path(tempfile.gettempdir()) / f"nnfs-train-{os.getpid()}-{Path(target).name}"
    try:
        saved = session.save(fallback)
    except CheckpointError as exc:
        where = (f"; the run record {session.path} holds final.npz"
                 if session.path is not None else "")
        _say(f"nnfs-train: error: not written to {fallback} either ({exc.problem}){where}")
        return None, True
    _say(f"nnfs-train: the checkpoint was written to {saved} instead; move it where it "
         "belongs")
    return saved, True


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def warn_unused(given: dict[str, Any], config: Any) -> None:
    """One warning line per flag given that the chosen optimizer or schedule ignores."""
    for field in given:
        if not field_applies(field, config):
            decider = APPLIES_WHEN[field][0]
            _say(f"nnfs-train: warning: {field} has no effect with {decider} "
                 f"{getattr(config, decider)}")


def check_paths(args: argparse.Namespace, flags: tuple[str, ...]) -> None:
    """Refuse an empty path (``--save ""``): it would silently mean "none" or "here"."""
    for flag in flags:
        value = getattr(args, flag, None)
        if value is not None and not value.strip():
            raise UsageError(f"--{flag.replace('_', '-')}: the path is empty")


def check_save_path(text: str) -> None:
    """Refuse a --save path that cannot be written, before any training is spent on it."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise UsageError(f"--save {text}: is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--save {text}: directory {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".nnfs-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"--save {text}: cannot write in {parent} "
                         f"({exc.strerror or exc})") from None


def _say(text: str, stream: TextIO | None = None, end: str = "\n") -> None:
    """Print, but never fail because the terminal has gone away."""
    try:
        print(text, file=stream or sys.stderr, flush=True, end=end)
    except (OSError, ValueError):
        pass


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{100 * value:.2f}%" if value <= 1 else f"{value:.4g}"
    return str(value)


def print_runs_table(runs: list[RunInfo], out: TextIO) -> None:
    """The runs as an aligned text table (accuracies in %)."""
    header = ["name", "arch", "act", "opt", "lr", "batch", "ep", "best val", "test", "secs",
              "status"]
    rows = []
    for run in runs:
        r = run.row()
        rows.append([r["name"], r["architecture"], r["activation"], r["optimizer"],
                     "-" if r["learning_rate"] is None else f"{r['learning_rate']:g}",
                     _fmt(r["batch_size"]), _fmt(r["epochs"]), _fmt(r["best_val_acc"]),
                     _fmt(r["test_acc"]), f"{r['seconds']:.1f}", r["status"]])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for line in [header, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip(),
              file=out)


#: Cells of the longest importance bar (a share of 1).
IMPORTANCE_BAR = 30


def print_importance(runs: list[RunInfo], out: TextIO, *, as_json: bool = False) -> None:
    """The parameter importance of ``runs``: a line per field with a bar and its share, or
    the line saying why there is none. ``as_json``: one object, the importances
    (:meth:`Importance.to_dict <engine.runs.importance.Importance.to_dict>`) and the axes of
    the parallel-coordinates view."""
    from engine.runs.parallel import plot_data

    found = parameter_importance(runs)
    if as_json:
        print(json.dumps({**found.to_dict(), "axes": plot_data(runs)["axes"]}), file=out)
        return
    if found.problem:
        print(f"importance: {found.problem}", file=out)
        return
    print(f"importance for the score of {plural(found.n_runs, 'run')}, by {found.method}:",
          file=out)
    width = max(len(name) for name, _ in found.shares)
    for name, share in found.shares:
        bar = "█" * round(share * IMPORTANCE_BAR) or ("▏" if share > 0 else "")
        print(f"  {name.ljust(width)}  {bar.ljust(IMPORTANCE_BAR)}  {100 * share:5.1f}%",
              file=out)


def runs_main(argv: list[str]) -> int:
    args = build_runs_parser().parse_args(argv)
    check_paths(args, ("runs_dir", "export"))
    store = RunStore(args.runs_dir)
    if args.delete:
        store.delete(args.delete)
        print(f"deleted run {args.delete}")
        return EXIT_OK
    query = parse_filter(args.filter)
    if query.problems:
        raise ConfigError("filter", args.filter, "; ".join(query.problems))
    column = None if args.sort == "started" else resolve_column(args.sort)
    runs = sort_runs((run for run in store.list() if query.matches(run)), column,
                     default_descending(column) != args.reverse)
    if args.export:
        path = store.export_csv(args.export, runs)
        print(f"wrote {plural(len(runs), 'run')} to {path}")
        return EXIT_OK
    if args.importance:
        print_importance(runs, sys.stdout, as_json=args.json)
        return EXIT_OK
    if args.json:  # the table's row, plus what the parallel-coordinates view draws
        from engine.runs.parallel import plot_data

        data = plot_data(runs)
        axes = [axis["name"] for axis in data["axes"]]
        for run, drawn in zip(runs, data["runs"], strict=True):
            row = _finite(run.row())
            row["score"] = drawn["score"]
            row["config"] = run.config.to_dict() if run.config is not None else None
            row["axes"] = dict(zip(axes, drawn["positions"], strict=True))
            print(json.dumps(row))
        return EXIT_OK
    if not runs:
        print(f"no runs in {store.root}")
        return EXIT_OK
    print_runs_table(runs, sys.stdout)
    return EXIT_OK


def sweep_main(argv: list[str]) -> int:
    """``nnfs-train sweep``: plan (or resume) a sweep, drive it to the end, rank its trials.
    A progress line on stderr; with --json one object per finished trial on stdout."""
    from engine.sweep import (
        FINISHED,
        Sweep,
        SweepError,
        TrialUpdate,
        count_trials,
        leaderboard,
    )

    args = build_sweep_parser().parse_args(argv)
    if args.save or args.no_record:
        raise UsageError("sweep trials are recorded runs; --save and --no-record do not apply")
    store = RunStore(args.runs_dir)
    states: dict[str, str] = {}
    tty = sys.stderr.isatty()
    total = [0]
    logged = [""]

    def on_update(update: TrialUpdate) -> None:
        states[update.run] = update.status
        if update.status in (*FINISHED, "stopped", "interrupted") and update.info is not None:
            info = update.info
            varied = update.trial.describe()
            _say(f"{chr(13) if tty else ''}trial {update.trial.index + 1}/{total[0]}"
                 f"{f' [{varied}]' if varied else ''} {update.status}: {_fmt(info.score)} "
                 f"({info.name})" + ("\x1b[K" if tty else ""))
            if args.json:
                print(json.dumps({"trial": update.trial.index, "run": info.name,
                                  "status": update.status,
                                  "varied": {k: format_field(k, v)
                                             for k, v in update.trial.varied.items()},
                                  "score": finite_or_none(info.score),
                                  "best_val_acc": finite_or_none(info.best_val_acc),
                                  "test_acc": finite_or_none(info.test_acc),
                                  "epochs": info.epochs_completed, "reason": update.reason}),
                      flush=True)
        progress(update)

    def progress(update: TrialUpdate) -> None:
        """On a terminal, one line redrawn in place at every change; in a log, a line
        each time a trial finishes (or is interrupted), never the same counts twice."""
        words = count_trials(states.values(), total[0])
        if tty:
            waiting = [f"{n} {s}" for s in ("running", "retrying", "queued")
                       if (n := sum(v == s for v in states.values()))]
            _say(f"\rsweep {sweep.name}: {words}"
                 f"{'; ' + ', '.join(waiting) if waiting else ''}\x1b[K", end="")
        elif update.status in (*FINISHED, "interrupted") and words != logged[0]:
            logged[0] = words
            _say(f"sweep {sweep.name}: {words}")

    kwargs: dict[str, Any] = {"workers": args.workers, "cluster": args.cluster,
                              "on_update": on_update}
    if args.resume:
        sweep = Sweep.resume(store, args.resume, **kwargs)
    else:
        base, given = config_from_args(args)
        warn_unused(given, base)
        if any(len(item) < 2 for item in args.vary):
            raise UsageError("--vary needs a field and at least one value")
        budget = None if args.budget is None else _int_arg("budget", args.budget)
        sweep = Sweep(base, store=store, vary=[(item[0], item[1:]) for item in args.vary],
                      samples=args.sample, trials=_int_arg("trials", args.trials),
                      seed=_int_arg("sweep seed", args.sweep_seed), search=args.search,
                      budget=budget, prune=args.prune, name=args.name, **kwargs)
    total[0] = sweep.search.total
    states.update({str(e["run"]): str(e["status"]) for e in sweep.entries.values()})
    _say(f"sweep {sweep.name}: {plural(total[0], 'trial')} ({sweep.settings['search']} "
         f"search, pruning {sweep.settings['prune']}), recorded in {store.root}")

    caught: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if caught and signum == signal.SIGINT:
            raise KeyboardInterrupt
        caught.append(signum)
        sweep.stop()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, on_signal)
    try:
        sweep.run()
    except SweepError as exc:
        _say(f"\nnnfs-train sweep: {exc}")
        return EXIT_USAGE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if tty:
        _say("")
    if caught:
        _say(f"nnfs-train sweep: {signal.Signals(caught[0]).name} received: stopped; "
             f"continue with: nnfs-train sweep --resume {sweep.name}")
        return 128 + caught[0]
    runs = [store.load(e["run"]) for e in sweep.entries.values()
            if (store.root / e["run"]).is_dir()]
    if not args.json:
        print_runs_table(leaderboard(runs), sys.stdout)
    return EXIT_OK


def build_lr_find_parser() -> argparse.ArgumentParser:
    p = build_parser(sweep=True)
    p.prog = "nnfs-train lr-find"
    p.description = ("Learning-rate range test: train a throwaway copy of the model while the "
                     "learning rate grows exponentially, stop when the smoothed loss blows up, "
                     "and suggest a learning rate (see README).")
    for action in p._actions:  # a range test records nothing and resumes nothing
        if action.dest in ("resume", "name", "runs_dir"):
            action.help = argparse.SUPPRESS
    f = p.add_argument_group("lr-find")
    f.add_argument("--start-lr", dest="start_lr", default=None, metavar="LR",
                   help="the ramp's first learning rate (default 1e-6)")
    f.add_argument("--end-lr", dest="end_lr", default=None, metavar="LR",
                   help="the ramp's last learning rate (default 100)")
    f.add_argument("--batches", default=None, metavar="N",
                   help="batches in the ramp (default 300)")
    return p


def lr_find_main(argv: list[str]) -> int:
    """``nnfs-train lr-find``: a learning-rate range test on the flags' config; prints the
    suggestion (``--json``: one object with the curve)."""
    from engine.data import load_dataset
    from engine.lr_find import BATCHES, END_LR, START_LR, lr_find

    args = build_lr_find_parser().parse_args(argv)
    if args.save or args.no_record or args.resume or args.name:
        raise UsageError("lr-find trains a throwaway copy; --save, --no-record, --resume and "
                         "--name do not apply")
    config, given = config_from_args(args)
    resolve_threads(args.threads)
    start = _float_arg("--start-lr", args.start_lr, START_LR)
    end = _float_arg("--end-lr", args.end_lr, END_LR)
    batches = BATCHES if args.batches is None else _int_arg("--batches", args.batches)
    dataset = load_dataset(config.dataset, val_fraction=config.val_fraction,
                           subset=config.subset, seed=config.seed)
    result = lr_find(config, dataset, start_lr=start, end_lr=end, batches=batches,
                     threads=args.threads)
    if args.json:
        print(json.dumps({"config": config.to_dict(), **result.to_dict()}))
        return EXIT_OK
    if result.suggestion is None:
        print(f"no suggestion: {result.reason} after {len(result.lrs)} batches")
        return EXIT_OK
    if not args.quiet:
        print(f"lr-find: {len(result.lrs)} batches, learning_rate {result.lrs[0]:.2g} to "
              f"{result.lrs[-1]:.3g}, {result.reason}, {result.seconds:.1f}s")
        steep = "-" if result.steepest is None else f"{result.steepest:.3g}"
        print(f"steepest descent {steep}, minimum / 10 {result.min_over_10:.3g}")
    print(f"suggested learning_rate {result.suggestion:.3g}  "
          f"({suggested_command(args, result.suggestion)})")
    return EXIT_OK


def suggested_command(args: argparse.Namespace, learning_rate: float) -> str:
    """The ``nnfs-train`` command that trains the model lr-find tested at ``learning_rate``:
    its preset (named even when it was implied: ``--lr`` alone would pick the tutorial's
    network) and every field flag given, as given, except the learning rate."""
    words = ["nnfs-train", "--preset", base_preset(args)]
    for flag, field in FLAG_FIELDS.items():
        text = getattr(args, flag)
        if text is not None and field != "learning_rate":
            words += [FIELDS[field].flags[0], text]
    words += ["--lr", f"{learning_rate:.3g}"]
    return shlex.join(words)


def _float_arg(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name} takes a number, not {text!r}") from None
    if not (value > 0 and value == value and value != float("inf")):
        raise UsageError(f"{name} takes a positive number, not {text!r}")
    return value


def _int_arg(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(name, text, "a whole number") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
