"""What a training run reports, as small immutable records of plain numbers.

A :class:`~engine.training.Trainer` calls its ``on_event`` callback with these from the thread
that runs the loop. They hold no arrays and no references into the live model, so a UI may
pass them across threads as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from engine.config import format_field

Status = Literal["completed", "stopped", "diverged", "pruned"]
"""How a run ended; "pruned" only in a sweep's record (the sweep stopped a hopeless trial)."""


@dataclass(frozen=True)
class RunStarted:
    """The run is set up and about to take its first step."""

    config: Any
    """The TrainConfig the run started with."""
    n_train: int
    """Training samples per epoch."""
    n_val: int
    """Validation samples (0 when val_fraction is 0)."""
    n_test: int
    """Test samples."""
    batches_per_epoch: int
    """Updates per epoch at the starting batch size."""
    parameter_count: int
    """Weights plus biases of the network."""
    start_epoch: int
    """0 for a new run; the epochs already done when resuming."""
    start_step: int = 0
    """0 for a new run; the updates already applied when resuming."""
    start_epoch_progress: float = 0.0
    """Where a resumed run starts on the epoch axis (0.0 for a new run)."""
    n_features: int = 784
    """Inputs per sample."""
    n_classes: int = 10
    """Classes the network tells apart."""
    history: tuple[dict[str, Any], ...] = ()
    """A resumed run's epochs so far (EpochEnded.to_dict() each); empty for a new run."""


@dataclass(frozen=True)
class BatchEnded:
    """One update was applied. Throttled by the trainer's ``batch_event_interval``."""

    epoch: int
    """1-based epoch the batch belongs to."""
    batch: int
    """1-based index of the batch within the epoch."""
    batches_per_epoch: int
    """Batches in this epoch (changes when batch_size changes live)."""
    step: int
    """Updates applied since the run began (global, 1-based)."""
    loss: float
    """Cross-entropy of this batch (before the update)."""
    accuracy: float
    """Share of this batch classified correctly (before the update)."""
    lr: float
    """Learning rate the update used, after the schedule (``learning_rate`` × its factor)."""
    samples_per_second: float
    """Training throughput over the epoch so far."""
    elapsed: float
    """Seconds spent training in this run (pauses excluded)."""

    @property
    def epoch_progress(self) -> float:
        """Position on an epoch axis: 0.5 is halfway through the first epoch."""
        return self.epoch - 1 + self.batch / self.batches_per_epoch


@dataclass(frozen=True)
class EpochEnded:
    """An epoch finished and was evaluated. The fields of ``nnfs-train --json``."""

    epoch: int
    """1-based epoch number."""
    epochs: int
    """Epochs planned for the run."""
    epoch_seconds: float
    """Seconds the epoch's training took (evaluation excluded)."""
    train_loss: float
    """Mean batch loss over the epoch, as trained (with dropout)."""
    train_acc: float
    """Share of training samples classified correctly over the epoch, as trained."""
    val_loss: float | None
    """Loss on the validation split, None without one."""
    val_acc: float | None
    """Accuracy on the validation split, None without one."""
    test_loss: float
    """Loss on the test set."""
    test_acc: float
    """Accuracy on the test set."""
    lr: float
    """Learning rate in use at the end of the epoch."""
    step: int = 0
    """Updates applied so far."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LayerStats:
    """Per-layer health after an epoch, for the Inspect view (follows each EpochEnded)."""

    epoch: int
    """1-based epoch number."""
    layers: tuple[str, ...]
    """Weight names, input to output: ("W1", "W2", ...)."""
    grad_rms: tuple[float, ...]
    """Root-mean-square gradient per weight, averaged over the epoch's batches."""
    weight_rms: tuple[float, ...]
    """Root-mean-square weight at the end of the epoch."""
    dead_share: tuple[float | None, ...]
    """Per hidden layer: share of units never active on a sample of training inputs
    (relu, leaky_relu, gelu); None for sigmoid and tanh, which cannot die this way."""


@dataclass(frozen=True)
class LiveChange:
    """One hyperparameter changed while a run trains: from the form (or the CLI, or a rerun)
    to the trainer, into the run record, and back into a rerun, always this one value.

    ``step`` and ``epoch`` are None until the change is applied (or, in a rerun's plan,
    ``step`` says before which update to apply it). Values are checked by the trainer
    (:meth:`engine.training.Trainer.change`), nowhere else.
    """

    field: str
    """A field of ``engine.config.LIVE_FIELDS``."""
    value: Any
    """The new value."""
    step: int | None = None
    """The first update that used the new value."""
    epoch: float | None = None
    """Where that was on the epoch axis (1.5 = halfway through the second epoch)."""

    def describe(self) -> str:
        """e.g. ``learning_rate → 0.5 at step 301 (epoch 1.6)``."""
        try:
            value = format_field(self.field, self.value) or str(self.value)
        except (TypeError, ValueError):
            value = str(self.value)
        where = "" if self.step is None else f" at step {self.step}" + (
            "" if self.epoch is None else f" (epoch {self.epoch:.1f})")
        return f"{self.field} → {value}{where}"

    def to_dict(self) -> dict[str, Any]:
        """``{"field", "value", "step", "epoch"}`` as run.json records it."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "value": value, "step": self.step, "epoch": self.epoch}


def change_values(changes: tuple[LiveChange, ...] | list[LiveChange]) -> dict[str, Any]:
    """Field name to new value (the last one wins when a field appears twice)."""
    return {c.field: c.value for c in changes}


@dataclass(frozen=True)
class HyperparametersChanged:
    """Live changes took effect before the update ``step``."""

    step: int
    """The first update that uses the new values."""
    epoch_progress: float
    """Where on the epoch axis the change happened."""
    changes: tuple[LiveChange, ...] = ()
    """The changes applied, each with this step and epoch."""

    @property
    def values(self) -> dict[str, Any]:
        """Field name to new value."""
        return change_values(self.changes)


@dataclass(frozen=True)
class Paused:
    """The loop is waiting at a batch boundary."""

    step: int


@dataclass(frozen=True)
class Resumed:
    """The loop goes on after a pause."""

    step: int


@dataclass(frozen=True)
class RunFinished:
    """The loop has ended; no more events follow."""

    status: Status
    """completed, stopped (by stop()) or diverged (non-finite loss or gradient)."""
    epochs_completed: int
    """Whole epochs trained and evaluated."""
    step: int
    """Updates applied."""
    seconds: float
    """Seconds spent training (pauses excluded)."""
    reason: str = ""
    """For a diverged run: what went non-finite, where, and the last finite loss."""
    test_loss: float | None = None
    """Test loss of the final model (None when the run diverged)."""
    test_acc: float | None = None
    """Test accuracy of the final model (None when the run diverged)."""


Event = (RunStarted | BatchEnded | EpochEnded | LayerStats | HyperparametersChanged | Paused
         | Resumed | RunFinished)
