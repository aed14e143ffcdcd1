"""Sweep around this: from one run (and, optionally, the ranges brushed on the parallel
coordinates of :mod:`engine.runs.parallel`), the text the sweep dialog (F12) is filled with.

Pure: nothing is read or trained. What comes back is the dialog's own text, which
:func:`engine.sweep.plan` (and :class:`engine.sweep.Search`) accept as they stand:

- ``learning_rate``: a log range around the run's, ``lr/3 .. lr*3`` (a sample line,
  ``learning_rate=log:LOW:HIGH``), drawn ``draws`` times per grid point;
- ``hidden_sizes``: the neighbouring widths, every layer halved, as it is, doubled
  (``hidden_sizes: 64,32 128,64 256,128``), kept within 1 .. MAX_LAYER_SIZE;
- a brushed axis replaces that: its range of positions turned back into field units
  (:meth:`Axis.value_at <engine.runs.parallel.Axis.value_at>`): a log sample on a log axis,
  a uniform sample on a linear axis of a float field, a grid of whole numbers (both ends and
  the middle) for a whole-number field, a grid of the categories inside the range on a
  category axis. The score's brush varies nothing.

A grid search of every combination when it has at most ``budget`` trials, else a random
search of ``budget`` trials over the same fields. Brushes that pin every field to the run's
own values leave nothing to vary: the dialog then says so, as it does for any empty sweep.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.config import FIELDS, MAX_LAYER_SIZE, TrainConfig, format_field
from engine.runs.parallel import SCORE, Axis, Brush

#: The learning rate is swept over [lr / LR_FACTOR, lr * LR_FACTOR] on a log scale.
LR_FACTOR = 3.0
#: Widths of the neighbouring architectures, as factors of every hidden layer.
WIDTH_FACTORS = (0.5, 1.0, 2.0)
#: Draws of the sampled fields per grid point (grid search).
DRAWS = 3
#: The most trials of a grid search; more combinations become a random search of this many.
BUDGET = 12


@dataclass(frozen=True)
class SweepPrefill:
    """What the sweep dialog is filled with: its fields' text, each as the dialog (and
    ``nnfs-train sweep``) reads it. The executor (workers, cluster) is the app's to choose."""

    base: TrainConfig
    """The run's config: every field the sweep does not vary keeps its value."""
    vary: tuple[str, ...]
    """The grid lines, ``FIELD: VALUE VALUE ...``, one per field."""
    samples: str
    """Space-separated ``FIELD=log:LOW:HIGH`` / ``FIELD=uniform:LOW:HIGH``."""
    trials: str = "1"
    """Draws of the sampled fields per grid point."""
    seed: str = "0"
    """Seed of the draws and of the search."""
    search: str = "grid"
    """grid or random."""
    budget: str = ""
    """Trials of a random search ("" for grid)."""
    prune: str = "none"
    """asha, median or none."""

    def texts(self) -> dict[str, str]:
        """The dialog's single-line fields by id (``sample``, ``trials``, ``seed``,
        ``search``, ``budget``, ``prune``)."""
        return {"sample": self.samples, "trials": self.trials, "seed": self.seed,
                "search": self.search, "budget": self.budget, "prune": self.prune}


def sweep_around(config: TrainConfig, axes: Sequence[Axis] = (),
                 brushes: Iterable[Brush] = (), *, draws: int = DRAWS,
                 budget: int = BUDGET, seed: int = 0) -> SweepPrefill:
    """The sweep around ``config``: the learning rate's log range and the neighbouring
    hidden sizes, with every brushed axis's range in place of what it would be otherwise
    (brushes on axes not in ``axes``, and on the score, are ignored)."""
    grid: dict[str, list[str]] = {"hidden_sizes": neighbour_sizes(config.hidden_sizes)}
    sample: dict[str, str] = {"learning_rate": lr_range(config.learning_rate)}
    by_name = {axis.name: axis for axis in axes}
    for brush in brushes:
        axis = by_name.get(brush.axis)
        if axis is None or axis.name == SCORE or axis.name not in FIELDS:
            continue
        grid.pop(axis.name, None)
        sample.pop(axis.name, None)
        values, spec = brushed_range(axis, brush)
        if spec is not None:
            sample[axis.name] = spec
        else:
            grid[axis.name] = values
    grid = {name: values for name, values in grid.items() if len(values) > 1
            or format_field(name, getattr(config, name)) != values[0]}
    points = math.prod(len(values) for values in grid.values())
    per_point = draws if sample else 1
    lines = tuple(f"{name}: {' '.join(values)}" for name, values in grid.items())
    samples = " ".join(f"{name}={spec}" for name, spec in sample.items())
    if points * per_point <= budget:
        return SweepPrefill(config, lines, samples, str(per_point), str(seed))
    return SweepPrefill(config, lines, samples, "1", str(seed), "random", str(budget))


def lr_range(learning_rate: float) -> str:
    """``log:LOW:HIGH`` from ``lr / LR_FACTOR`` to ``lr * LR_FACTOR`` (within the field's
    bounds)."""
    spec = FIELDS["learning_rate"]
    low, high = learning_rate / LR_FACTOR, min(learning_rate * LR_FACTOR, float(spec.high))
    return f"log:{_number('learning_rate', low)}:{_number('learning_rate', high)}"


def neighbour_sizes(hidden_sizes: Sequence[int]) -> list[str]:
    """The architectures of every hidden layer halved, as it is and doubled (each layer
    within 1 .. MAX_LAYER_SIZE; repeats dropped), as ``128,64`` texts."""
    out: list[str] = []
    for factor in WIDTH_FACTORS:
        sizes = tuple(min(MAX_LAYER_SIZE, max(1, round(s * factor))) for s in hidden_sizes)
        text = format_field("hidden_sizes", sizes)
        if text not in out:
            out.append(text)
    return out


def brushed_range(axis: Axis, brush: Brush) -> tuple[list[str], str | None]:
    """A brush in field units: ``([], "log:LOW:HIGH")`` or ``([], "uniform:LOW:HIGH")``
    for a sampled range, else ``(value texts, None)`` for a grid (whole numbers,
    categories, or a range too narrow to sample)."""
    name = axis.name
    if axis.kind == "category":
        return _categories(axis, brush), None
    low, high = (_clamped(name, float(axis.value_at(p))) for p in (brush.low, brush.high))
    if FIELDS[name].kind in ("int", "optional_int"):
        ends = (math.ceil(low), round((low + high) / 2), math.floor(high))
        whole = sorted({_clamped(name, v) for v in ends if low - 1e-9 <= v <= high + 1e-9}) \
            or [round(low)]
        return [str(int(v)) for v in whole], None
    low_text, high_text = _number(name, low), _number(name, high)
    if not float(low_text) < float(high_text):  # a brush narrowed to one value
        return [low_text], None
    return [], f"{'log' if axis.kind == 'log' else 'uniform'}:{low_text}:{high_text}"


def _categories(axis: Axis, brush: Brush) -> list[str]:
    """The categories whose positions lie in the brush (the nearest one when none does)."""
    k = len(axis.categories)
    inside = [text for i, text in enumerate(axis.categories)
              if brush.contains(0.5 if k == 1 else i / (k - 1))]
    return inside or [axis.value_at((brush.low + brush.high) / 2)]


def _clamped(name: str, value: float) -> float:
    """``value`` within the field's bounds (an open lower bound stays just above it)."""
    spec = FIELDS[name]
    if spec.low is not None and value <= spec.low:
        value = float(spec.low) if not spec.low_open else max(value, math.nextafter(
            float(spec.low), math.inf))
    if spec.high is not None:
        value = min(value, float(spec.high))
    return value


def _number(name: str, value: float) -> str:
    """``value`` to four significant digits, still inside the field's bounds (0.99999 would
    be "1", above beta2's 0.999999: then the bound itself)."""
    text = f"{value:.4g}"
    if _clamped(name, float(text)) != float(text):
        text = repr(_clamped(name, float(text)))
    return text

