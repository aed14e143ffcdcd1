"""One trial on a worker: a :class:`~engine.session.RunSession` that records nothing and
streams what happens to the machine that started the sweep.

The worker side of every executor (in-process, local processes, Dask) is :func:`run_trial`:
it trains ``task.config`` with one BLAS thread and hands each message to ``emit`` as it
happens: ``started`` (where), then the run's events (RunStarted, each EpochEnded with the
training state at that epoch's end, HyperparametersChanged, RunFinished with the final state),
or ``failed`` (why). Per-batch events stay on the worker; ``cancelled()`` is asked after every
batch, so a pruned or stopped trial ends at its next batch.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from engine.checkpoint import Checkpoint
from engine.config import TrainConfig
from engine.data import DatasetCache
from engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    HyperparametersChanged,
    RunFinished,
    RunStarted,
)

MessageKind = Literal["started", "event", "failed", "lost"]


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


_datasets = DatasetCache()
"""One dataset per worker process, reused by its trials of the same data settings."""

_SENT = (RunStarted, EpochEnded, HyperparametersChanged, RunFinished)


def run_trial(task: TrialTask, emit: Callable[[TrialMessage], None],
              cancelled: Callable[[], bool] = lambda: False) -> None:
    """Train one trial here, unrecorded, streaming its messages through ``emit``."""
    from engine.session import RunSession  # the worker side only: the driver never trains

    session: RunSession

    def on_event(event: Event) -> None:
        if isinstance(event, BatchEnded):
            if cancelled():
                session.stop()
            return
        if not isinstance(event, _SENT):
            return
        state = None
        if isinstance(event, EpochEnded | RunFinished) and session.trainer is not None:
            state = session.trainer.training_state()
        emit(TrialMessage(task.key, "event", event=event, state=state))

    session = RunSession(task.config, checkpoint=task.checkpoint, dataset=_datasets,
                         store=None, threads=1, on_event=on_event)
    emit(TrialMessage(task.key, "started", where=f"{socket.gethostname()}:{os.getpid()}"))
    try:
        session.run()
    except Exception as exc:  # reported, never raised: the worker goes on with the next trial
        emit(TrialMessage(task.key, "failed", reason=f"{type(exc).__name__}: {exc}"))
