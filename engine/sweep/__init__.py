"""Hyperparameter sweeps: planning, search and pruning, executors, and the driver.

    plan       Trial, plan(), expand(), parse_vary/grid/sample, leaderboard()
    search     Search: Optuna's samplers (grid | random | tpe) and pruners (asha | median)
               through ask-and-tell, in memory
    trial      TrialTask, TrialMessage, run_trial(): one trial on a worker, recording nothing
    executors  InProcessExecutor, LocalProcessExecutor, DaskExecutor, make_executor()
    runner     Sweep: the driver; writes every record (runs, sweeps/<name>/sweep.json)

    runs = run_sweep(plan(base, [("learning_rate", ["1e-3", "3e-3"])]), RunStore())
"""

from __future__ import annotations

from collections.abc import Callable

from engine.config import TrainConfig
from engine.errors import ConfigError
from engine.runs import RunInfo, RunStore
from engine.sweep.executors import (
    DASK_ENV,
    INSTALL_CLUSTER,
    DaskExecutor,
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    SweepError,
    make_executor,
    resolve_workers,
)
from engine.sweep.plan import (
    DISTRIBUTIONS,
    MAX_TRIALS,
    Trial,
    expand,
    leaderboard,
    parse_grid,
    parse_sample,
    parse_vary,
    plan,
)
from engine.sweep.runner import (
    FINISHED,
    Sweep,
    TrialUpdate,
    check_address,
    count_trials,
    sweep_record,
)
from engine.sweep.search import PRUNERS, SEARCHES, Search
from engine.sweep.trial import TrialMessage, TrialTask, run_trial

__all__ = [
    "DASK_ENV", "DISTRIBUTIONS", "FINISHED", "INSTALL_CLUSTER", "MAX_TRIALS", "PRUNERS",
    "SEARCHES", "DaskExecutor", "Executor", "InProcessExecutor", "LocalProcessExecutor",
    "Search", "Sweep", "SweepError", "Trial", "TrialMessage", "TrialTask", "TrialUpdate",
    "check_address", "count_trials", "expand", "leaderboard", "make_executor", "parse_grid",
    "parse_sample", "parse_vary", "plan", "resolve_workers", "run_sweep", "run_trial",
    "sweep_record",
]


class _PlannedSearch(Search):
    """A search over trials planned already (``plan()``'s list), in order."""

    def __init__(self, base: TrainConfig, trials: list[Trial]) -> None:
        super().__init__(base, search="grid")
        self._fixed = list(trials)
        self.total = len(trials)


def run_sweep(trials: list[Trial], store: RunStore, *, workers: int | str = 1,
              cluster: str | None = None, prefix: str = "sweep-",
              on_done: Callable[[Trial, RunInfo], None] | None = None) -> list[RunInfo]:
    """Run planned ``trials`` (``workers`` at once, or on a Dask cluster), each recorded in
    ``store`` by this process; returns their records in the order they ended."""
    if not trials:
        return []
    if not isinstance(workers, str) and workers < 1:
        raise ConfigError("workers", workers, "'auto' or a whole number ≥ 1")
    sweep = Sweep(trials[0].config, store=store, workers=workers, cluster=cluster,
                  name=store.new_name(trials[0].config, prefix))
    sweep.search = _PlannedSearch(trials[0].config, trials)

    def on_update(update: TrialUpdate) -> None:
        if on_done is not None and update.info is not None and update.status in FINISHED:
            on_done(update.trial, update.info)

    sweep.on_update = on_update
    return sweep.run()
