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

from dataclasses import dataclass, field
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.config import TrainConfig, format_field
from engine.errors import ConfigError
from engine.sweep import Trial, parse_vary, plan
from nnfs_tui.dialogs.form import FormDialog

#: Lines of the "vary" part of the dialog at first, and at most (Enter on the last one,
#: when it is filled in, adds one).
VARY_ROWS = 3
MAX_VARY_ROWS = 8


def plan_sweep(base: TrainConfig, vary: list[str], samples: str = "", trials: str = "1",
               seed: str = "0") -> list[Trial]:
    """The trials the dialog's text describes (one "FIELD: VALUES" line per grid field,
    blank lines skipped; space-separated samples), planned by the engine; raises
    ConfigError with the same words as ``nnfs-train sweep``."""
    items = [item for item in map(parse_vary, vary) if item is not None]
    return plan(base, items, samples.split(), trials, seed)


def describe(trial: Trial) -> str:
    """What the sweep set for this trial (see :meth:`Trial.describe`)."""
    return trial.describe()


@dataclass
class SweepProgress:
    """A sweep under way in the app: its trials and how far it got."""

    trials: list[Trial]
    """Every trial, in the order they run."""
    base: TrainConfig
    """The form's config before the sweep (shown again when it ends)."""
    index: int = 0
    """Index of the trial training now."""
    runs: list[tuple[int, str]] = field(default_factory=list)
    """(trial index, run name) of every trial recorded so far."""

    @property
    def trial(self) -> Trial:
        return self.trials[self.index]

    def label(self, index: int | None = None) -> str:
        """``trial 2/6 [learning_rate=0.003]``."""
        trial = self.trials[self.index if index is None else index]
        return f"trial {trial.index + 1}/{len(self.trials)} [{describe(trial)}]"


class SweepDialog(FormDialog[list[Trial] | None]):
    """Vary form fields over a grid and/or random samples; Enter starts, Esc cancels.

    Returns the trials (each the form's config with the varied fields replaced) or None.
    """

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, base: TrainConfig) -> None:
        super().__init__()
        self.base: TrainConfig = base
        """The form's config: every field the sweep does not vary keeps its value."""
        self.trials: list[Trial] = []
        """The trials the text describes now ([] while it has an error)."""

    def compose(self) -> ComposeResult:
        base = self.base
        prefill = [f"learning_rate: {format_field('learning_rate', base.learning_rate)}",
                   f"hidden_sizes: {format_field('hidden_sizes', base.hidden_sizes)}"]
        prefill += [""] * (VARY_ROWS - len(prefill))
        with Vertical(classes="dialog") as box:
            box.border_title = "Sweep: one run per trial, one after another"
            box.border_subtitle = "Enter: next line or field · Start sweep starts · Esc cancels"
            yield Label("Grid (every combination), a field a line: FIELD: VALUE VALUE ...",
                        classes="hint", markup=False)
            for i, text in enumerate(prefill):
                yield self._vary_line(i, text)
            yield Label("Random samples: FIELD=log:LOW:HIGH or FIELD=uniform:LOW:HIGH ...",
                        classes="hint", markup=False)
            yield Input("", id="sample", compact=True, select_on_focus=False,
                        placeholder="e.g. learning_rate=log:1e-4:1e-1 dropout=uniform:0:0.5")
            with Horizontal(id="sweep-counts"):
                yield Label("Draws per grid point ", markup=False)
                yield Input("1", id="trials", compact=True, select_on_focus=False)
                yield Label("  Seed of the draws ", markup=False)
                yield Input("0", id="seed", compact=True, select_on_focus=False)
            yield Static("", id="sweep-error", classes="error", markup=False)
            yield Static("", id="sweep-summary", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Start sweep", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @staticmethod
    def _vary_line(index: int, text: str = "") -> Input:
        return Input(text, id=f"vary-{index}", compact=True, select_on_focus=False,
                     classes="vary",
                     placeholder="e.g. batch_size: 64 256   or   hidden_sizes: 64 128,64")

    @property
    def vary_lines(self) -> list[Input]:
        """The grid's lines, in order."""
        return list(self.query("Input.vary").results(Input))

    def on_mount(self) -> None:
        field = self.query_one("#vary-0", Input)
        field.focus()
        field.cursor_position = len(field.value)
        self.check()

    @property
    def error(self) -> str:
        """The message under the fields ("" when the text describes a sweep)."""
        return str(self.query_one("#sweep-error", Static).render())

    @property
    def summary(self) -> str:
        """How many trials the text describes, and what each trains."""
        return str(self.query_one("#sweep-summary", Static).render())

    def check(self) -> list[Trial] | None:
        """Plan the sweep from the text; show the trial count or the engine's message."""
        value = {i.id: i.value for i in self.query(Input)}
        try:
            trials = plan_sweep(self.base, [line.value for line in self.vary_lines],
                                value["sample"], value["trials"], value["seed"])
        except ConfigError as exc:
            self.trials = []
            self.query_one("#sweep-error", Static).update(str(exc))
            self.query_one("#sweep-error", Static).display = True
            self.query_one("#sweep-summary", Static).update("")
            self.set_class(True, "-invalid")
            return None
        self.trials = trials
        self.query_one("#sweep-error", Static).update("")
        self.query_one("#sweep-error", Static).display = False
        self.query_one("#sweep-summary", Static).update(self._summary(trials))
        self.set_class(False, "-invalid")
        return trials

    def _summary(self, trials: list[Trial]) -> str:
        n = len(trials)
        epochs = sorted({t.config.epochs for t in trials})
        total = sum(t.config.epochs for t in trials)
        each = (f"{epochs[0]} epoch{'s' * (epochs[0] != 1)}" if len(epochs) == 1
                else f"{epochs[0]} to {epochs[-1]} epochs ({total} epochs in all)")
        shown = " ".join(f"[{describe(t)}]" for t in trials[:2]) + (" ..." if n > 2 else "")
        return (f"{n} trial{'s' * (n != 1)} of {each}, one after another: {shown}; other "
                "fields as in the form. Each trial is a recorded run (F2 ranks them).")

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
                line.focus()
            else:
                self.query_one("#sample", Input).focus()
            return
        order = ["sample", "trials", "seed"]
        if field.id in order[:-1]:
            self.query_one(f"#{order[order.index(field.id) + 1]}", Input).focus()
        else:
            self.query_one("#ok").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()

    def accept(self) -> None:
        """Close with the trials, or keep the dialog open with the reason they cannot run."""
        trials = self.check()
        if trials:
            self.dismiss(trials)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
