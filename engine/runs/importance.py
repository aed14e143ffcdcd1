"""Parameter importance: how much each varied config field explains the score of the runs.

Computed by Optuna, not by hand: the runs become the finished trials of an in-memory study
(one parameter per axis of :mod:`engine.runs.parallel` but the score, the score as the
value) and :func:`optuna.importance.get_param_importances` weighs them with PED-ANOVA, which
needs nothing beyond NumPy (fANOVA would need scikit-learn). Distributions follow the axes:

- ``log`` axis (learning_rate, weight_decay, eps): ``FloatDistribution(low, high, log=True)``;
- ``linear`` axis: ``IntDistribution`` for whole-number fields, else ``FloatDistribution``;
- ``category`` axis (optimizer, activation, schedule, hidden_sizes as ``128,64``, ...):
  ``CategoricalDistribution`` of the axis's texts.

PED-ANOVA compares where the best runs lie (the top ``target_quantile``) with where all of
them lie; with few runs the top is widened so that it holds a few runs, not one. Fewer than
:data:`MIN_RUNS` scored runs give no shares, only a line saying why (noise is not shown).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from engine.config import FIELDS
from engine.runs.parallel import SCORE, Axis, axis_text, build_axes, run_values
from engine.runs.store import RunInfo

#: Fewer scored runs than this give a problem line instead of importances.
MIN_RUNS = 8
METHOD = "PED-ANOVA (Optuna)"
#: How many runs the "best runs" of PED-ANOVA should hold at least (Optuna's advice is 5).
TOP_RUNS = 5


@dataclass(frozen=True)
class Importance:
    """The importance of each varied field for the score of some runs."""

    shares: tuple[tuple[str, float], ...]
    """(field, share), largest first; the shares sum to 1 (empty when there is a problem)."""
    n_runs: int
    """Scored runs used."""
    method: str
    """How the shares were computed, e.g. "PED-ANOVA (Optuna)"."""
    problem: str | None = None
    """One line saying why nothing is shown ("needs at least 8 scored runs (has 5)")."""

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON: ``{"importance": [{"field", "share"}...], "n_runs", "method",
        "problem"}``."""
        return {"importance": [{"field": f, "share": s} for f, s in self.shares],
                "n_runs": self.n_runs, "method": self.method, "problem": self.problem}


def scored_values(runs: Sequence[RunInfo]) -> list[dict[str, Any]]:
    """The :func:`~engine.runs.parallel.run_values` of every run that has a config and a
    finite score; runs that cannot be read that far are left out, never raised."""
    rows = []
    for run in runs:
        try:
            values = run_values(run)
        except (AttributeError, TypeError, ValueError):  # not a RunInfo as the store makes
            continue
        value = values.get(SCORE)
        if isinstance(value, (int, float)) and math.isfinite(value):
            rows.append(values)
    return rows


def parameter_importance(runs: Sequence[RunInfo], *, seed: int = 0) -> Importance:
    """How much each field that varies among the scored ``runs`` explains their score,
    as shares that sum to 1, largest first. ``seed`` seeds the study's sampler (PED-ANOVA
    itself draws nothing, so the same runs always give the same shares)."""
    rows = scored_values(runs)
    n = len(rows)
    if n < MIN_RUNS:
        return _problem(n, f"needs at least {MIN_RUNS} scored runs (has {n})")
    axes = [axis for axis in build_axes(rows) if axis.name != SCORE]
    if not axes:
        return _problem(n, "no field varies")
    if len({row[SCORE] for row in rows}) < 2:
        return _problem(n, "every run has the same score")
    importances = _evaluate(rows, axes, seed)
    total = sum(importances.values())
    if not math.isfinite(total) or total <= 0:
        return _problem(n, "no field explains the score")
    order = [axis.name for axis in axes]
    shares = sorted(((name, value / total) for name, value in importances.items()),
                    key=lambda item: (-item[1], order.index(item[0])))
    return Importance(tuple(shares), n, METHOD)


def _problem(n: int, why: str) -> Importance:
    return Importance((), n, METHOD, why)


def target_quantile(n: int) -> float:
    """The share of runs PED-ANOVA takes as the best: 10 %, widened to hold TOP_RUNS runs,
    at most half of them."""
    return min(0.5, max(0.1, TOP_RUNS / n))


def _evaluate(rows: list[dict[str, Any]], axes: list[Axis], seed: int) -> dict[str, float]:
    """Optuna's PED-ANOVA importances (not normalised) of the axes' fields."""
    with _quiet_optuna() as optuna:
        distributions = {axis.name: _distribution(optuna, axis) for axis in axes}
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.RandomSampler(seed=seed))
        for row in rows:
            params = _params(row, axes)
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions={k: distributions[k] for k in params},
                value=float(row[SCORE])))
        evaluator = optuna.importance.PedAnovaImportanceEvaluator(
            target_quantile=target_quantile(len(rows)))
        found = optuna.importance.get_param_importances(
            study, evaluator=evaluator, params=list(distributions), normalize=False)
    return {name: float(value) for name, value in found.items()}


def _distribution(optuna: Any, axis: Axis) -> Any:
    dist = optuna.distributions
    if axis.kind == "category":
        return dist.CategoricalDistribution(axis.categories)
    if axis.kind == "linear" and FIELDS[axis.name].kind in ("int", "optional_int"):
        return dist.IntDistribution(int(axis.low), int(axis.high))
    return dist.FloatDistribution(axis.low, axis.high, log=axis.kind == "log")


def _params(row: Mapping[str, Any], axes: list[Axis]) -> dict[str, Any]:
    """A run's value on each axis it has a place on, as the distributions take them."""
    params: dict[str, Any] = {}
    for axis in axes:
        value = row.get(axis.name)
        if axis.position(value) is None:
            continue
        if axis.kind == "category":
            params[axis.name] = axis_text(axis.name, value)
        elif FIELDS[axis.name].kind in ("int", "optional_int") and axis.kind == "linear":
            params[axis.name] = int(value)
        else:
            params[axis.name] = float(value)
    return params


@contextmanager
def _quiet_optuna() -> Iterator[Any]:
    """Optuna, with its log lines and its warnings (experimental features, small regimes)
    silenced for the duration; the verbosity is put back afterwards."""
    import optuna  # imported here: listing runs must not pay for it

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield optuna
    finally:
        optuna.logging.set_verbosity(before)
