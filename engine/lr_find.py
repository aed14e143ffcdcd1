"""Learning-rate range test: train a throwaway copy of a config's model while the learning rate
grows exponentially, and read a good rate off the smoothed loss.

For ``n`` batches the rate at batch ``i`` (0-based) is ``lr_i = start·(end/start)^(i/(n-1))``.
The loss is smoothed with a bias-corrected exponential moving average
``m_i = β·m_{i-1} + (1-β)·loss_i``, ``s_i = m_i / (1-β^(i+1))``; the test stops early when
``s_i`` exceeds ``diverge × min(s)`` (or the loss is not finite). Two suggestions:

- ``steepest``: the rate where ``s`` falls fastest against ``log10(lr)`` (before its minimum);
- ``min_over_10``: the rate of the lowest smoothed loss divided by 10.

The network trained here is built from the config (or from a copy of given parameters); a
model being trained elsewhere is never touched.

    result = lr_find(PRESETS["default"], load_dataset("mnist"))
    result.suggestion    # e.g. 1.6e-3
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import TrainConfig
from engine.data import Dataset
from engine.errors import ConfigError
from engine.threads import blas_threads

#: Defaults of the test: the ramp's ends, its length, the smoothing and the blow-up factor.
START_LR = 1e-6
END_LR = 100.0
BATCHES = 300
SMOOTHING = 0.98
DIVERGE = 4.0


@dataclass(frozen=True)
class LRFindResult:
    """The curve of a range test and what it suggests."""

    lrs: tuple[float, ...]
    """Learning rate of each batch trained (increasing)."""
    losses: tuple[float, ...]
    """Training loss of each batch (as computed before its update)."""
    smoothed: tuple[float, ...]
    """Bias-corrected exponential moving average of ``losses``."""
    steepest: float | None
    """Rate where the smoothed loss falls fastest per decade (None: too short a curve)."""
    min_over_10: float | None
    """The rate of the lowest smoothed loss, divided by 10 (None: no batch trained)."""
    stopped_early: bool
    """True when the loss blew up (or turned non-finite) before the ramp's end."""
    reason: str
    """Why the test ended: "end of ramp", "loss blew up", "loss not finite" or "stopped"."""
    seconds: float
    """Wall-clock time of the test."""

    @property
    def suggestion(self) -> float | None:
        """The rate to put in the form: min / 10, else the steepest descent (see README)."""
        return self.min_over_10 if self.min_over_10 is not None else self.steepest

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the curve as lists)."""
        return {"suggestion": self.suggestion, "steepest": self.steepest,
                "min_over_10": self.min_over_10, "stopped_early": self.stopped_early,
                "reason": self.reason, "seconds": round(self.seconds, 3),
                "lrs": list(self.lrs), "losses": [_finite(x) for x in self.losses],
                "smoothed": [_finite(x) for x in self.smoothed]}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def ramp(start: float, end: float, n: int) -> np.ndarray:
    """(n,) learning rates growing geometrically from ``start`` to ``end``."""
    if not (0 < start < end):
        raise ConfigError("lr-find range", f"{start:g}..{end:g}", "0 < start < end")
    if n < 2:
        raise ConfigError("lr-find batches", n, "at least 2")
    return start * (end / start) ** (np.arange(n) / (n - 1))


def smooth(losses: np.ndarray | list[float], beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected EMA of a loss curve: ``s_i = m_i / (1-β^(i+1))``."""
    out = np.empty(len(losses))
    m = 0.0
    for i, loss in enumerate(losses):
        m = beta * m + (1 - beta) * float(loss)
        out[i] = m / (1 - beta ** (i + 1))
    return out


def suggest(lrs: np.ndarray, smoothed: np.ndarray, skip: int = 5) -> tuple[float | None,
                                                                          float | None]:
    """(steepest, min_over_10) of a smoothed curve; ``skip`` first points are ignored for the
    steepest slope (the EMA is still settling there)."""
    if len(smoothed) == 0:
        return None, None
    finite = np.isfinite(smoothed)
    if not finite.any():
        return None, None
    best = int(np.nanargmin(np.where(finite, smoothed, np.inf)))
    min_over_10 = float(lrs[best] / 10)
    steepest = None
    lo = min(skip, max(best - 1, 0))
    if best - lo >= 2:
        slope = np.gradient(smoothed[lo:best + 1], np.log10(lrs[lo:best + 1]))
        steepest = float(lrs[lo + int(np.argmin(slope))])
    return steepest, min_over_10


def lr_find(
    config: TrainConfig,
    dataset: Dataset,
    *,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    batches: int = BATCHES,
    beta: float = SMOOTHING,
    diverge: float = DIVERGE,
    params: Mapping[str, np.ndarray] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    threads: int | str | None = "auto",
) -> LRFindResult:
    """Run a learning-rate range test on a fresh copy of ``config``'s model.

    ``params`` (e.g. a snapshot's or a checkpoint's) are copied as the starting weights;
    without them the network is initialised from the config's seed. Batches of
    ``config.batch_size`` are drawn from a permutation of the training set seeded by
    ``config.seed``; dropout and weight decay apply, the schedule does not (the ramp replaces
    it). ``should_stop()`` ends the test between batches (reason "stopped");
    ``on_batch(i, batches)`` reports progress.
    """
    from engine.training import build_network, build_optimizer

    t0 = time.perf_counter()
    lrs = ramp(start_lr, end_lr, batches)
    network = build_network(config, dataset.n_features, dataset.n_classes)
    if params is not None:
        network.params = {k: np.array(v, dtype=network.dtype, copy=True)
                          for k, v in params.items()}
    optimizer = build_optimizer(config)
    rng = np.random.default_rng([config.seed, 7])
    x, y = dataset.x_train, dataset.y_train.astype(np.intp)
    n = len(x)
    size = min(config.batch_size, n)
    perm, pos = rng.permutation(n), 0
    losses: list[float] = []
    smoothed: list[float] = []
    m, best = 0.0, math.inf
    reason = "end of ramp"
    with blas_threads(threads), np.errstate(over="ignore", invalid="ignore"):
        for i, lr in enumerate(lrs):
            if should_stop is not None and should_stop():
                reason = "stopped"
                break
            if pos + size > n:
                perm, pos = rng.permutation(n), 0
            idx = perm[pos:pos + size]
            pos += size
            loss, _, grads = network.loss_and_grads(x[idx], y[idx], dropout=config.dropout,
                                                    rng=rng)
            if not math.isfinite(loss):
                reason = "loss not finite"
                break
            m = beta * m + (1 - beta) * loss
            s = m / (1 - beta ** (i + 1))
            losses.append(float(loss))
            smoothed.append(s)
            best = min(best, s)
            if i > 0 and s > diverge * best:
                reason = "loss blew up"
                break
            optimizer.step(network.params, grads, float(lr))
            if on_batch is not None:
                on_batch(i + 1, batches)
    k = len(losses)
    steepest, min_over_10 = suggest(lrs[:k], np.asarray(smoothed))
    return LRFindResult(
        lrs=tuple(float(v) for v in lrs[:k]), losses=tuple(losses),
        smoothed=tuple(float(v) for v in smoothed), steepest=steepest, min_over_10=min_over_10,
        stopped_early=reason in ("loss blew up", "loss not finite"), reason=reason,
        seconds=time.perf_counter() - t0)
