"""Hyperparameter sweeps: a grid and/or random samples of config fields, each trial a normal
recorded run, so the runs table is the leaderboard.

    configs = expand(base, grid={"hidden_sizes": [(64,), (128,)]},
                     sample={"learning_rate": ("log", 1e-4, 1e-1)}, trials=4, seed=0)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from engine.config import FIELDS, ConfigError, TrainConfig, check_field, parse_field
from engine.runs import RunInfo, RunStore

DISTRIBUTIONS = ("log", "uniform")


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its index, its config and the fields the sweep set."""

    index: int
    config: TrainConfig
    varied: dict[str, Any]


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
    if name not in FIELDS:
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


def _run_one(trial: Trial, runs_dir: str, prefix: str) -> str:
    """Train one trial to completion in this process and record it; returns the run name."""
    from engine.training import Trainer

    store = RunStore(runs_dir)
    recorder = store.create(trial.config, store.new_name(trial.config, prefix))
    trainer = Trainer(trial.config, on_event=recorder, threads=1)
    recorder.attach(trainer)
    trainer.run()
    return recorder.name


def run_sweep(trials: list[Trial], store: RunStore, *, workers: int = 1,
              prefix: str = "sweep-",
              on_done: Callable[[Trial, RunInfo], None] | None = None) -> list[RunInfo]:
    """Run every trial (in ``workers`` processes), each recorded in ``store``."""
    limit = os.cpu_count() or 1
    if not 1 <= workers <= limit:
        raise ConfigError("workers", workers, f"a whole number from 1 to {limit}")
    results: list[RunInfo] = []
    if workers == 1:
        for trial in trials:
            info = store.load(_run_one(trial, str(store.root), prefix))
            results.append(info)
            if on_done:
                on_done(trial, info)
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [(t, pool.submit(_run_one, t, str(store.root), prefix)) for t in trials]
        for trial, future in futures:
            info = store.load(future.result())
            results.append(info)
            if on_done:
                on_done(trial, info)
    return results


def leaderboard(runs: list[RunInfo]) -> list[RunInfo]:
    """Runs sorted best first: by best validation accuracy, else by test accuracy."""
    return sorted(runs, key=lambda r: -1.0 if r.score is None else r.score, reverse=True)
