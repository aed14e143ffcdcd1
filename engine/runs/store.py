"""The run store: every run recorded on disk, so runs can be listed, compared and rerun.

One directory per run under the runs directory (``$NNFS_RUNS_DIR``, else
``$XDG_DATA_HOME/nnfs-tui/runs``, else ``~/.local/share/nnfs-tui/runs``)::

    <name>/run.json      name, status, start time, duration, best and final accuracies
    <name>/config.json   the TrainConfig (JSON) the run started with: rerunning it repeats
                         the run (changes made while it trained are listed in run.json)
    <name>/metrics.csv   one row per epoch (the EpochEnded fields)
    <name>/best.npz      checkpoint of the epoch with the best validation accuracy
                         (test accuracy when the run has no validation split)
    <name>/final.npz     checkpoint at the end (completed, stopped or diverged: the weights
                         of the last finite update)

Every file is written to a temp file and renamed, so a reader sees the old or the new
version. A directory without a readable ``run.json`` (a half-written run) is listed with
status "incomplete" instead of breaking the listing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import LIVE_FIELDS, TrainConfig, check_field, format_field
from engine.errors import ConfigError, NNFSError
from engine.events import EpochEnded, Event, HyperparametersChanged, RunFinished, RunStarted
from engine.fileio import atomic_write_text, pid_alive, remove_stale_temps

if TYPE_CHECKING:
    from engine.training import Trainer

METRIC_COLUMNS = ("epoch", "epoch_seconds", "train_loss", "train_acc", "val_loss", "val_acc",
                  "test_loss", "test_acc", "lr", "step")
TABLE_COLUMNS = ("name", "architecture", "activation", "optimizer", "learning_rate",
                 "batch_size", "epochs", "best_val_acc", "test_acc", "seconds", "status")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class RunStoreError(NNFSError, ValueError):
    """A run that cannot be found, named or written."""


def default_runs_dir() -> Path:
    """``$NNFS_RUNS_DIR``, else ``$XDG_DATA_HOME/nnfs-tui/runs``, else ~/.local/share/..."""
    if os.environ.get("NNFS_RUNS_DIR"):
        return Path(os.environ["NNFS_RUNS_DIR"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "nnfs-tui" / "runs"


def check_run_name(name: str) -> str:
    """A run name is a single safe path component: letters, digits, '.', '_', '-'."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ConfigError("run name", name, "1-80 letters, digits, '.', '_' or '-', starting "
                          "with a letter or digit (no '/' or '..')")
    return name


def architecture(config: TrainConfig, n_inputs: int = 784, n_classes: int = 10) -> str:
    """'784-256-10' style description of the network."""
    return "-".join(str(s) for s in (n_inputs, *config.hidden_sizes, n_classes))


def _write_atomic(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class RunInfo:
    """What the Runs table shows about one run (from its run.json and config.json)."""

    name: str
    """Directory name, unique in the store."""
    path: Path
    """The run's directory."""
    status: str = "incomplete"
    """running, completed, stopped, diverged, failed (the training code raised),
    interrupted (its process died) or incomplete (unreadable files)."""
    config: TrainConfig | None = None
    """The run's config; None when config.json is missing or invalid."""
    started_at: str = ""
    """ISO time the run started."""
    seconds: float = 0.0
    """Training seconds (pauses excluded)."""
    epochs_completed: int = 0
    """Epochs trained and evaluated."""
    best_val_acc: float | None = None
    """Best validation accuracy (None without a validation split)."""
    best_epoch: int | None = None
    """Epoch of best.npz."""
    test_acc: float | None = None
    """Test accuracy of the final model."""
    reason: str = ""
    """Why a run diverged."""
    architecture: str = ""
    """e.g. 784-256-10."""
    problem: str = ""
    """For incomplete runs: what could not be read."""
    continued_from: int | None = None
    """The step a run that continued a checkpoint started from (None: it trained from its
    first step, so a rerun repeats it)."""
    live_changes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Hyperparameters changed during the run: (step they took effect at, new values); a
    rerun replays them (``Trainer(planned_changes=...)``) to repeat the run exactly."""
    live_change_epochs: dict[int, float] = field(default_factory=dict)
    """Where on the epoch axis each live change took effect: step -> epoch (e.g. 1.6)."""

    def row(self) -> dict[str, Any]:
        """One row of the Runs table / CSV export, keyed by TABLE_COLUMNS."""
        c = self.config
        return {
            "name": self.name, "architecture": self.architecture,
            "activation": c.activation if c else "", "optimizer": c.optimizer if c else "",
            "learning_rate": c.learning_rate if c else None,
            "batch_size": c.batch_size if c else None, "epochs": self.epochs_completed,
            "best_val_acc": self.best_val_acc, "test_acc": self.test_acc,
            "seconds": round(self.seconds, 3), "status": self.status,
        }

    def metrics(self) -> list[dict[str, float | None]]:
        """The per-epoch rows of metrics.csv ([] when missing)."""
        return read_metrics(self.path / "metrics.csv")


def read_metrics(path: Path) -> list[dict[str, float | None]]:
    """Rows of a metrics.csv as floats (empty cells and non-finite values become None)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, float | None] = {}
        for key in METRIC_COLUMNS:
            try:
                value = float(raw.get(key) or "nan")
            except ValueError:
                value = math.nan
            row[key] = value if math.isfinite(value) else None
        rows.append(row)
    return rows


class RunStore:
    """The runs directory: create, list, load, delete and export runs."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_runs_dir()

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"{self.root}: cannot create the runs directory "
                                f"({exc.strerror or exc})") from None

    def new_name(self, config: TrainConfig, prefix: str = "") -> str:
        """A fresh name like ``20261128-131502-784-256-10-adam`` (suffixed when taken)."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{prefix}{stamp}-{'-'.join(map(str, config.hidden_sizes))}-{config.optimizer}"
        name, n = base, 1
        while (self.root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return check_run_name(name)

    def create(self, config: TrainConfig, name: str | None = None) -> RunRecorder:
        """Make the directory of a new run and return the recorder that fills it."""
        self._ensure_root()
        name = self.new_name(config) if name is None else check_run_name(name)
        path = self.root / name
        try:
            path.mkdir()
        except FileExistsError:
            raise RunStoreError(f"run {name!r} already exists in {self.root}") from None
        except OSError as exc:
            raise RunStoreError(f"{path}: cannot create ({exc.strerror or exc})") from None
        return RunRecorder(path, config)

    def path_of(self, name: str) -> Path:
        return self.root / check_run_name(name)

    def list(self) -> list[RunInfo]:
        """Every run, newest first; unreadable ones have status "incomplete"."""
        if not self.root.is_dir():
            return []
        dirs = [p for p in self.root.iterdir() if p.is_dir() and _NAME_RE.match(p.name)]
        for path in dirs:  # leftovers of a process killed mid-write
            remove_stale_temps(path)
        runs = [self.load(p.name) for p in dirs]
        return sorted(runs, key=lambda r: (r.started_at, r.name), reverse=True)

    def load(self, name: str) -> RunInfo:
        """Read one run's files; problems are reported in ``problem``, not raised."""
        path = self.path_of(name)
        if not path.is_dir():
            raise RunStoreError(f"no run named {name!r} in {self.root}")
        info = RunInfo(name=name, path=path)
        try:
            info.config = TrainConfig.from_json((path / "config.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            info.problem = f"config.json: {exc}"
        try:
            meta = json.loads((path / "run.json").read_text("utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            info.problem = info.problem or f"run.json: {exc}"
            return info
        info.status = str(meta.get("status", "incomplete"))
        pid = meta.get("pid")
        if info.status == "running" and isinstance(pid, int) and not pid_alive(pid):
            info.status = "interrupted"  # its process is gone: it crashed or was killed
        info.started_at = str(meta.get("started_at", ""))
        info.seconds = _number(meta.get("seconds")) or 0.0
        info.epochs_completed = int(_number(meta.get("epochs_completed")) or 0)
        info.best_val_acc = _number(meta.get("best_val_acc"))
        best_epoch = _number(meta.get("best_epoch"))
        info.best_epoch = int(best_epoch) if best_epoch is not None else None
        info.test_acc = _number(meta.get("test_acc"))
        info.reason = str(meta.get("reason", ""))
        info.architecture = str(meta.get("architecture", ""))
        info.live_changes = _read_live_changes(meta.get("live_changes"))
        continued = meta.get("continued_from")
        step = continued.get("step") if isinstance(continued, dict) else None
        info.continued_from = step if isinstance(step, int) and step > 0 else None
        info.live_change_epochs = _read_live_change_epochs(meta.get("live_changes"))
        if info.config is None:
            info.status = "incomplete"
        return info

    def delete(self, name: str) -> None:
        """Remove a run's directory and everything in it."""
        path = self.path_of(name)
        if not path.is_dir():
            raise RunStoreError(f"no run named {name!r} in {self.root}")
        shutil.rmtree(path)

    def export_csv(self, path: str | Path, runs: list[RunInfo] | None = None) -> Path:
        """Write the runs table (TABLE_COLUMNS) as CSV; non-finite numbers become empty."""
        runs = self.list() if runs is None else runs
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS)
        writer.writeheader()
        for run in runs:
            writer.writerow({k: ("" if v is None else _finite_or_none(v))
                             for k, v in run.row().items()})
        out = Path(path)
        _write_atomic(out, buf.getvalue())
        return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class RunRecorder:
    """An event handler that writes a run's files as it trains.

    Use it as (or inside) a Trainer's ``on_event`` after :meth:`attach`::

        recorder = store.create(config)
        trainer = Trainer(config, data, on_event=recorder)
        recorder.attach(trainer)
    """

    def __init__(self, path: Path, config: TrainConfig) -> None:
        self.path = path
        self.name = path.name
        self.config = config
        self.trainer: Trainer | None = None
        self.rows: list[dict[str, Any]] = []
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.best_val_acc: float | None = None
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._t0 = time.monotonic()
        self.reason = ""
        """Why the run failed, when it did."""
        self.live_changes: list[dict[str, Any]] = []
        """Hyperparameters changed during the run: step, epoch and the new values."""
        self.continued_from: dict[str, Any] | None = None
        """Where a run that continued a checkpoint started (epoch, step); None for a run
        trained from its first step."""
        self.errors: list[str] = []
        """Messages of writes that failed (the run goes on; the UI may show them)."""
        self._write_config(config)
        self._write_meta("running")

    def attach(self, trainer: Trainer) -> None:
        self.trainer = trainer
        st = trainer.state
        if st.step > 0:  # a checkpoint continued: this record starts part-way
            self.continued_from = {"epoch": st.epoch, "step": st.step,
                                   "epoch_progress": st.epoch + st.position / max(
                                       len(trainer.dataset.x_train), 1)}

    def __call__(self, event: Event) -> None:
        try:
            self.handle(event)
        except NNFSError as exc:  # a full disk must not kill the training thread
            self.errors.append(str(exc))

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.config = event.config
            self._write_config(event.config)
            self._write_meta("running")
        elif isinstance(event, EpochEnded):
            self.rows.append(event.to_dict())
            self._write_metrics()
            score = event.val_acc if event.val_acc is not None else event.test_acc
            if score is not None and math.isfinite(score) and (
                    self.best_score is None or score > self.best_score):
                self.best_score, self.best_epoch = score, event.epoch
                self.best_val_acc = event.val_acc
                if self.trainer is not None:
                    self.trainer.save(self.path / "best.npz")
            self._write_meta("running", epochs=event.epoch)
        elif isinstance(event, HyperparametersChanged):
            self.live_changes.append({"step": event.step, "epoch": event.epoch_progress,
                                      "changes": dict(event.changes)})
            self._write_meta("running", epochs=len(self.rows))
        elif isinstance(event, RunFinished):
            if self.trainer is not None:
                self.trainer.save(self.path / "final.npz")
            self._write_meta(event.status, epochs=event.epochs_completed, finished=event)

    def fail(self, reason: str) -> None:
        """The training thread raised: mark the run "failed" with the reason (its best.npz
        and metrics.csv still hold everything up to the last finished epoch)."""
        self.reason = reason
        try:
            self._write_meta("failed", epochs=len(self.rows))
        except NNFSError as exc:
            self.errors.append(str(exc))

    def _write_config(self, config: TrainConfig) -> None:
        _write_atomic(self.path / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")

    def _write_metrics(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if row.get(k) is None else _finite_or_none(row.get(k)))
                             for k in METRIC_COLUMNS})
        _write_atomic(self.path / "metrics.csv", buf.getvalue())

    def _write_meta(self, status: str, *, epochs: int = 0,
                    finished: RunFinished | None = None) -> None:
        n_in = self.trainer.dataset.n_features if self.trainer else 784
        n_out = self.trainer.dataset.n_classes if self.trainer else 10
        last = self.rows[-1] if self.rows else {}
        meta = {
            "name": self.name,
            "status": status,
            "started_at": self.started_at,
            "seconds": finished.seconds if finished else (
                self.trainer.state.elapsed if self.trainer else 0.0),
            "wall_seconds": time.monotonic() - self._t0,
            "epochs_completed": epochs,
            "architecture": architecture(self.config, n_in, n_out),
            "best_val_acc": self.best_val_acc,
            "best_epoch": self.best_epoch,
            "test_acc": finished.test_acc if finished else last.get("test_acc"),
            "reason": finished.reason if finished else self.reason,
            "live_changes": self.live_changes,
            "continued_from": self.continued_from,
            "pid": os.getpid(),
        }
        if finished:
            meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        clean = {k: _finite_or_none(v) for k, v in meta.items()}
        _write_atomic(self.path / "run.json", json.dumps(clean, indent=2) + "\n")


@dataclass(frozen=True)
class LiveChange:
    """Hyperparameters a run changed while it trained (as recorded in run.json)."""

    step: int
    """The first update that used the new values."""
    epoch: float | None
    """Where that was on the epoch axis (None when run.json does not say)."""
    changes: dict[str, Any]
    """Field name to new value."""

    def describe(self) -> str:
        """e.g. ``learning_rate → 0.5 at step 301 (epoch 1.6)``."""
        values = ", ".join(f"{name} → {_format_value(name, value)}"
                           for name, value in self.changes.items())
        where = f"step {self.step}" + ("" if self.epoch is None else f" (epoch {self.epoch:.1f})")
        return f"{values} at {where}"


def live_changes_of(run: RunInfo) -> tuple[LiveChange, ...]:
    """The run's live changes, in order, with the epoch each took effect at."""
    return tuple(LiveChange(step, run.live_change_epochs.get(step), dict(changes))
                 for step, changes in run.live_changes)


@dataclass
class ConfigDiff:
    """How two runs' settings differ: the config fields they started with, and the
    hyperparameters changed by hand while they trained (which a rerun replays)."""

    left: str
    """The first run's name."""
    right: str
    """The second run's name."""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Config field -> (left value, right value), for the fields that differ."""
    left_live: tuple[LiveChange, ...] = ()
    """The first run's live changes (all of them, whether or not they differ)."""
    right_live: tuple[LiveChange, ...] = ()
    """The second run's live changes."""

    @property
    def live_changes_differ(self) -> bool:
        """True when the runs changed different values, or at different steps."""
        def key(live: tuple[LiveChange, ...]) -> list[tuple[int, dict[str, Any]]]:
            return [(c.step, c.changes) for c in live]
        return key(self.left_live) != key(self.right_live)

    @property
    def identical(self) -> bool:
        """Same config and same live changes: same seed, same result."""
        return not self.changes and not self.live_changes_differ

    def summary(self) -> str:
        """One line: "1 field differs", "2 fields and the live changes differ", ..."""
        n = len(self.changes)
        fields = f"{n} config field{'s' * (n != 1)}"
        if self.live_changes_differ:
            return (f"{fields} and the live changes differ" if n
                    else "The configs are the same; the live changes differ")
        if not n:
            return "Identical: same config, same live changes"
        return f"{fields} differ{'s' * (n == 1)}"


def diff_configs(a: RunInfo, b: RunInfo) -> ConfigDiff:
    """How two runs' settings differ: config fields (name → (a's value, b's value)) and the
    live changes of each run."""
    da = a.config.to_dict() if a.config else {}
    db = b.config.to_dict() if b.config else {}
    changes = {k: (da.get(k), db.get(k)) for k in sorted(set(da) | set(db))
               if da.get(k) != db.get(k)}
    return ConfigDiff(a.name, b.name, changes, live_changes_of(a), live_changes_of(b))


def _format_value(name: str, value: Any) -> str:
    try:
        return format_field(name, value) or str(value)
    except (TypeError, ValueError):
        return str(value)


def _read_live_change_epochs(raw: Any) -> dict[int, float]:
    """step -> epoch of run.json's live_changes (entries without a finite epoch left out)."""
    out: dict[int, float] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        step, epoch = entry.get("step"), _number(entry.get("epoch"))
        if isinstance(step, int) and not isinstance(step, bool) and epoch is not None:
            out[step] = epoch
    return out


def _read_live_changes(raw: Any) -> list[tuple[int, dict[str, Any]]]:
    """The (step, changes) of run.json's live_changes; entries that do not check out (an
    unknown or fixed field, a bad value) are left out rather than replayed wrongly."""
    out: list[tuple[int, dict[str, Any]]] = []
    for entry in raw if isinstance(raw, list) else []:
        try:
            step, changes = entry["step"], entry["changes"]
            if not (isinstance(step, int) and step >= 1 and isinstance(changes, dict) and changes
                    and all(k in LIVE_FIELDS for k in changes)):
                continue
            out.append((step, {k: check_field(k, v) for k, v in changes.items()}))
        except (KeyError, TypeError, ValueError):
            continue
    return out
