"""Parallel coordinates of runs, without any drawing: which axes, where each run crosses them,
and brushing (keep the runs inside a range on every brushed axis).

An axis is one config field that varies among the runs (plus the score). A run's position on
an axis is a number in [0, 1] (0 at the bottom):

- ``log`` (learning_rate, weight_decay, eps when all values are positive):
  ``(log10 v - log10 low) / (log10 high - log10 low)``;
- ``linear`` (other numbers, the score): ``(v - low) / (high - low)``;
- ``category`` (optimizer, activation, schedule, hidden_sizes, ...): category ``i`` of ``k``
  (sorted) at ``i / (k - 1)``.

A brush is a closed interval ``[low, high]`` of positions on one axis; a run is kept when its
position on every brushed axis lies inside (a run without a value there is not).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from engine.config import TrainConfig, format_field
from engine.runs.store import RunInfo, score

#: Fields drawn on a log axis when all their values are positive.
LOG_FIELDS = frozenset({"learning_rate", "weight_decay", "eps"})
#: Fields whose values are names (or sizes read as names): categorical axes.
CATEGORICAL_FIELDS = frozenset({"optimizer", "activation", "schedule", "hidden_sizes", "init",
                                "dtype", "dataset"})
#: Never an axis: they describe where the run came from, not what it was.
SKIPPED_FIELDS = frozenset({"dataset"})
SCORE = "score"


@dataclass(frozen=True)
class Axis:
    """One vertical axis of the plot."""

    name: str
    """A config field, or "score"."""
    kind: str
    """log, linear or category."""
    low: float = 0.0
    """Smallest value (numeric axes)."""
    high: float = 1.0
    """Largest value (numeric axes)."""
    categories: tuple[str, ...] = ()
    """The values as text, bottom to top (category axes)."""

    def position(self, value: Any) -> float | None:
        """Where ``value`` crosses this axis, in [0, 1]; None when it has no place."""
        if value is None:
            return None
        if self.kind == "category":
            text = axis_text(self.name, value)
            if text not in self.categories:
                return None
            k = len(self.categories)
            return 0.5 if k == 1 else self.categories.index(text) / (k - 1)
        v = float(value)
        if not math.isfinite(v):
            return None
        if self.kind == "log":
            if v <= 0:
                return None
            lo, hi, v = math.log10(self.low), math.log10(self.high), math.log10(v)
        else:
            lo, hi = self.low, self.high
        return 0.5 if hi <= lo else min(1.0, max(0.0, (v - lo) / (hi - lo)))

    def value_at(self, position: float) -> str:
        """The value at a position, as a label (a category's name, a number's short form)."""
        if self.kind == "category":
            if not self.categories:
                return ""
            return self.categories[round(position * (len(self.categories) - 1))]
        if self.kind == "log":
            lo, hi = math.log10(self.low), math.log10(self.high)
            return f"{10 ** (lo + position * (hi - lo)):.3g}"
        return f"{self.low + position * (self.high - self.low):.4g}"


@dataclass(frozen=True)
class Brush:
    """A kept range of positions on one axis."""

    axis: str
    """The axis's name."""
    low: float = 0.0
    """Bottom of the range, in [0, 1]."""
    high: float = 1.0
    """Top of the range, in [0, 1]."""

    def contains(self, position: float | None) -> bool:
        """The position lies in [low, high] (with a little slack for rounding)."""
        return position is not None and self.low - 1e-9 <= position <= self.high + 1e-9

    def moved(self, edge: str, delta: float) -> Brush:
        """The brush with its ``edge`` ("low", "high" or "both") moved by ``delta``, kept in
        [0, 1] and never inverted."""
        low = self.low + delta if edge in ("low", "both") else self.low
        high = self.high + delta if edge in ("high", "both") else self.high
        if edge == "both":
            shift = max(0.0 - low, 0.0) - max(high - 1.0, 0.0)
            low, high = low + shift, high + shift
        low, high = min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)
        if low > high:
            low, high = (high, high) if edge == "low" else (low, low)
        return replace(self, low=low, high=high)


def axis_text(name: str, value: Any) -> str:
    """A categorical value as the axis shows it (hidden_sizes as ``128,64``)."""
    if isinstance(value, str):
        return value
    return format_field(name, value)


def run_values(run: RunInfo) -> dict[str, Any]:
    """A run's config fields and its score (``{}`` for a run without a config)."""
    if run.config is None:
        return {}
    values = {f.name: getattr(run.config, f.name) for f in fields(TrainConfig)}
    values[SCORE] = score(run.best_val_acc, run.test_acc)
    return values


def build_axes(runs: Iterable[RunInfo] | Iterable[Mapping[str, Any]]) -> list[Axis]:
    """One axis per config field that varies among the runs (in the config's order), then
    the score. ``runs`` are RunInfos or :func:`run_values` dicts."""
    rows = [r if isinstance(r, Mapping) else run_values(r) for r in runs]
    rows = [r for r in rows if r]
    axes: list[Axis] = []
    for f in fields(TrainConfig):
        name = f.name
        if name in SKIPPED_FIELDS:
            continue
        present = [r[name] for r in rows if r.get(name) is not None]
        if len({axis_text(name, v) if name in CATEGORICAL_FIELDS else v
                for v in present}) < 2:
            continue
        axes.append(_axis(name, present))
    scores = [r[SCORE] for r in rows if r.get(SCORE) is not None]
    if scores:
        axes.append(Axis(SCORE, "linear", min(scores), max(scores)))
    return axes


def _axis(name: str, values: Sequence[Any]) -> Axis:
    if name in CATEGORICAL_FIELDS or not all(isinstance(v, (int, float)) for v in values):
        texts = sorted({axis_text(name, v) for v in values}, key=_category_order)
        return Axis(name, "category", categories=tuple(texts))
    numbers = [float(v) for v in values if math.isfinite(float(v))]
    kind = "log" if name in LOG_FIELDS and all(v > 0 for v in numbers) else "linear"
    return Axis(name, kind, min(numbers), max(numbers))


def _category_order(text: str) -> tuple:
    """Sizes by their numbers (64 < 128 < 128,64), names alphabetically."""
    parts = text.split(",")
    if all(p.strip().isdigit() for p in parts):
        return (0, len(parts), [int(p) for p in parts])
    return (1, 0, text)


def positions(runs: Iterable[RunInfo], axes: Sequence[Axis]) -> list[list[float | None]]:
    """Per run, its position on each axis (None where it has no value)."""
    out = []
    for run in runs:
        values = run_values(run)
        out.append([axis.position(values.get(axis.name)) for axis in axes])
    return out


def brushed(runs: Iterable[RunInfo], axes: Sequence[Axis],
            brushes: Iterable[Brush]) -> list[RunInfo]:
    """The runs inside every brush (brushes on axes not in ``axes`` are ignored)."""
    by_name = {axis.name: axis for axis in axes}
    active = [b for b in brushes if b.axis in by_name]
    kept = []
    for run in runs:
        values = run_values(run)
        if all(b.contains(by_name[b.axis].position(values.get(b.axis))) for b in active):
            kept.append(run)
    return kept


def plot_data(runs: Sequence[RunInfo]) -> dict[str, Any]:
    """What the parallel-coordinates view draws, as plain JSON: the axes and, per run, its
    name, score and positions (``nnfs-train runs --json`` includes it)."""
    axes = build_axes(runs)
    return {
        "axes": [{"name": a.name, "kind": a.kind, "low": a.low, "high": a.high,
                  "categories": list(a.categories)} for a in axes],
        "runs": [{"name": run.name, "score": score(run.best_val_acc, run.test_acc),
                  "positions": pos} for run, pos in zip(runs, positions(runs, axes),
                                                         strict=True)],
    }
