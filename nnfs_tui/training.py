"""Engine events in, app messages out: the :class:`EventRelay` runs in the training thread
as a :class:`~engine.session.RunSession`'s ``on_event``. It smooths and thins the batch
losses, throttles what it posts (the app asks for four progress messages a second) and
coalesces epochs that end faster than that, and hands the screen the test-set guesses of
each epoch's evaluation (a copy of the model when a run stops mid-epoch, which the app
predicts with in another thread). It reads the model only through the session's
:meth:`~engine.session.RunSession.snapshot`, taken under the trainer's lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from textual.message import Message

from engine import events as ev
from engine.data import Dataset
from engine.training import ModelSnapshot
from nnfs_tui import messages as msg

#: Smoothed-loss points kept per epoch at most (more would not show at terminal resolution).
POINTS_PER_EPOCH = 50


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
        run: str,
        post: Callable[[Message], object],
        dataset: Dataset,
        *,
        snapshot: Callable[..., ModelSnapshot | None] = lambda **_: None,
        stop: Callable[[], object] = lambda: None,
        interval: float = 0.1,
        cancelled: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``snapshot`` is the session's (a consistent copy of the model); ``stop`` ends the
        run once ``cancelled`` says the worker was cancelled."""
        self.run = run
        self.post = post
        self.dataset = dataset
        self.snapshot = snapshot
        self.stop = stop
        self.interval = interval
        self.cancelled = cancelled
        self.clock = clock
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
        if self.cancelled():
            self.stop()
        if isinstance(event, ev.BatchEnded):
            self._on_batch(event)
        elif isinstance(event, ev.EpochEnded):
            self._epochs.append(event)
            self._epoch_points.extend(self._points)
            self._ended_points = tuple(self._points)
            self._points = []
            self._next_point = float(event.epoch)
            snap = self.snapshot(weights=False)
            if snap is None or snap.test_probs is None:
                self._post_snapshot()
            else:  # the trainer's array of this epoch (read-only; the next is a new one)
                self._guesses = (event, snap.test_probs)
        elif isinstance(event, ev.LayerStats):
            # the trainer reports an epoch's layer stats right after the epoch itself
            self._stats.append(event)
            if self.clock() - self._last_epoch_post >= self.interval:
                self.flush()
        elif isinstance(event, ev.RunStarted):
            self.post(msg.RunStarted(self.run, event, self.dataset.name))
        elif isinstance(event, ev.HyperparametersChanged):
            self.flush()
            self.post(msg.HyperparametersChanged(self.run, event))
        elif isinstance(event, ev.Paused):
            self.flush()
            self.post(msg.Paused(self.run, event))
        elif isinstance(event, ev.Resumed):
            self.flush()
            self.post(msg.Resumed(self.run, event))
        elif isinstance(event, ev.RunFinished):
            self.flush()
            if event.status != "diverged" and event.step != self._snapshot_step:
                # stopped mid-epoch: the model as it stands (a diverged one's guesses would
                # mean nothing)
                self._post_snapshot()
            self.post(msg.RunFinished(self.run, event))

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
            self.post(msg.BatchEnded(self.run, batch, points))
            batch = None
        if epochs:
            self._last_epoch_post = now
            self.post(msg.EpochsEnded(self.run, tuple(epochs), tuple(self._epoch_points)))
            self._epoch_points = []
        if stats:
            self.post(msg.LayerStatsReady(self.run, tuple(stats)))
        if guesses is not None:
            self._post_predictions(*guesses)
        if batch is not None:  # a batch of the epoch under way
            self.post(msg.BatchEnded(self.run, batch, tuple(self._points)))

    def _post_predictions(self, event: ev.EpochEnded, probs: np.ndarray) -> None:
        """The epoch's guesses for the test set, from the evaluation the trainer ran at its
        end: no second pass over the test images competes with training for the CPU."""
        if self.cancelled():
            return
        self._snapshot_step = event.step
        self.post(msg.PredictionsReady(self.run, event.epoch, probs.argmax(axis=1), probs))

    def _post_snapshot(self) -> None:
        if self.cancelled():
            return
        snap = self.snapshot(weights=True)
        if snap is None or snap.network is None:
            return
        self._snapshot_step = snap.step
        self.post(msg.ModelSnapshot(self.run, snap.epoch, snap.step, snap.network,
                                    self.dataset.x_test))
