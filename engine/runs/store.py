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
version. A directory without a ``run.json`` (a half-written run) is listed with status
"incomplete"; one whose files cannot be trusted (not regular files, links out of the store,
too large, not UTF-8, nested too deeply, absurd values) with status "unreadable" and the
reason. Either way the rest of the listing works: every read here is bounded and total.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import LIVE_FIELDS, MAX_EPOCHS, TrainConfig, check_field
from engine.errors import ConfigError, NNFSError
from engine.events import LiveChange
from engine.fileio import (
    RefusedFile,
    atomic_write_text,
    parse_json,
    pid_alive,
    process_start_time,
    read_bounded,
    remove_stale_temps,
)
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
#: Size caps of a run's files: far above what a run of MAX_EPOCHS epochs writes.
MAX_RUN_JSON_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 64 * 1024
MAX_METRICS_BYTES = 8 * 1024 * 1024
STATUSES = ("running", "completed", "stopped", "diverged", "pruned", "failed", "interrupted",
            "incomplete", "unreadable")
#: The statuses a run.json may hold (the last two above are what the reader concludes).
RECORDED_STATUSES = STATUSES[:-2]


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
    stopped), incomplete (run.json missing) or unreadable (a file that cannot be trusted;
    ``problem`` says why)."""
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
    """For incomplete and unreadable runs: what could not be read, and why."""
    notes: tuple[str, ...] = ()
    """What went wrong while it was recorded (a checkpoint a full disk refused)."""
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
    """Rows of a metrics.csv as floats (empty cells, non-finite and absurd values become
    None). A file that is missing or cannot be trusted (see :func:`engine.fileio.
    read_bounded`), binary or not UTF-8 reads as no rows: this never raises or blocks."""
    try:
        text = read_bounded(path, MAX_METRICS_BYTES, inside=path.parent).decode("utf-8")
        raws = list(csv.DictReader(io.StringIO(text)))
    except (OSError, ValueError, csv.Error):  # RefusedFile and UnicodeDecodeError included
        return []
    rows = []
    for raw in raws:
        row: dict[str, float | None] = {}
        for key in METRIC_COLUMNS:
            cell = raw.get(key)
            try:
                value = float(cell) if isinstance(cell, str) and cell.isascii() else math.nan
            except ValueError:
                value = math.nan
            row[key] = value if math.isfinite(value) and abs(value) <= 1e15 else None
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
               save_model: Callable[[Path], object] | None = None,
               prefix: str = "") -> RunRecorder:
        """Make the directory of a new run and return the recorder that fills it. Without a
        ``name`` a fresh one is made (``prefix`` first), safe against other writers."""
        self._ensure_root()
        if name is None:
            path = self._make_fresh_dir(config, prefix)
        else:
            path = self.root / check_run_name(name)
            try:
                path.mkdir()
            except FileExistsError:
                raise RunStoreError(f"run {name!r} already exists in {self.root}") from None
            except OSError as exc:
                raise RunStoreError(f"{path}: cannot create ({exc.strerror or exc})") from None
        from engine.runs.recorder import RunRecorder  # it writes with this module's helpers

        return RunRecorder(path, config, save_model)

    def _make_fresh_dir(self, config: TrainConfig, prefix: str = "") -> Path:
        """Make the directory of a new run under a fresh name. mkdir is atomic, so two
        processes (or sweep workers) that pick the same name at once never share it: the
        one that loses takes the next suffix."""
        for _ in range(1000):
            path = self.root / self.new_name(config, prefix)
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue
            except OSError as exc:
                raise RunStoreError(f"{path}: cannot create ({exc.strerror or exc})") from None
        raise RunStoreError(f"{self.root}: no free run name after 1000 tries")

    def path_of(self, name: str) -> Path:
        """The directory of the run called ``name`` (checked to be a safe name)."""
        return self.root / check_run_name(name)

    def list(self) -> list[RunInfo]:
        """Every run, newest first; ones that cannot be read are listed with status
        "incomplete" or "unreadable" and the reason. A runs directory that cannot itself be
        read raises one RunStoreError."""
        if not self.root.is_dir():
            return []
        try:
            dirs = [p for p in self.root.iterdir() if _NAME_RE.match(p.name)
                    and p.name != SWEEPS_DIR and p.is_dir()]
        except OSError as exc:
            raise RunStoreError(f"{self.root}: cannot read the runs directory "
                                f"({exc.strerror or exc})") from None
        runs = []
        for path in dirs:
            if self._inside(path):
                remove_stale_temps(path)  # leftovers of a process killed mid-write
            runs.append(self.load(path.name))
        return sorted(runs, key=lambda r: (r.started_at, r.name), reverse=True)

    def _inside(self, path: Path) -> bool:
        """True when ``path`` (through any symlink) is a directory of this store."""
        root = os.path.realpath(self.root)
        return os.path.dirname(os.path.realpath(path)) == root

    def load(self, name: str) -> RunInfo:
        """Read one run's files; problems are reported in ``status`` and ``problem``, never
        raised (only a name that is not a run is an error)."""
        path = self.path_of(name)
        if not path.is_dir():
            raise RunStoreError(f"no run named {name!r} in {self.root}")
        info = RunInfo(name=name, path=path)
        if not self._inside(path):
            return _unreadable(info, "the run's folder links outside the runs directory")
        try:
            config_bytes = read_bounded(path / "config.json", MAX_CONFIG_BYTES, inside=path)
        except FileNotFoundError:
            config_bytes, info.problem = None, "config.json: missing"
        except (OSError, RefusedFile) as exc:
            return _unreadable(info, f"config.json: {_why(exc)}")
        if config_bytes is not None:
            try:
                info.config = TrainConfig.from_dict(parse_json(config_bytes, "the JSON"))
            except (ValueError, TypeError) as exc:  # RefusedFile and ConfigError included
                info.problem = f"config.json: {str(exc)[:200]}"
        try:
            run_bytes = read_bounded(path / "run.json", MAX_RUN_JSON_BYTES, inside=path)
        except FileNotFoundError:
            info.problem = info.problem or "run.json: missing"
            return info
        except (OSError, RefusedFile) as exc:
            return _unreadable(info, f"run.json: {_why(exc)}")
        try:
            meta = parse_json(run_bytes, "the JSON")
            if not isinstance(meta, dict):
                raise RefusedFile("not a JSON object")
        except RefusedFile as exc:  # e.g. cut short: listed as incomplete, as before
            info.problem = info.problem or f"run.json: {exc}"
            return info
        try:
            _read_run_json(info, meta)
        except RefusedFile as exc:
            return _unreadable(info, f"run.json: {exc}")
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


def _why(exc: BaseException) -> str:
    """The reason of a failed read, in a few words."""
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return str(exc)[:200]


def _unreadable(info: RunInfo, problem: str) -> RunInfo:
    """``info`` marked unreadable, with nothing from the untrusted files but the reason."""
    return RunInfo(name=info.name, path=info.path, status="unreadable", problem=problem)


def _checked(meta: dict[str, Any], key: str, low: float, high: float,
             default: float | None) -> float | None:
    """A number of run.json within [low, high]; ``default`` when absent, null, NaN or
    infinite. A wrong type or an absurd value (1e308 epochs, a 400-digit integer) is
    refused."""
    raw = meta.get(key)
    if raw is None or isinstance(raw, float) and not math.isfinite(raw):
        return default  # a diverged run's NaN: shown as "-"
    value = finite_number(raw)
    if value is None or not low <= value <= high:
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + "..."
        raise RefusedFile(f"{key} is {shown}, expected a number from {low:g} to {high:g}")
    return value


def _text(meta: dict[str, Any], key: str, limit: int = 1000) -> str:
    raw = meta.get(key, "")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise RefusedFile(f"{key} is not text")
    return raw[:limit]


def _read_run_json(info: RunInfo, meta: dict[str, Any]) -> None:
    """Fill ``info`` from a parsed run.json, every value checked (RefusedFile otherwise)."""
    status = meta.get("status")
    if status not in RECORDED_STATUSES:  # incomplete and unreadable are the reader's words
        raise RefusedFile(f"status {str(status)[:40]!r} is not one of "
                          + ", ".join(RECORDED_STATUSES))
    info.status = status
    if status == "running" and not _still_running(meta.get("pid"), meta.get("pid_started")):
        info.status = "interrupted"  # its process is gone: it crashed or was killed
    info.started_at = _text(meta, "started_at", 40)
    info.seconds = _checked(meta, "seconds", 0, 1e10, 0.0) or 0.0
    info.epochs_completed = int(_checked(meta, "epochs_completed", 0, MAX_EPOCHS, 0) or 0)
    info.best_val_acc = _checked(meta, "best_val_acc", 0, 1, None)
    best_epoch = _checked(meta, "best_epoch", 0, MAX_EPOCHS, None)
    info.best_epoch = int(best_epoch) if best_epoch is not None else None
    info.test_acc = _checked(meta, "test_acc", 0, 1, None)
    info.reason = _text(meta, "reason")
    info.architecture = _text(meta, "architecture", 200)
    info.live_changes = read_live_changes(meta.get("live_changes"))
    notes = meta.get("notes")
    info.notes = tuple(n[:300] for n in notes[:10] if isinstance(n, str)) \
        if isinstance(notes, list) else ()
    continued = meta.get("continued_from")
    step = continued.get("step") if isinstance(continued, dict) else None
    info.continued_from = step if isinstance(step, int) and 0 < step < 2 ** 53 else None


def _still_running(pid: Any, started: Any) -> bool:
    """Whether the process that wrote a "running" record is still that process: its pid
    is alive and (when the record has it) started when the record says, so a pid reused
    by another process is not taken for the run."""
    if isinstance(pid, bool) or not isinstance(pid, int) or not pid_alive(pid):
        return False
    now = process_start_time(pid)
    if finite_number(started) is None or now is None:
        return True
    return abs(now - float(started)) < 2.0


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
        if not (isinstance(step, int) and not isinstance(step, bool) and 1 <= step < 2 ** 53):
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
