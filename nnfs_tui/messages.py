"""Messages the training worker posts to the screens: small, immutable dataclasses of plain
numbers, engine events and read-only arrays, never a live engine object.

Each run message carries the run it came from (its run name, or for a run not recorded its
number in this app session), so a late message from a run that has already been replaced is
recognised and dropped. Engine events (frozen dataclasses of plain numbers) travel as they
are; arrays travel as read-only copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.message import Message

from engine import events as ev
from engine.checkpoint import Checkpoint, CheckpointSummary
from engine.data import Dataset
from engine.network import MLP

Point = tuple[float, float]
"""(x, y) with x on the epoch axis (0.5 = halfway through the first epoch)."""


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy, so the UI can keep it while the model trains on."""
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


@dataclass(eq=False)
class DatasetLoaded(Message, bubble=False):
    """The dataset the digit viewer shows before any run (loaded off the UI thread)."""

    dataset: Dataset
    """Read-only arrays; shared, never modified."""


@dataclass(eq=False)
class RunMessage(Message, bubble=False):
    """Base of everything a training run reports."""

    run: str
    """Which run sent it: its run name (a number for a run that is not recorded)."""


@dataclass(eq=False)
class RunStarted(RunMessage, bubble=False):
    """The trainer is built and about to take its first step."""

    event: ev.RunStarted
    """Sizes of the splits, batches per epoch, parameter count, the config."""
    dataset_name: str
    """Short name of the dataset ("mnist" or a directory's name)."""


@dataclass(eq=False)
class BatchEnded(RunMessage, bubble=False):
    """Progress within an epoch; a few a second, and a newer one replaces a queued one."""

    event: ev.BatchEnded
    """The latest batch: loss, accuracy, lr, samples/s, elapsed."""
    loss_points: tuple[Point, ...]
    """Smoothed training loss of the batch's epoch so far (cumulative, thinned)."""

    def can_replace(self, message: Message) -> bool:
        # loss_points is cumulative within an epoch, so dropping an older one loses nothing
        return (isinstance(message, BatchEnded) and message.run == self.run
                and message.event.epoch == self.event.epoch)


@dataclass(eq=False)
class EpochsEnded(RunMessage, bubble=False):
    """One or more epochs were trained and evaluated: one each, unless epochs end faster than
    the relay posts (then every epoch since the last message, none left out)."""

    events: tuple[ev.EpochEnded, ...]
    """Per epoch, in order: train/validation/test loss and accuracy, lr, time."""
    loss_points: tuple[Point, ...]
    """Every smoothed training-loss point of these epochs (final, thinned, in order)."""


@dataclass(eq=False)
class ModelSnapshot(RunMessage, bubble=False):
    """A detached copy of the model (a run stopped mid-epoch, or an opened checkpoint) to
    predict with."""

    epoch: int
    """Whole epochs the model had trained."""
    step: int
    """Updates the model had taken."""
    network: MLP
    """A copy of the network with its own read-only parameters; training goes on."""
    images: np.ndarray
    """The test images to guess, (n_test, n_features) uint8, shared and read-only."""

    def can_replace(self, message: Message) -> bool:
        # only the newest model is worth predicting with
        return isinstance(message, ModelSnapshot) and message.run == self.run


@dataclass(eq=False)
class PredictionsReady(RunMessage, bubble=False):
    """The current model's guesses for every test image (after the newest epoch of an
    EpochsEnded, or at the end)."""

    epoch: int
    """Whole epochs the model had trained when it guessed."""
    predicted: np.ndarray
    """Predicted class per test image, (n_test,), read-only."""
    probabilities: np.ndarray
    """Class probabilities per test image, (n_test, n_classes), read-only."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.predicted = frozen(self.predicted)
        self.probabilities = frozen(self.probabilities)

    def can_replace(self, message: Message) -> bool:
        # only the newest guesses matter
        return isinstance(message, PredictionsReady) and message.run == self.run


@dataclass(eq=False)
class HyperparametersChanged(RunMessage, bubble=False):
    """Live changes took effect at a batch boundary."""

    event: ev.HyperparametersChanged
    """The step and epoch of the change, and the LiveChange values applied."""


@dataclass(eq=False)
class Paused(RunMessage, bubble=False):
    """The loop waits at a batch boundary."""

    event: ev.Paused
    """The step the run paused after."""


@dataclass(eq=False)
class Resumed(RunMessage, bubble=False):
    """The loop goes on after a pause."""

    event: ev.Resumed
    """The step the run resumed at."""


@dataclass(eq=False)
class RunFinished(RunMessage, bubble=False):
    """The run ended: completed, stopped or diverged. Nothing follows from this run."""

    event: ev.RunFinished
    """Status, epochs and steps done, seconds, the divergence reason, final test metrics."""


@dataclass(eq=False)
class RunFailed(RunMessage, bubble=False):
    """The run could not start (bad dataset, batch larger than the data, ...)."""

    error: str
    """The engine's one-line message."""
    field: str | None = None
    """The config field to blame, when the error names one."""


@dataclass(eq=False)
class LayerStatsReady(RunMessage, bubble=False):
    """Per-layer health after one or more epochs (those of an EpochsEnded), for Inspect."""

    events: tuple[ev.LayerStats, ...]
    """Per epoch, in order: gradient and weight RMS per weight matrix; dead share per
    hidden layer."""


@dataclass(eq=False)
class ModelSaved(Message, bubble=False):
    """A save asked for by the user finished (or failed)."""

    path: Path
    """Where the checkpoint was (or was to be) written."""
    error: str = ""
    """Why it failed; empty on success."""
    epoch: int = 0
    """Whole epochs the saved model had trained."""
    step: int = 0
    """Updates the saved model had taken."""


@dataclass(eq=False)
class CheckpointOpened(Message, bubble=False):
    """A checkpoint was read (and its dataset loaded), or could not be."""

    path: Path
    """The checkpoint file."""
    summary: CheckpointSummary | None
    """What it holds, in plain data (config, epochs, history); None on error."""
    checkpoint: Checkpoint | None = None
    """Its training state as a plain value (arrays of its own), which F5 continues."""
    network: MLP | None = None
    """A read-only copy of its model, for Inspect, Draw and the digit viewer."""
    dataset: Dataset | None = None
    """The dataset its config trains on."""
    error: str = ""
    """Why it could not be opened; empty on success."""


# -- sweeps (F12): what the sweep's driver thread reports, trial by trial ---------------------
@dataclass(eq=False)
class SweepMessage(Message, bubble=False):
    """Base of everything a sweep reports."""

    sweep: str
    """The sweep's name (its record is ``<runs>/sweeps/<name>/sweep.json``)."""


@dataclass(eq=False)
class TrialQueued(SweepMessage, bubble=False):
    """A trial was handed to a worker (or handed again after its worker died)."""

    run: str
    """The trial's run name (``<sweep>-NNN``)."""
    index: int
    """0-based position of the trial in the sweep."""
    varied: tuple[tuple[str, str], ...]
    """(field, value as text) of every field the sweep set for this trial."""
    retry: str = ""
    """Why it is queued again (its worker died); "" the first time."""


@dataclass(eq=False)
class TrialStarted(SweepMessage, bubble=False):
    """A worker began training the trial."""

    run: str
    """The trial's run name."""


@dataclass(eq=False)
class TrialEpoch(SweepMessage, bubble=False):
    """A trial finished epochs; a newer one of the same trial replaces a queued one (its
    curve holds every epoch so far)."""

    run: str
    """The trial's run name."""
    epoch: int
    """Epochs trained so far."""
    epochs: int
    """Epochs the trial trains at most (its config)."""
    score: float | None
    """Validation accuracy of the last epoch, else test accuracy (a fraction)."""
    curve: tuple[tuple[float, float], ...]
    """(epoch, score in %) of every epoch so far."""

    def can_replace(self, message: Message) -> bool:
        return (isinstance(message, TrialEpoch) and message.sweep == self.sweep
                and message.run == self.run)


@dataclass(eq=False)
class TrialEnded(SweepMessage, bubble=False):
    """A trial ended: completed, pruned, diverged, failed, or interrupted (the sweep was
    stopped or its cluster went away; resumable)."""

    run: str
    """The trial's run name."""
    status: str
    """How it ended."""
    score: float | None
    """Its run's score (engine ``score()``: best validation accuracy, else test), or None."""
    epochs: int
    """Epochs it trained."""
    reason: str = ""
    """Why it failed, was pruned or interrupted ("" when it completed)."""


@dataclass(eq=False)
class SweepEnded(SweepMessage, bubble=False):
    """The sweep's driver returned: every trial it ran is recorded."""

    status: str
    """completed, stopped (F7 or a quit), interrupted (the cluster went away) or failed
    (it could not start)."""
    reason: str = ""
    """The engine's message when it was interrupted or failed."""
