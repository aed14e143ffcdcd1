"""Evaluation helpers: loss, accuracy, predictions, confusion matrix, per-class accuracy.

Inputs may be the dataset's uint8 pixels (n, features); they are scaled to [0, 1] in the
network's dtype chunk by chunk, so evaluating never holds a float copy of a whole set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from engine.losses import softmax

EVAL_CHUNK = 2048


def scale_pixels(x: np.ndarray, dtype: np.dtype | str = np.float32) -> np.ndarray:
    """uint8 pixels (n, features) to floats in [0, 1]; float input is returned as dtype."""
    if x.dtype == np.uint8:
        out = x.astype(dtype)
        out *= out.dtype.type(1.0 / 255.0)
        return out
    return x.astype(dtype, copy=False)


def predict(network, x: np.ndarray, *, chunk: int = EVAL_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Predicted classes (n,) and class probabilities (n, classes) for inputs (n, features)."""
    n_classes = network.sizes[-1]
    probs = np.empty((len(x), n_classes), dtype=network.dtype)
    for start in range(0, len(x), chunk):
        logits = network.forward(scale_pixels(x[start:start + chunk], network.dtype))
        probs[start:start + chunk] = softmax(logits)
    return probs.argmax(axis=1), probs


def evaluate(network, x: np.ndarray, y: np.ndarray, *, chunk: int = EVAL_CHUNK,
             probs_out: np.ndarray | None = None,
             deadline: float | None = None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the network on (x, y); (nan, nan) for an empty set.

    With ``probs_out`` (n, classes) the class probabilities are written there too, so a
    caller that wants predictions does not run the network a second time. With a
    ``deadline`` (a time.monotonic() value) an evaluation still running then gives up and
    returns (nan, nan): a stop never waits on a large network's evaluation.
    """
    if len(x) == 0:
        return float("nan"), float("nan")
    total_loss = 0.0
    correct = 0
    for start in range(0, len(x), chunk):
        xb = scale_pixels(x[start:start + chunk], network.dtype)
        yb = np.asarray(y[start:start + chunk], dtype=np.intp)
        logits = network.forward(xb).astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1)
        total_loss += float(np.sum(np.log(sums) - shifted[np.arange(len(yb)), yb]))
        correct += int(np.sum(logits.argmax(axis=1) == yb))
        if probs_out is not None:
            probs_out[start:start + chunk] = exp / sums[:, None]
        if deadline is not None and time.monotonic() > deadline:
            return float("nan"), float("nan")
    return total_loss / len(x), correct / len(x)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of predictions equal to the labels."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.intp), np.asarray(y_pred, dtype=np.intp)), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix; nan for a class with no samples."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


#: A run whose training accuracy after a whole epoch is below this many times chance
#: (1 / classes) has not learned anything yet.
CHANCE_FACTOR = 1.5
#: A training loss above this many times chance's loss (ln classes, what an untrained model
#: scores) means the run is exploding: the model is confidently wrong.
EXPLODING_FACTOR = 4.0


@dataclass(frozen=True)
class RunWarning:
    """Something wrong with a run that has not diverged (yet)."""

    short: str
    """A few words, for a status line: ``loss exploding``, ``accuracy at chance``."""
    detail: str
    """The values behind it and what to try, for the log."""


def training_warning(train_loss: float, train_acc: float, n_classes: int) -> RunWarning | None:
    """What is wrong with a run after an epoch (its training loss and accuracy), or None.

    Exploding loss (above ``EXPLODING_FACTOR * ln(classes)``, or not finite) comes before a
    model stuck at chance accuracy (below ``CHANCE_FACTOR / classes``): both say the
    learning_rate is likely wrong, long before the loss turns NaN.
    """
    n_classes = max(int(n_classes), 2)
    chance_loss = math.log(n_classes)
    if not math.isfinite(train_loss) or train_loss > EXPLODING_FACTOR * chance_loss:
        shown = f"{train_loss:.3g}" if math.isfinite(train_loss) else "not finite"
        return RunWarning("loss exploding", f"training loss {shown}, chance is "
                          f"{chance_loss:.2f}: try a smaller learning_rate")
    if math.isfinite(train_acc) and train_acc < CHANCE_FACTOR / n_classes:
        return RunWarning("accuracy at chance", f"training accuracy {100 * train_acc:.1f}%, "
                          f"chance is {100 / n_classes:.0f}%: the model is not learning, "
                          "check the learning_rate")
    return None
