"""One trial on a worker: a :class:`~engine.session.RunSession` that records nothing and
streams what happens to the machine that started the sweep.

The worker side of every executor (in-process, local processes, Dask) is :func:`run_trial`:
it trains ``task.config`` with one BLAS thread and hands each message to ``emit`` as it
happens: ``started`` (where), then the run's events (RunStarted, each EpochEnded with the
training state at that epoch's end, HyperparametersChanged, RunFinished with the final state),
or ``failed`` (why). Per-batch events stay on the worker; ``cancelled()`` is asked before the
first step and after every batch, so a stopped trial ends at its next batch.

A pruned sweep's trial (``task.verdicts``) waits at each epoch's end but the last for the
driver's verdict on it (``verdict(epoch)``: stop or go on), so a pruned trial's curve ends
exactly at the epoch the pruner judged; the wait is bounded (:data:`VERDICT_WAIT`): a driver
that never answers cannot hold a worker forever, the trial goes on as if told to.

A trial trains on the dataset its executor hands it (the driver's, sent once per worker and
checked by SHA-256: :func:`dataset_digest`), else on the one its config names, loaded on the
worker from its own install.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from engine.checkpoint import Checkpoint
from engine.config import TrainConfig
from engine.data import Dataset, DatasetCache
from engine.errors import NNFSError
from engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    HyperparametersChanged,
    RunFinished,
    RunStarted,
)

MessageKind = Literal["started", "event", "failed", "lost"]

VERDICT_WAIT = 30.0
"""The longest a trial waits at an epoch's end for the driver's verdict (seconds)."""


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to train one trial (picklable: it travels to the worker)."""

    key: str
    """The trial's run name: unique in the driver's run store."""
    index: int
    """0-based position of the trial in its sweep."""
    config: TrainConfig
    """What the trial trains."""
    checkpoint: Checkpoint | None = None
    """The last epoch's training state to continue from (a retry or a resumed sweep)."""
    attempt: int = 1
    """1 for the first try, 2 for the retry after a worker died."""
    verdicts: bool = False
    """Wait for the driver's verdict at each epoch's end (a pruned sweep)."""
    data: str = ""
    """SHA-256 (:func:`dataset_digest`) of the driver's dataset the trial trains on, sent to
    its worker once; "" when the worker loads the config's own dataset."""


@dataclass(frozen=True)
class TrialMessage:
    """One thing a trial reports to the driver."""

    key: str
    """The trial's run name."""
    kind: MessageKind
    """started, event, failed (the trial raised) or lost (its worker died)."""
    event: Event | None = None
    """The run's event (kind "event")."""
    state: Checkpoint | None = None
    """Training state after an EpochEnded or at RunFinished: best.npz, final.npz and the
    resumable last.npz are written from it by the driver."""
    where: str = ""
    """``host:pid`` of the worker (kind "started")."""
    reason: str = ""
    """Why the trial failed or was lost."""


def data_key(config: TrainConfig) -> tuple[object, ...]:
    """The settings that decide which data a config trains on (as the dataset cache's)."""
    return (config.dataset, config.val_fraction, config.subset, config.seed)


def dataset_digest(dataset: Dataset) -> str:
    """SHA-256 of a dataset: its name, image shape, class names and every split's bytes
    (shape and dtype included), so a worker can check the copy it received."""
    h = hashlib.sha256()
    h.update(repr((dataset.name, tuple(dataset.image_shape),
                   tuple(dataset.class_names))).encode())
    for split in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        array = getattr(dataset, split)
        h.update(f"{split}{array.shape}{array.dtype.str}".encode())
        h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return h.hexdigest()


def check_dataset(dataset: Dataset, digest: str) -> Dataset:
    """``dataset`` when its SHA-256 is ``digest``; else NNFSError (a copy damaged on the
    way)."""
    got = dataset_digest(dataset)
    if got != digest:
        raise NNFSError(f"the dataset received from the driver does not match its SHA-256 "
                        f"(expected {digest[:12]}…, got {got[:12]}…)")
    return dataset


worker_datasets = DatasetCache()
"""One dataset per worker process, reused by its trials of the same data settings."""

_SENT = (RunStarted, EpochEnded, HyperparametersChanged, RunFinished)


def run_trial(task: TrialTask, emit: Callable[[TrialMessage], None],
              cancelled: Callable[[], bool] = lambda: False,
              verdict: Callable[[int], bool] | None = None,
              dataset: Dataset | None = None) -> None:
    """Train one trial here, unrecorded, streaming its messages through ``emit``.

    ``cancelled()`` True stops the trial at its next batch; with ``task.verdicts``,
    ``verdict(epoch)`` is asked at each epoch's end but the last (True: stop there);
    ``dataset`` is the driver's (else the config's own is loaded)."""
    from engine.session import RunSession  # the worker side only: the driver never trains

    session: RunSession

    def on_event(event: Event) -> None:
        if isinstance(event, BatchEnded | RunStarted) and cancelled():
            session.stop()
        if not isinstance(event, _SENT):
            return
        state = None
        if isinstance(event, EpochEnded | RunFinished) and session.trainer is not None:
            state = session.trainer.training_state()
        emit(TrialMessage(task.key, "event", event=event, state=state))
        if (isinstance(event, EpochEnded) and task.verdicts and verdict is not None
                and event.epoch < event.epochs and not session.stop_requested
                and verdict(event.epoch)):
            session.stop()  # before the next epoch's first batch

    session = RunSession(task.config, checkpoint=task.checkpoint,
                         dataset=dataset if dataset is not None else worker_datasets,
                         store=None, threads=1, on_event=on_event)
    emit(TrialMessage(task.key, "started", where=f"{socket.gethostname()}:{os.getpid()}"))
    try:
        session.run()
    except Exception as exc:  # reported, never raised: the worker goes on with the next trial
        emit(TrialMessage(task.key, "failed", reason=f"{type(exc).__name__}: {exc}"))
