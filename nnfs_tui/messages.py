"""Messages the training worker posts to the app: small, immutable, plain numbers.

Each run message carries the id of the run that sent it, so a late message from a run that
has already been replaced is recognised and dropped. Engine events (frozen dataclasses of
plain numbers) travel as they are; arrays travel as read-only copies.
"""

from __future__ import annotations

import copy as _copy
from pathlib import Path

import numpy as np
from textual.message import Message

from engine import events as ev
from engine.data import Dataset
from engine.network import MLP
from engine.training import Trainer

Point = tuple[float, float]
"""(x, y) with x on the epoch axis (0.5 = halfway through the first epoch)."""


def snapshot(network: MLP) -> MLP:
    """A copy of ``network`` that shares nothing mutable with it (parameters read-only)."""
    copy = _copy.copy(network)
    copy.params = {key: _frozen(value) for key, value in network.params.items()}
    return copy


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy, so the UI can keep it while the model trains on."""
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


class DatasetLoaded(Message, bubble=False):
    """The dataset the digit viewer shows before any run (loaded off the UI thread)."""

    def __init__(self, dataset: Dataset) -> None:
        super().__init__()
        self.dataset: Dataset = dataset
        """Read-only arrays; shared, never modified."""


class RunMessage(Message, bubble=False):
    """Base of everything a training run reports."""

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id: int = run_id
        """Which run sent it (the app counts runs from 1)."""


class RunStarted(RunMessage):
    """The trainer is built and about to take its first step."""

    def __init__(self, run_id: int, event: ev.RunStarted, dataset_name: str) -> None:
        super().__init__(run_id)
        self.event: ev.RunStarted = event
        """Sizes of the splits, batches per epoch, parameter count, the config."""
        self.dataset_name: str = dataset_name
        """Short name of the dataset ("mnist" or a directory's name)."""


class BatchEnded(RunMessage):
    """Progress within an epoch; a few a second, and a newer one replaces a queued one."""

    def __init__(self, run_id: int, event: ev.BatchEnded, loss_points: tuple[Point, ...]) -> None:
        super().__init__(run_id)
        self.event: ev.BatchEnded = event
        """The latest batch: loss, accuracy, learning rate, samples/s, elapsed."""
        self.loss_points: tuple[Point, ...] = loss_points
        """Smoothed training loss of the batch's epoch so far (cumulative, thinned)."""

    def can_replace(self, message: Message) -> bool:
        # loss_points is cumulative within an epoch, so dropping an older one loses nothing
        return (isinstance(message, BatchEnded) and message.run_id == self.run_id
                and message.event.epoch == self.event.epoch)


class EpochsEnded(RunMessage):
    """One or more epochs were trained and evaluated: one each, unless epochs end faster than
    the relay posts (then every epoch since the last message, none left out)."""

    def __init__(self, run_id: int, events: tuple[ev.EpochEnded, ...],
                 loss_points: tuple[Point, ...]) -> None:
        super().__init__(run_id)
        self.events: tuple[ev.EpochEnded, ...] = events
        """Per epoch, in order: train/validation/test loss and accuracy, learning rate, time."""
        self.loss_points: tuple[Point, ...] = loss_points
        """Every smoothed training-loss point of these epochs (final, thinned, in order)."""


class ModelSnapshot(RunMessage):
    """A detached copy of the model (after an epoch, or the final one) to predict with."""

    def __init__(self, run_id: int, epoch: int, step: int, network: MLP,
                 images: np.ndarray) -> None:
        super().__init__(run_id)
        self.epoch: int = epoch
        """Whole epochs the model had trained."""
        self.step: int = step
        """Updates the model had taken."""
        self.network: MLP = network
        """A copy of the network with its own read-only parameters; training goes on."""
        self.images: np.ndarray = images
        """The test images to guess, (n_test, n_features) uint8, shared and read-only."""

    def can_replace(self, message: Message) -> bool:
        # only the newest model is worth predicting with
        return isinstance(message, ModelSnapshot) and message.run_id == self.run_id


class PredictionsReady(RunMessage):
    """The current model's guesses for every test image (after the newest epoch of an
    EpochsEnded, or at the end)."""

    def __init__(self, run_id: int, epoch: int, predicted: np.ndarray,
                 probabilities: np.ndarray) -> None:
        super().__init__(run_id)
        self.epoch: int = epoch
        """Whole epochs the model had trained when it guessed."""
        self.predicted: np.ndarray = _frozen(predicted)
        """Predicted class per test image, (n_test,)."""
        self.probabilities: np.ndarray = _frozen(probabilities)
        """Class probabilities per test image, (n_test, n_classes)."""

    def can_replace(self, message: Message) -> bool:
        # only the newest guesses matter
        return isinstance(message, PredictionsReady) and message.run_id == self.run_id


class HyperparametersChanged(RunMessage):
    """Live changes took effect at a batch boundary."""

    def __init__(self, run_id: int, event: ev.HyperparametersChanged) -> None:
        super().__init__(run_id)
        self.event: ev.HyperparametersChanged = event
        """The step and epoch position of the change, and the new values."""


class Paused(RunMessage):
    """The loop waits at a batch boundary."""

    def __init__(self, run_id: int, event: ev.Paused) -> None:
        super().__init__(run_id)
        self.event: ev.Paused = event
        """The step the run paused after."""


class Resumed(RunMessage):
    """The loop goes on after a pause."""

    def __init__(self, run_id: int, event: ev.Resumed) -> None:
        super().__init__(run_id)
        self.event: ev.Resumed = event
        """The step the run resumed at."""


class RunFinished(RunMessage):
    """The run ended: completed, stopped or diverged. Nothing follows from this run."""

    def __init__(self, run_id: int, event: ev.RunFinished) -> None:
        super().__init__(run_id)
        self.event: ev.RunFinished = event
        """Status, epochs and steps done, seconds, the divergence reason, final test metrics."""


class RunFailed(RunMessage):
    """The run could not start (bad dataset, batch larger than the data, ...)."""

    def __init__(self, run_id: int, error: str, field: str | None = None) -> None:
        super().__init__(run_id)
        self.error: str = error
        """The engine's one-line message."""
        self.field: str | None = field
        """The config field to blame, when the error names one."""


class LayerStatsReady(RunMessage):
    """Per-layer health after one or more epochs (those of an EpochsEnded), for Inspect."""

    def __init__(self, run_id: int, events: tuple[ev.LayerStats, ...]) -> None:
        super().__init__(run_id)
        self.events: tuple[ev.LayerStats, ...] = events
        """Per epoch, in order: gradient and weight RMS per weight matrix; dead share per
        hidden layer."""


class ModelSaved(Message, bubble=False):
    """A save asked for by the user finished (or failed)."""

    def __init__(self, path: Path, error: str = "", epoch: int = 0, step: int = 0) -> None:
        super().__init__()
        self.path: Path = path
        """Where the checkpoint was (or was to be) written."""
        self.error: str = error
        """Why it failed; empty on success."""
        self.epoch: int = epoch
        """Whole epochs the saved model had trained."""
        self.step: int = step
        """Updates the saved model had taken."""


class CheckpointOpened(Message, bubble=False):
    """A checkpoint was loaded into a (not yet running) Trainer, or could not be."""

    def __init__(self, path: Path, trainer: Trainer | None, error: str = "") -> None:
        super().__init__()
        self.path: Path = path
        """The checkpoint file."""
        self.trainer: Trainer | None = trainer
        """A Trainer holding the checkpoint's weights, optimizer and history; None on error."""
        self.error: str = error
        """Why it could not be opened; empty on success."""
