"""Sweep planning: a grid and/or random samples of config fields, each trial a normal
recorded run, so the runs table is the leaderboard.

    configs = expand(base, grid={"hidden_sizes": [(64,), (128,)]},
                     sample={"learning_rate": ("log", 1e-4, 1e-1)}, trials=4, seed=0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from engine.config import (
    FIELDS,
    FLAG_TO_FIELD,
    ConfigError,
    TrainConfig,
    check_field,
    format_field,
    parse_field,
)
from engine.runs import RunInfo

DISTRIBUTIONS = ("log", "uniform")


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its index, its config and the fields the sweep set."""

    index: int
    """0-based position in the sweep."""
    config: TrainConfig
    """The base config with the varied fields replaced."""
    varied: dict[str, Any]
    """The fields the sweep set for this trial, and their values."""

    def describe(self) -> str:
        """``learning_rate=0.003, hidden_sizes=128,64``: what the sweep set for this trial."""
        return ", ".join(f"{k}={format_field(k, v)}" for k, v in self.varied.items())


#: The most trials one sweep may have (each is a full training run).
MAX_TRIALS = 1000

_VARY_FORMAT = "FIELD: VALUE [VALUE ...], e.g. learning_rate: 1e-3 3e-3"


def parse_vary(text: str) -> tuple[str, list[str]] | None:
    """``"learning_rate: 1e-3 3e-3"`` → ("learning_rate", ["1e-3", "3e-3"]); blank → None.

    The colon may be left out (``learning_rate 1e-3 3e-3``); values are separated by spaces
    (``hidden_sizes: 64 128,64`` is two architectures).
    """
    text = text.strip()
    if not text:
        return None
    name, sep, rest = text.partition(":")
    if not sep:
        name, _, rest = text.partition(" ")
    name = name.strip()
    if "=" in name:
        raise ConfigError("vary", text, _VARY_FORMAT + " (random samples go in the "
                          "samples line)")
    values = rest.split()
    if not name or not values:
        raise ConfigError("vary", text, _VARY_FORMAT)
    return name, values


def plan(base: TrainConfig, vary: Iterable[tuple[str, list[str]]] = (),
         samples: Iterable[str] = (), trials: int | str = 1, seed: int | str = 0, *,
         require_variation: bool = True) -> list[Trial]:
    """The trials a sweep's text describes, on top of ``base``; raises ConfigError. The one
    planner of ``nnfs-train sweep`` and the app's F12 dialog.

    ``vary``: (field, value texts) per grid field, each field once; ``samples``:
    ``FIELD=log:LOW:HIGH`` / ``FIELD=uniform:LOW:HIGH`` of fields not in the grid, drawn
    ``trials`` times per grid point from ``seed``. ``require_variation=False`` lets a
    sweep of nothing be one trial of ``base``.
    """
    items = list(vary)
    names = [name for name, _ in items]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("vary", name, "each field on one line only")
    grid = parse_grid(items)
    sample: dict[str, tuple[str, float, float]] = {}
    for text in samples:
        name, spec = parse_sample(text)
        if name in sample or name in grid:
            raise ConfigError("sample", text, "a field that is not varied already")
        sample[name] = spec
    if require_variation and not grid and not sample:
        raise ConfigError("sweep", "(nothing to vary)",
                          "at least one field to vary or to sample")
    n_trials = _whole("trials", trials, 1, MAX_TRIALS)
    n_seed = _whole("sweep seed", seed, 0, 2**32 - 1)
    count = math.prod(len(v) for v in grid.values()) * (n_trials if sample else 1)
    if count > MAX_TRIALS:
        raise ConfigError("sweep", f"{count} trials", f"at most {MAX_TRIALS}")
    return expand(base, grid, sample, trials=n_trials, seed=n_seed)


def _whole(name: str, text: int | str, low: int, high: int) -> int:
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(name, raw or "(empty)", f"a whole number from {low} to {high}")
    return value


def parse_grid(items: Iterable[tuple[str, list[str]]]) -> dict[str, list[Any]]:
    """``[("learning_rate", ["1e-3", "3e-3"]), ...]`` → typed values, checked by field."""
    grid: dict[str, list[Any]] = {}
    for name, texts in items:
        _known(name)
        grid[name] = [parse_field(name, t) for t in texts]
    return grid


def parse_sample(text: str) -> tuple[str, tuple[str, float, float]]:
    """``"learning_rate=log:1e-4:1e-1"`` → ("learning_rate", ("log", 1e-4, 1e-1))."""
    name, _, spec = text.partition("=")
    _known(name)
    parts = spec.split(":")
    allowed = "NAME=log:LOW:HIGH or NAME=uniform:LOW:HIGH with LOW < HIGH"
    if len(parts) != 3 or parts[0] not in DISTRIBUTIONS:
        raise ConfigError("sample", text, allowed)
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise ConfigError("sample", text, allowed) from None
    if FIELDS[name].kind not in ("int", "float"):
        raise ConfigError("sample", text, "a numeric field")
    if not (math.isfinite(low) and math.isfinite(high) and low < high) or (
            parts[0] == "log" and low <= 0):
        raise ConfigError("sample", text, allowed + " (log needs LOW > 0)")
    check_field(name, _typed(name, low))
    check_field(name, _typed(name, high))
    return name, (parts[0], low, high)


def _known(name: str) -> None:
    if name in FIELDS:
        return
    field = FLAG_TO_FIELD.get(f"--{name}")
    if field is not None:  # a flag's spelling (--hidden, --l_rate): say which field it sets
        raise ConfigError("sweep field", name, f"the field name {field} (--{name} is its flag)")
    raise ConfigError("sweep field", name, "one of " + ", ".join(FIELDS))


def _typed(name: str, value: float) -> Any:
    return int(round(value)) if FIELDS[name].kind == "int" else float(value)


def expand(base: TrainConfig, grid: dict[str, list[Any]] | None = None,
           sample: dict[str, tuple[str, float, float]] | None = None,
           trials: int = 1, seed: int = 0) -> list[Trial]:
    """Every grid point, each with ``trials`` random draws of the sampled fields
    (log-uniform or uniform); the same seed gives the same trials."""
    grid = grid or {}
    sample = sample or {}
    if trials < 1:
        raise ConfigError("trials", trials, "a whole number ≥ 1")
    rng = np.random.default_rng(seed)
    names = list(grid)
    out: list[Trial] = []
    for values in product(*(grid[n] for n in names)) if names else [()]:
        point = dict(zip(names, values, strict=True))
        for _ in range(trials if sample else 1):
            drawn = {}
            for name, (dist, low, high) in sample.items():
                x = math.exp(rng.uniform(math.log(low), math.log(high))) if dist == "log" \
                    else rng.uniform(low, high)
                drawn[name] = _typed(name, float(f"{x:.4g}"))
            varied = {**point, **drawn}
            out.append(Trial(len(out), base.replace(**varied), varied))
    return out


def leaderboard(runs: list[RunInfo]) -> list[RunInfo]:
    """Runs sorted best first: by best validation accuracy, else by test accuracy."""
    return sorted(runs, key=lambda r: -1.0 if r.score is None else r.score, reverse=True)
