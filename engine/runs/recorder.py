"""RunRecorder: the event handler that writes a run's files while it trains.

:meth:`RunStore.create <engine.runs.store.RunStore.create>` makes the run's directory and
returns its recorder; the files it writes are described in :mod:`engine.runs.store`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config import TrainConfig, architecture
from engine.errors import NNFSError
from engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    HyperparametersChanged,
    LiveChange,
    RunFinished,
    RunStarted,
)
from engine.fileio import process_start_time
from engine.numbers import finite_or_none as _finite_or_none
from engine.runs.store import METRIC_COLUMNS, _write_atomic
from engine.runs.store import score as score_of

_started: dict[int, float | None] = {}


def _pid_started() -> float | None:
    """This process's start time (looked up once per pid, so a forked worker has its own):
    with the pid, it tells a live run from one whose pid was reused."""
    pid = os.getpid()
    if pid not in _started:
        _started[pid] = process_start_time(pid)
    return _started[pid]


class RunRecorder:
    """An event handler that writes a run's files as it trains, from the events alone.

    A :class:`~engine.session.RunSession` makes one per recorded run and hands it every
    event; ``save_model`` (given by that owner) writes best.npz and final.npz::

        recorder = store.create(config, save_model=session.save)
    """

    def __init__(self, path: Path, config: TrainConfig,
                 save_model: Callable[[Path], object] | None = None) -> None:
        self.path = path
        self.name = path.name
        self.config = config
        self.save_model = save_model
        """Writes the model as it stands to a path (None: no checkpoints are written)."""
        self.rows: list[dict[str, Any]] = []
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.best_val_acc: float | None = None
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._t0 = time.monotonic()
        self._sizes = (784, 10)
        self.elapsed = 0.0
        """Training seconds so far (pauses excluded), from the events."""
        self.reason = ""
        """Why the run failed, when it did."""
        self.live_changes: list[LiveChange] = []
        """Hyperparameters changed during the run, with the step and epoch of each."""
        self.continued_from: dict[str, Any] | None = None
        """Where a run that continued a checkpoint started (epoch, step); None for a run
        trained from its first step."""
        self.errors: list[str] = []
        """Messages of writes that failed (the run goes on; the UI may show them)."""
        self.notes: list[str] = []
        """Checkpoints that could not be written, as run.json's ``notes`` say."""
        self._write_config(config)
        self._write_meta("running")

    def __call__(self, event: Event) -> None:
        try:
            self.handle(event)
        except NNFSError as exc:  # a full disk must not kill the training thread
            self.errors.append(str(exc))

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.config = event.config
            self._sizes = (event.n_features, event.n_classes)
            self.rows = [dict(h) for h in event.history]
            if event.start_step > 0:  # a checkpoint continued: this record starts part-way
                self.continued_from = {"epoch": event.start_epoch, "step": event.start_step,
                                       "epoch_progress": event.start_epoch_progress}
            self._write_config(event.config)
            self._write_meta("running", epochs=event.start_epoch)
        elif isinstance(event, BatchEnded):
            self.elapsed = event.elapsed
        elif isinstance(event, EpochEnded):
            self.rows.append(event.to_dict())
            self._write_metrics()
            score = score_of(event.val_acc, event.test_acc)
            if score is not None and (self.best_score is None or score > self.best_score):
                self.best_score, self.best_epoch = score, event.epoch
                self.best_val_acc = event.val_acc
                self._save("best.npz")
            self._write_meta("running", epochs=event.epoch)
        elif isinstance(event, HyperparametersChanged):
            self.live_changes.extend(event.changes)
            self._write_meta("running", epochs=len(self.rows))
        elif isinstance(event, RunFinished):
            self.elapsed = event.seconds
            self._save("final.npz")
            self._write_meta(event.status, epochs=event.epochs_completed, finished=event)

    def _save(self, file: str) -> None:
        """Write a checkpoint of the run; a failure (a full disk) is noted in run.json and
        in ``errors``, and the record goes on being written."""
        if self.save_model is None:
            return
        try:
            self.save_model(self.path / file)
        except NNFSError as exc:
            self.errors.append(str(exc))
            self.notes.append(f"{file} could not be written: {getattr(exc, 'problem', exc)}")

    def fail(self, reason: str) -> None:
        """The training thread raised: mark the run "failed" with the reason (its best.npz
        and metrics.csv still hold everything up to the last finished epoch)."""
        self.reason = reason
        try:
            self._write_meta("failed", epochs=len(self.rows))
        except NNFSError as exc:
            self.errors.append(str(exc))

    def interrupt(self, reason: str) -> None:
        """The run ended without a RunFinished (its sweep was stopped, or its worker or
        cluster went away): mark it "interrupted" with the reason; a resumed sweep goes on
        from its last finished epoch."""
        self.reason = reason
        try:
            self._write_meta("interrupted", epochs=len(self.rows))
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
        last = self.rows[-1] if self.rows else {}
        meta = {
            "name": self.name,
            "status": status,
            "started_at": self.started_at,
            "seconds": finished.seconds if finished else self.elapsed,
            "wall_seconds": time.monotonic() - self._t0,
            "epochs_completed": epochs,
            "architecture": architecture(self.config, *self._sizes),
            "best_val_acc": self.best_val_acc,
            "best_epoch": self.best_epoch,
            "test_acc": finished.test_acc if finished else last.get("test_acc"),
            "reason": finished.reason if finished else self.reason,
            "live_changes": [c.to_dict() for c in self.live_changes],
            "continued_from": self.continued_from,
            "notes": self.notes[-10:],
            "pid": os.getpid(),
            "pid_started": _pid_started(),
        }
        if finished:
            meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        clean = {k: _finite_or_none(v) for k, v in meta.items()}
        _write_atomic(self.path / "run.json", json.dumps(clean, indent=2) + "\n")
