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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import LIVE_FIELDS, TrainConfig, check_field
from engine.errors import ConfigError, NNFSError
from engine.events import LiveChange
from engine.fileio import atomic_write_text, pid_alive, remove_stale_temps
from engine.numbers import finite_number, finite_or_none

if TYPE_CHECKING:
    from engine.runs.recorder import RunRecorder

METRIC_COLUMNS = ("epoch", "epoch_seconds", "train_loss", "train_acc", "val_loss", "val_acc",
                  "test_loss", "test_acc", "lr", "step")
TABLE_COLUMNS = ("name", "architecture", "activation", "optimizer", "learning_rate",
                 "batch_size", "epochs", "best_val_acc", "test_acc", "seconds", "status")
SWEEPS_DIR = "sweeps"
"""The folder of sweep records (``sweeps/<name>/sweep.json``): not a run, never listed."""
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
    if (not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name
            or name == SWEEPS_DIR):
        raise ConfigError("run name", name, "1-80 letters, digits, '.', '_' or '-', starting "
                          "with a letter or digit (no '/' or '..')")
    return name


def _write_atomic(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot write ({exc.strerror or exc})") from None


def score(best_val_acc: float | None, test_acc: float | None) -> float | None:
    """How good a run (or an epoch) is: the validation accuracy, else (no validation split)
    the test accuracy; None when that is missing or not finite."""
    return finite_or_none(best_val_acc if best_val_acc is not None else test_acc)


@dataclass
class RunInfo:
    """What the Runs table shows about one run (from its run.json and config.json)."""

    name: str
    """Directory name, unique in the store."""
    path: Path
    """The run's directory."""
    status: str = "incomplete"
    """running, completed, stopped, diverged, pruned (a sweep stopped it as hopeless),
    failed (the training code raised), interrupted (its process died, or its sweep was
    stopped) or incomplete (unreadable files)."""
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
    live_changes: tuple[LiveChange, ...] = ()
    """Hyperparameters changed during the run, each with the step and epoch it took effect
    at; a rerun replays them (``RunSession(planned_changes=...)``) to repeat the run."""

    @property
    def score(self) -> float | None:
        """Best validation accuracy, else test accuracy (see :func:`score`)."""
        return score(self.best_val_acc, self.test_acc)

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

    def create(self, config: TrainConfig, name: str | None = None, *,
               save_model: Callable[[Path], object] | None = None) -> RunRecorder:
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
        from engine.runs.recorder import RunRecorder  # it writes with this module's helpers

        return RunRecorder(path, config, save_model)

    def path_of(self, name: str) -> Path:
        """The directory of the run called ``name`` (checked to be a safe name)."""
        return self.root / check_run_name(name)

    def list(self) -> list[RunInfo]:
        """Every run, newest first; unreadable ones have status "incomplete"."""
        if not self.root.is_dir():
            return []
        dirs = [p for p in self.root.iterdir() if p.is_dir() and _NAME_RE.match(p.name)
                and p.name != SWEEPS_DIR]
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
        info.seconds = finite_number(meta.get("seconds")) or 0.0
        info.epochs_completed = int(finite_number(meta.get("epochs_completed")) or 0)
        info.best_val_acc = finite_number(meta.get("best_val_acc"))
        best_epoch = finite_number(meta.get("best_epoch"))
        info.best_epoch = int(best_epoch) if best_epoch is not None else None
        info.test_acc = finite_number(meta.get("test_acc"))
        info.reason = str(meta.get("reason", ""))
        info.architecture = str(meta.get("architecture", ""))
        info.live_changes = read_live_changes(meta.get("live_changes"))
        continued = meta.get("continued_from")
        step = continued.get("step") if isinstance(continued, dict) else None
        info.continued_from = step if isinstance(step, int) and step > 0 else None
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
            writer.writerow({k: ("" if v is None else finite_or_none(v))
                             for k, v in run.row().items()})
        out = Path(path)
        _write_atomic(out, buf.getvalue())
        return out


def read_live_changes(raw: Any) -> tuple[LiveChange, ...]:
    """run.json's live_changes as LiveChange values, in order. Entries that do not check
    out (an unknown or fixed field, a bad value, no step) are left out rather than replayed
    wrongly. Reads both ``{"field", "value", "step", "epoch"}`` and the earlier grouped
    ``{"step", "epoch", "changes": {field: value}}``."""
    out: list[LiveChange] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        step, epoch = entry.get("step"), finite_number(entry.get("epoch"))
        if not (isinstance(step, int) and not isinstance(step, bool) and step >= 1):
            continue
        if "field" in entry:
            pairs = [(entry.get("field"), entry.get("value"))]
        elif isinstance(entry.get("changes"), dict):
            pairs = list(entry["changes"].items())
        else:
            continue
        checked = []
        try:
            for name, value in pairs:
                if name not in LIVE_FIELDS:
                    raise ValueError(name)
                checked.append(LiveChange(name, check_field(name, value), step, epoch))
        except (TypeError, ValueError):
            continue
        out.extend(checked)
    return tuple(out)
