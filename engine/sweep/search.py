"""Which trial next, and whether a running trial is worth finishing: Optuna's samplers and
pruners through its ask-and-tell interface, on an in-memory study.

    grid    the planned trials (every grid point × draws of the sampled fields, from the
            sweep seed; :func:`~engine.sweep.plan.expand`), in order
    random  ``budget`` trials drawn by Optuna's RandomSampler(seed)
    tpe     ``budget`` trials proposed by Optuna's TPESampler(seed) from the trials told so
            far (the first few are random)

A resumed random or tpe sweep proposes the trials it would have proposed had it never
stopped: :meth:`Search.skip` moves the sampler's random stream past every trial asked
before (finished or not), so the next new trial gets the draw the uninterrupted sweep gave
it. For random search, the whole sweep is the same set of trials for the seed however often
it is stopped; tpe's model-guided proposals depend on which trials had finished when, so a
resumed tpe sweep only never proposes a trial it asked before again by its random draws.

A grid field (``--vary``) is a categorical choice for random and tpe; a sampled field
(``--sample FIELD=log:LOW:HIGH``) a float or int range, log-scaled for ``log``.

Pruning (any search) reports each trial's score per epoch (validation accuracy, else test
accuracy) to ``asha`` (SuccessiveHalvingPruner: rungs at 1, 3, 9... epochs, the best third
goes on) or ``median`` (MedianPruner: stop a trial below the median of earlier trials at
the same epoch), or ``none``.
"""

from __future__ import annotations

from typing import Any

from engine.config import FIELDS, ConfigError, TrainConfig, format_field
from engine.sweep.plan import Trial, expand

SEARCHES = ("grid", "random", "tpe")
PRUNERS = ("asha", "median", "none")
MAX_BUDGET = 1000


def _optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_pruner(prune: str) -> Any:
    """The Optuna pruner for ``--prune``."""
    optuna = _optuna()
    if prune == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if prune == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if prune == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError("prune", prune, "one of " + ", ".join(PRUNERS))


class Search:
    """Proposes trials and judges them, in the driver's thread only (Optuna's study is not
    shared with the workers)."""

    def __init__(self, base: TrainConfig, grid: dict[str, list[Any]] | None = None,
                 sample: dict[str, tuple[str, float, float]] | None = None, *,
                 search: str = "grid", budget: int | None = None, trials: int = 1,
                 seed: int = 0, prune: str = "none") -> None:
        if search not in SEARCHES:
            raise ConfigError("search", search, "one of " + ", ".join(SEARCHES))
        optuna = _optuna()
        self.base = base
        self.search = search
        self.grid = dict(grid or {})
        self.sample = dict(sample or {})
        self._fixed: list[Trial] = []
        if search == "grid":
            self._fixed = expand(base, self.grid, self.sample, trials=trials, seed=seed)
            self.total = len(self._fixed)
            sampler = optuna.samplers.RandomSampler(seed=seed)  # asks no parameters
        else:
            if not self.grid and not self.sample:
                raise ConfigError("search", search, "fields to vary (--vary) or to sample "
                                  "(--sample) for the search to choose from")
            if budget is None or not 1 <= budget <= MAX_BUDGET:
                raise ConfigError("budget", budget, f"a whole number from 1 to {MAX_BUDGET} "
                                  f"(trials for {search} search)")
            self.total = budget
            sampler = (optuna.samplers.RandomSampler(seed=seed) if search == "random" else
                       optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(4, budget)))
        self._choices = {name: {format_field(name, v): v for v in values}
                         for name, values in self.grid.items()}
        self.distributions = self._distributions(optuna)
        self.sampler = sampler
        self.study = optuna.create_study(direction="maximize", sampler=sampler,
                                         pruner=make_pruner(prune))
        self._open: dict[int, Any] = {}
        self._taken: set[int] = set()

    def _distributions(self, optuna: Any) -> dict[str, Any]:
        dist = optuna.distributions
        out: dict[str, Any] = {name: dist.CategoricalDistribution(list(choices))
                               for name, choices in self._choices.items()}
        for name, (kind, low, high) in self.sample.items():
            if FIELDS[name].kind == "int":
                out[name] = dist.IntDistribution(int(round(low)), int(round(high)),
                                                 log=kind == "log")
            else:
                out[name] = dist.FloatDistribution(low, high, log=kind == "log")
        return out

    def _varied(self, params: dict[str, Any]) -> dict[str, Any]:
        varied: dict[str, Any] = {}
        for name, value in params.items():
            if name in self._choices:
                varied[name] = self._choices[name][value]
            elif FIELDS[name].kind == "int":
                varied[name] = int(value)
            else:
                varied[name] = float(f"{value:.4g}")
        return varied

    def _params(self, varied: dict[str, Any]) -> dict[str, Any]:
        return {name: format_field(name, v) if name in self._choices else v
                for name, v in varied.items() if name in self.distributions}

    def ask(self) -> Trial | None:
        """The next new trial, or None when the plan or the budget is used up."""
        index = next((i for i in range(self.total) if i not in self._taken), None)
        if index is None:
            return None
        self._taken.add(index)
        if self.search == "grid":
            self._open[index] = self.study.ask()
            return self._fixed[index]
        ot = self.study.ask(self.distributions)
        self._open[index] = ot
        varied = self._varied(ot.params)
        return Trial(index, self.base.replace(**varied), varied)

    def skip(self, asked: int) -> None:
        """Move the sampler's random stream past ``asked`` trials, as if it had drawn them:
        a resumed sweep's earlier trials, so that its new ones are not their repeats but
        the ones the sweep would have drawn next (random search: exactly those). Call it
        before any trial is asked; grid search draws nothing here and ignores it."""
        if self.search == "grid" or asked <= 0:
            return
        scratch = _optuna().create_study(direction="maximize", sampler=self.sampler)
        for _ in range(asked):
            scratch.ask(self.distributions)  # never told: tpe keeps to its random draws

    def again(self, index: int, varied: dict[str, Any]) -> Trial:
        """Trial ``index`` with the values it had, to be trained (on) again: a resumed
        sweep's interrupted trial."""
        self._taken.add(index)
        if self.search == "grid" and index < len(self._fixed):
            self._open[index] = self.study.ask()
            return self._fixed[index]
        self.study.enqueue_trial(self._params(varied))
        self._open[index] = self.study.ask(self.distributions)
        return Trial(index, self.base.replace(**varied), dict(varied))

    def told_before(self, index: int, varied: dict[str, Any], status: str,
                    score: float | None, curve: dict[int, float]) -> None:
        """A trial a resumed sweep finished earlier: the sampler and pruner learn from it
        and its index is not asked again (that its values are not drawn again is
        :meth:`skip`'s work)."""
        optuna = _optuna()
        self._taken.add(index)
        state = {"completed": optuna.trial.TrialState.COMPLETE,
                 "pruned": optuna.trial.TrialState.PRUNED}.get(status,
                                                               optuna.trial.TrialState.FAIL)
        if state == optuna.trial.TrialState.COMPLETE and score is None:
            state = optuna.trial.TrialState.FAIL
        params = self._params(varied) if self.search != "grid" else {}
        dists = {k: self.distributions[k] for k in params}
        self.study.add_trial(optuna.trial.create_trial(
            state=state, value=score if state == optuna.trial.TrialState.COMPLETE else None,
            params=params, distributions=dists, intermediate_values=dict(curve)))

    def report(self, index: int, epoch: int, score: float | None) -> bool:
        """Trial ``index`` scored ``score`` after ``epoch``: True when the pruner says stop."""
        ot = self._open.get(index)
        if ot is None or score is None:
            return False
        ot.report(score, epoch)
        return bool(ot.should_prune())

    def tell(self, index: int, status: str, score: float | None) -> None:
        """How trial ``index`` ended: completed (with its best score), pruned or failed."""
        ot = self._open.pop(index, None)
        if ot is None:
            return
        state = _optuna().trial.TrialState
        if status == "completed" and score is not None:
            self.study.tell(ot, score)
        elif status == "pruned":
            self.study.tell(ot, state=state.PRUNED)
        else:
            self.study.tell(ot, state=state.FAIL)
