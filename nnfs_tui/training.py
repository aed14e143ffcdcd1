"""The app's side of a training run, split by thread.

- :class:`RunControl` is the UI thread's handle on one run: pause, resume, stop and live
  changes work before the worker has built the Trainer (they are replayed onto it) and after.
- :class:`EventRelay` runs in the training thread as the Trainer's ``on_event``: it smooths
  and thins the batch losses, throttles what it posts (the app asks for four progress
  messages a second) and coalesces epochs that end faster than that, and hands the app the
  test-set guesses of each epoch's evaluation (a copy of the model when a run stops
  mid-epoch, which the app predicts with in another thread).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from textual.message import Message

from engine import events as ev
from engine.config import TrainConfig
from engine.data import Dataset
from engine.runs import RunRecorder
from engine.training import Trainer
from nnfs_tui import messages as msg

#: Smoothed-loss points kept per epoch at most (more would not show at terminal resolution).
POINTS_PER_EPOCH = 50


class RunControl:
    """Controls for one run, safe to call from the UI thread at any time."""

    def __init__(self, run_id: int, config: TrainConfig) -> None:
        self.id: int = run_id
        """1 for the app's first run, then 2, 3, ..."""
        self.config: TrainConfig = config
        """The config the run was started with."""
        self.trainer: Trainer | None = None
        """The engine's Trainer, once the worker has built it."""
        self.recorder: RunRecorder | None = None
        """Writes the run into the run store (None when recording is off or failed)."""
        self.resume_from: Trainer | None = None
        """A Trainer restored from a checkpoint, to continue instead of building a new one."""
        self.planned_changes: list[tuple[int, dict[str, Any]]] = []
        """Live changes to make before given steps (a rerun replays its run's changes)."""
        self.thread_done: threading.Event | None = None
        """Set once the run's training thread has returned (its final checkpoint is on disk);
        None when no thread was started for it (a checkpoint opened for inspection)."""
        self._lock = threading.Lock()
        self._stop = False
        self._paused = False
        self._pending: dict[str, Any] = {}

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def attach(self, trainer: Trainer) -> bool:
        """Called by the worker once the Trainer exists; False when the run was stopped."""
        with self._lock:
            self.trainer = trainer
            if self._pending:
                trainer.set_hyperparameters(**self._pending)
                self._pending.clear()
            if self._paused:
                trainer.pause()
            return not self._stop

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            if self.trainer is not None:
                self.trainer.stop()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self.trainer is not None:
                self.trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self.trainer is not None:
                self.trainer.resume()

    def set_hyperparameters(self, **changes: Any) -> None:
        """Apply live changes at the next batch; raises ConfigError for a refused value."""
        with self._lock:
            if self.trainer is not None:
                self.trainer.set_hyperparameters(**changes)
            else:
                self.config.replace(**changes)  # check them now, apply once built
                self._pending.update(changes)


class EventRelay:
    """The Trainer's ``on_event``: engine events in, app messages out (training thread).

    The Trainer reports every batch (``batch_event_interval=0``) so the smoothed loss sees
    every batch. The relay posts at most once every ``interval`` seconds what has happened
    since: the newest batch, then every epoch that ended (metrics and loss points, in one
    :class:`~nnfs_tui.messages.EpochsEnded`), their layer statistics and the newest epoch's
    test-set guesses. So a run of tiny one-batch epochs (hundreds a second) costs the UI
    thread a few messages a second, and the plots still get every epoch. An epoch that ends
    ``interval`` or more after the last one went out is posted at once, with its last batch.
    Everything held back goes out before a live change, a pause, a resume or the end.
    """

    def __init__(
        self,
        run_id: int,
        post: Callable[[Message], object],
        dataset: Dataset,
        *,
        interval: float = 0.1,
        cancelled: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.post = post
        self.dataset = dataset
        self.interval = interval
        self.cancelled = cancelled
        self.clock = clock
        self.trainer: Trainer | None = None
        """Set before ``run()``: the relay copies its network for the digit viewer."""
        self._ema = 0.0
        self._ema_weight = 0.0
        self._points: list[msg.Point] = []
        self._next_point = 0.0
        self._last_post = -math.inf
        self._last_epoch_post = -math.inf
        self._snapshot_step = -1
        # held back until the next post
        self._batch: ev.BatchEnded | None = None
        self._epochs: list[ev.EpochEnded] = []
        self._epoch_points: list[msg.Point] = []
        self._ended_points: tuple[msg.Point, ...] = ()  # of the latest epoch that ended
        self._stats: list[ev.LayerStats] = []
        self._guesses: tuple[ev.EpochEnded, np.ndarray] | None = None

    def __call__(self, event: ev.Event) -> None:
        if self.cancelled() and self.trainer is not None:
            self.trainer.stop()
        if isinstance(event, ev.BatchEnded):
            self._on_batch(event)
        elif isinstance(event, ev.EpochEnded):
            self._epochs.append(event)
            self._epoch_points.extend(self._points)
            self._ended_points = tuple(self._points)
            self._points = []
            self._next_point = float(event.epoch)
            probs = self.trainer.test_probs if self.trainer is not None else None
            if probs is None:
                self._post_snapshot(event.epoch, event.step)
            else:  # the trainer's array of this epoch (read-only; the next is a new one)
                self._guesses = (event, probs)
        elif isinstance(event, ev.LayerStats):
            # the trainer reports an epoch's layer stats right after the epoch itself
            self._stats.append(event)
            if self.clock() - self._last_epoch_post >= self.interval:
                self.flush()
        elif isinstance(event, ev.RunStarted):
            self.post(msg.RunStarted(self.run_id, event, self.dataset.name))
        elif isinstance(event, ev.HyperparametersChanged):
            self.flush()
            self.post(msg.HyperparametersChanged(self.run_id, event))
        elif isinstance(event, ev.Paused):
            self.flush()
            self.post(msg.Paused(self.run_id, event))
        elif isinstance(event, ev.Resumed):
            self.flush()
            self.post(msg.Resumed(self.run_id, event))
        elif isinstance(event, ev.RunFinished):
            self.flush()
            trainer = self.trainer
            if (event.status != "diverged" and trainer is not None
                    and event.step != self._snapshot_step):
                # stopped mid-epoch: the model as it stands (a diverged one's guesses would
                # mean nothing)
                self._post_snapshot(trainer.state.epoch, event.step)
            self.post(msg.RunFinished(self.run_id, event))

    def _on_batch(self, event: ev.BatchEnded) -> None:
        x = event.epoch_progress
        if math.isfinite(event.loss):
            # exponential moving average over about a tenth of an epoch, bias-corrected
            window = max(1.0, event.batches_per_epoch / 10)
            beta = 1.0 - 1.0 / window
            self._ema = beta * self._ema + (1.0 - beta) * event.loss
            self._ema_weight = beta * self._ema_weight + (1.0 - beta)
            last = event.batch == event.batches_per_epoch
            if x >= self._next_point or last:
                self._points.append((x, self._ema / self._ema_weight))
                self._next_point = x + 1.0 / POINTS_PER_EPOCH
        self._batch = event
        if self.clock() - self._last_post >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Post everything held back, in the order it happened."""
        now = self.clock()
        batch, self._batch = self._batch, None
        epochs, self._epochs = self._epochs, []
        stats, self._stats = self._stats, []
        guesses, self._guesses = self._guesses, None
        if batch is None and not epochs:
            return
        self._last_post = now
        if batch is not None and (not epochs or batch.epoch <= epochs[-1].epoch):
            # the last batch of an ended epoch goes before the epoch
            points = self._ended_points if epochs else tuple(self._points)
            self.post(msg.BatchEnded(self.run_id, batch, points))
            batch = None
        if epochs:
            self._last_epoch_post = now
            self.post(msg.EpochsEnded(self.run_id, tuple(epochs), tuple(self._epoch_points)))
            self._epoch_points = []
        if stats:
            self.post(msg.LayerStatsReady(self.run_id, tuple(stats)))
        if guesses is not None:
            self._post_predictions(*guesses)
        if batch is not None:  # a batch of the epoch under way
            self.post(msg.BatchEnded(self.run_id, batch, tuple(self._points)))

    def _post_predictions(self, event: ev.EpochEnded, probs: np.ndarray) -> None:
        """The epoch's guesses for the test set, from the evaluation the trainer ran at its
        end: no second pass over the test images competes with training for the CPU."""
        if self.cancelled():
            return
        self._snapshot_step = event.step
        self.post(msg.PredictionsReady(self.run_id, event.epoch, probs.argmax(axis=1), probs))

    def _post_snapshot(self, epoch: int, step: int) -> None:
        if self.trainer is None or self.cancelled():
            return
        self._snapshot_step = step
        self.post(msg.ModelSnapshot(self.run_id, epoch, step, msg.snapshot(self.trainer.network),
                                    self.dataset.x_test))
