"""Plan a sweep from the app: a grid and/or random samples of form fields, one run per trial.

The dialog starts from the form's config and returns the engine's
:class:`~engine.sweep.Trial` list (or None when cancelled); the app trains them one after
another as normal recorded runs, so the Runs table (F2) is the leaderboard. The text is
checked by the engine (:func:`~engine.sweep.parse_grid`, :func:`~engine.sweep.parse_sample`,
:func:`~engine.sweep.expand`), so a bad value gets the same message as
``nnfs-train sweep``::

    learning_rate: 1e-3 3e-3 1e-2          one line per field: a grid of every combination
    hidden_sizes: 64 128,64
    learning_rate=log:1e-4:1e-1            random samples, drawn `trials` times per point
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.config import TrainConfig, format_field
from engine.errors import ConfigError, NNFSError
from engine.sweep import (
    DASK_ENV,
    Search,
    Trial,
    check_address,
    parse_grid,
    parse_sample,
    parse_vary,
    plan,
)
from engine.sweep.around import SweepPrefill
from engine.sweep.executors import resolve_workers, resolve_workers_any
from nnfs_tui.dialogs.form import FormDialog
from nnfs_tui.widgets.text_field import TextField

#: Lines of the "vary" part of the dialog at first, and at most (Enter on the last one,
#: when it is filled in, adds one).
VARY_ROWS = 3
MAX_VARY_ROWS = 8
#: What the first empty grid line shows.
VARY_EXAMPLE = "e.g. batch_size: 64 256   or   hidden_sizes: 64 128,64"


def plan_sweep(base: TrainConfig, vary: list[str], samples: str = "", trials: str = "1",
               seed: str = "0") -> list[Trial]:
    """The trials the dialog's text describes (one "FIELD: VALUES" line per grid field,
    blank lines skipped; space-separated samples), planned by the engine; raises
    ConfigError with the same words as ``nnfs-train sweep``."""
    items = [item for item in map(parse_vary, vary) if item is not None]
    return plan(base, items, samples.split(), trials, seed)


@dataclass(frozen=True)
class SweepSettings:
    """A sweep as the dialog describes it, checked by the engine: what
    :class:`~engine.sweep.Sweep` is built from."""

    base: TrainConfig
    """The form's config: every field the sweep does not vary keeps its value."""
    vary: tuple[tuple[str, tuple[str, ...]], ...]
    """(field, value texts) of each grid line."""
    samples: tuple[str, ...]
    """``FIELD=log:LOW:HIGH`` / ``FIELD=uniform:LOW:HIGH`` texts."""
    trials: int
    """Draws of the sampled fields per grid point (grid search)."""
    seed: int
    """Seed of the draws, of the random and TPE samplers."""
    search: str = "grid"
    """grid, random or tpe."""
    budget: int | None = None
    """Trials of a random or TPE search (None for grid)."""
    prune: str = "none"
    """asha, median or none."""
    workers: str = "auto"
    """``auto`` or a whole number: trials trained at once."""
    cluster: str = ""
    """A Dask scheduler's address (``tcp://HOST:PORT``); "" trains on this machine."""
    total: int = 1
    """How many trials the sweep trains."""
    planned: tuple[Trial, ...] = ()
    """Every trial, known in advance for grid search (random and TPE ask as they go)."""

    @property
    def fields(self) -> list[str]:
        """The fields the sweep varies, grid first, then the sampled ones."""
        return [name for name, _ in self.vary] + [s.partition("=")[0] for s in self.samples]


def check_sweep(base: TrainConfig, vary: list[str], samples: str = "", trials: str = "1",
                seed: str = "0", search: str = "grid", budget: str = "", prune: str = "none",
                workers: str = "auto", cluster: str = "") -> SweepSettings:
    """The sweep the dialog's text describes, every part checked by the engine (so a bad
    value reads as it does from ``nnfs-train sweep``); raises ConfigError or NNFSError."""
    items = [item for item in map(parse_vary, vary) if item is not None]
    drawn = samples.split()
    planned = plan(base, items, drawn, trials, seed)
    budget_text = budget.strip()
    try:
        n_budget = int(budget_text) if budget_text else None
    except ValueError:
        raise ConfigError("budget", budget_text, "a whole number") from None
    search, prune = search.strip(), prune.strip()
    checked = Search(base, parse_grid(items), dict(parse_sample(s) for s in drawn),
                     search=search, budget=n_budget if search != "grid" else None,
                     trials=int(trials), seed=int(seed), prune=prune)
    workers, cluster = workers.strip() or "auto", cluster.strip()
    if cluster:
        check_address(cluster)
    if workers != "auto":
        (resolve_workers_any if cluster else resolve_workers)(workers)
    return SweepSettings(base, tuple((n, tuple(v)) for n, v in items), tuple(drawn),
                         int(trials), int(seed), search, n_budget if search != "grid" else None,
                         prune, workers, cluster, checked.total,
                         tuple(planned) if search == "grid" else ())


def next_prefill(settings: SweepSettings) -> SweepPrefill:
    """The dialog's text for the sweep after ``settings`` in the same session: its fields,
    with the next seed for a random or tpe search (the same seed would draw the same
    trials again; a grid keeps its seed, so its plan stays as it was)."""
    seed = settings.seed + 1 if settings.search in ("random", "tpe") else settings.seed
    return SweepPrefill(settings.base,
                        tuple(f"{name}: {' '.join(values)}" for name, values in settings.vary),
                        " ".join(settings.samples), str(settings.trials), str(seed),
                        settings.search, "" if settings.budget is None else str(settings.budget),
                        settings.prune)


#: The dialog's single-line fields after the grid lines, in the order Enter walks them.
FIELD_ORDER = ("sample", "trials", "seed", "workers", "cluster", "search", "budget", "prune")


@dataclass(frozen=True)
class ExecutorChoice:
    """Where the last sweep started from the dialog trained: the next one starts there too
    (the app keeps it as ``app.sweep_executor`` for the session)."""

    workers: str = "auto"
    """``auto`` or a whole number."""
    cluster: str = ""
    """A Dask scheduler's address; "" for this machine."""


class SweepDialog(FormDialog[SweepSettings | None]):
    """Vary form fields over a grid, random samples or a model-based search, on this
    machine's cores or a Dask cluster; Enter walks the fields, then starts; Esc cancels.

    Returns the checked :class:`SweepSettings` or None.
    """

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, base: TrainConfig, prefill: SweepPrefill | None = None,
                 around: str = "", last: SweepPrefill | None = None) -> None:
        """``prefill``: the text to start from (a sweep around a run), ready to start: the
        Start button has focus. ``last``: else the text of this session's last sweep (see
        :func:`next_prefill`), the first grid line focused. Without either, the form's
        learning rate and sizes. ``around``: the run it is around, for the title and the
        summary."""
        super().__init__()
        self.last: SweepPrefill | None = last
        """The last sweep's text, when the dialog opened with it."""
        self.base: TrainConfig = base
        """The form's config: every field the sweep does not vary keeps its value."""
        self.prefill: SweepPrefill | None = prefill
        """The text the dialog opened with (None: the form's values)."""
        self.around: str = around
        """The run the sweep is planned around ("" for one planned from the form)."""
        self.settings: SweepSettings | None = None
        """The sweep the text describes now (None while it has an error)."""

    def _executor(self) -> ExecutorChoice:
        """Where the last sweep trained (the app remembers it), else one worker per core
        here or the cluster of ``$NNFS_DASK_SCHEDULER``."""
        last = getattr(self.app, "sweep_executor", None)
        if isinstance(last, ExecutorChoice):
            return last
        return ExecutorChoice("auto", os.environ.get(DASK_ENV, ""))

    @property
    def trials(self) -> list[Trial]:
        """The planned trials of a grid search ([] while the text has an error, or for
        random and TPE search, whose trials are chosen as the sweep goes)."""
        return list(self.settings.planned) if self.settings is not None else []

    def compose(self) -> ComposeResult:
        base = self.base
        start = self.prefill or self.last
        if start is not None:
            lines = list(start.vary[:MAX_VARY_ROWS])
            texts = start.texts()
        else:
            lines = [f"learning_rate: {format_field('learning_rate', base.learning_rate)}",
                     f"hidden_sizes: {format_field('hidden_sizes', base.hidden_sizes)}"]
            texts = {"sample": "", "trials": "1", "seed": "0", "search": "grid",
                     "budget": "", "prune": "none"}
        lines += [""] * (VARY_ROWS - len(lines))
        executor = self._executor()
        with Vertical(classes="dialog") as box:
            box.border_title = (f"Sweep around {self.around}: one recorded run per trial"
                                if self.around else "Sweep: one recorded run per trial")
            box.border_subtitle = "Enter: next line or field · Start sweep starts · Esc cancels"
            yield Label("Grid (every combination), a field a line: FIELD: VALUE VALUE ...",
                        classes="hint", markup=False)
            for i, text in enumerate(lines):
                yield self._vary_line(i, text)
            yield Label("Random samples: FIELD=log:LOW:HIGH or FIELD=uniform:LOW:HIGH ...",
                        classes="hint", markup=False)
            yield TextField(texts["sample"], id="sample", compact=True, select_on_focus=False,
                        placeholder="e.g. learning_rate=log:1e-4:1e-1 dropout=uniform:0:0.5")
            with Horizontal(classes="sweep-row"):
                yield Label("Draws per grid point ", markup=False)
                yield TextField(texts["trials"], id="trials", compact=True, select_on_focus=False)
                yield Label("  Seed ", markup=False)
                yield TextField(texts["seed"], id="seed", compact=True, select_on_focus=False)
                yield Label("  Workers ", markup=False)
                yield TextField(executor.workers, id="workers", compact=True, select_on_focus=False,
                            placeholder="N|auto")
            with Horizontal(classes="sweep-row"):
                yield Label("Dask cluster ", markup=False)
                yield TextField(executor.cluster, id="cluster", compact=True,
                            select_on_focus=False,
                            placeholder="blank: this machine; tcp://127.0.0.1:8786")
            with Horizontal(classes="sweep-row"):
                yield Label("Search ", markup=False)
                yield TextField(texts["search"], id="search", compact=True, select_on_focus=False,
                            placeholder="grid|random|tpe")
                yield Label(" grid, random or tpe    Budget ", markup=False)
                yield TextField(texts["budget"], id="budget", compact=True, select_on_focus=False,
                            placeholder="trials")
            with Horizontal(classes="sweep-row"):
                yield Label("Pruning ", markup=False)
                yield TextField(texts["prune"], id="prune", compact=True, select_on_focus=False,
                            placeholder="none|asha|median")
                yield Label(" none, asha or median", markup=False)
            yield Static("", id="sweep-error", classes="error", markup=False)
            yield Static("", id="sweep-summary", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Start sweep", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @staticmethod
    def _vary_line(index: int, text: str = "") -> Input:
        return TextField(text, id=f"vary-{index}", compact=True, select_on_focus=False,
                     classes="vary")

    def _show_example(self) -> None:
        """The example goes in the first empty grid line only."""
        empty = [line for line in self.vary_lines if not line.value]
        for line in self.vary_lines:
            line.placeholder = VARY_EXAMPLE if empty and line is empty[0] else ""

    @property
    def vary_lines(self) -> list[Input]:
        """The grid's lines, in order."""
        return list(self.query("Input.vary").results(Input))

    def on_mount(self) -> None:
        settings = self.check()
        if self.prefill is not None and settings is not None:
            self.query_one("#ok", Button).focus()  # ready: Enter starts it
            return
        field = self.query_one("#vary-0", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @property
    def error(self) -> str:
        """The message under the fields ("" when the text describes a sweep)."""
        return str(self.query_one("#sweep-error", Static).render())

    @property
    def summary(self) -> str:
        """How many trials the text describes, and what each trains."""
        return str(self.query_one("#sweep-summary", Static).render())

    def check(self) -> SweepSettings | None:
        """Check the sweep with the engine; show the trial count or the engine's message."""
        self._show_example()
        value = {i.id: i.value for i in self.query(Input)}
        try:
            settings = check_sweep(self.base, [line.value for line in self.vary_lines],
                                   **{"samples" if name == "sample" else name: value[name]
                                      for name in FIELD_ORDER})
        except (ConfigError, NNFSError) as exc:
            self.settings = None
            self.query_one("#sweep-error", Static).update(str(exc))
            self.query_one("#sweep-error", Static).display = True
            self.query_one("#sweep-summary", Static).update("")
            self.set_class(True, "-invalid")
            return None
        self.settings = settings
        self.query_one("#sweep-error", Static).update("")
        self.query_one("#sweep-error", Static).display = False
        self.query_one("#sweep-summary", Static).update(self._summary(settings))
        self.set_class(False, "-invalid")
        return settings

    def _summary(self, settings: SweepSettings) -> str:
        n = settings.total
        where = (f"on the Dask cluster at {settings.cluster}" if settings.cluster else
                 "one at a time" if settings.workers == "1" else
                 f"{settings.workers} at once" if settings.workers != "auto" else
                 "one per core")
        prune = "" if settings.prune == "none" else f", pruned by {settings.prune}"
        others = f"other fields as in run {self.around}" if self.around else (
            "other fields as in the form")
        if settings.search != "grid":
            return (f"{n} trial{'s' * (n != 1)} chosen by {settings.search} search (seed "
                    f"{settings.seed}) over {', '.join(settings.fields)}, {where}{prune}; "
                    f"{others}. Each trial is a recorded run (F2 ranks them).")
        trials = settings.planned
        epochs = sorted({t.config.epochs for t in trials})
        total = sum(t.config.epochs for t in trials)
        each = (f"{epochs[0]} epoch{'s' * (epochs[0] != 1)}" if len(epochs) == 1
                else f"{epochs[0]} to {epochs[-1]} epochs ({total} epochs in all)")
        seed = f", samples drawn with seed {settings.seed}" if settings.samples else ""
        shown = " ".join(f"[{t.describe()}]" for t in trials[:2]) + (" ..." if n > 2 else "")
        return (f"{n} trial{'s' * (n != 1)} of {each}, {where}{prune}{seed}: {shown}; "
                f"{others}. Each trial is a recorded run (F2 ranks them).")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves on instead of starting: a grid line goes to the next line (the last
        one, filled in, gets a new line below it), the other fields to the next field and
        then to the Start button, where Enter starts the sweep."""
        event.stop()
        event.prevent_default()  # FormDialog's handler (Enter accepts) must not run too
        field = event.input
        lines = self.vary_lines
        if field in lines:
            i = lines.index(field)
            if i + 1 < len(lines):
                lines[i + 1].focus()
            elif field.value.strip() and len(lines) < MAX_VARY_ROWS:
                line = self._vary_line(int(field.id.split("-")[1]) + 1)
                self.query_one(".dialog").mount(line, after=field)
                line.placeholder = VARY_EXAMPLE  # the only empty line: the others are filled
                line.focus()
            else:
                self.query_one("#sample", Input).focus()
            return
        if field.id in FIELD_ORDER[:-1]:
            self.query_one(f"#{FIELD_ORDER[FIELD_ORDER.index(field.id) + 1]}", Input).focus()
        else:
            self.query_one("#ok").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()

    def accept(self) -> None:
        """Close with the sweep, or keep the dialog open with the reason it cannot run."""
        settings = self.check()
        if settings is not None:
            if hasattr(self.app, "sweep_executor"):  # the next sweep starts there too
                self.app.sweep_executor = ExecutorChoice(settings.workers, settings.cluster)
            self.dismiss(settings)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
