"""The sweep view (F12 while a sweep runs, or "Sweep view" in the palette): every trial with
its varied values, status and score; the running trials' curves overlaid; the leaderboard.

It handles the sweep's messages (:mod:`nnfs_tui.messages`, posted by the sweep's thread)
even while hidden, so F12 shows it up to date. At 80x24: a header line, the trials beside the
leaderboard, the curves below; at 120x40 the same with room to spare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Static

from engine.config import format_field
from engine.sweep import FINISHED
from nnfs_tui import messages as msg
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.overlay_plot import RUN_STYLES, Curve, OverlayPlot, legend
from nnfs_tui.widgets.progress import format_percent
from nnfs_tui.widgets.runs_table import HEADERS, STATUS_STYLES

if TYPE_CHECKING:
    from nnfs_tui.dialogs.sweep import SweepSettings

#: Leaderboard rows shown.
LEADERS = 8


@dataclass
class TrialRow:
    """What the view knows of one trial."""

    index: int
    """0-based position in the sweep."""
    run: str
    """Its run name ("" while a planned grid trial has not been handed out)."""
    varied: tuple[tuple[str, str], ...]
    """(field, value text) the sweep set."""
    status: str = "queued"
    """queued, running, or how it ended."""
    epoch: int = 0
    """Epochs trained so far."""
    epochs: int = 0
    """Epochs it trains at most."""
    score: float | None = None
    """The last epoch's score while running; the run's score() once ended."""
    curve: tuple[tuple[float, float], ...] = ()
    """(epoch, score %) per epoch so far."""


class SweepScreen(Screen[None]):
    """One sweep, live: trials, overlaid curves of the running ones, leaderboard."""

    CSS_PATH = Path(__file__).with_name("sweep.tcss")
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back", show=False),
    ]

    sweep_state: reactive[str] = reactive("running")
    """running, stopping, or how the sweep ended (completed, stopped, interrupted,
    failed)."""
    finished: reactive[int] = reactive(0)
    """Trials that have finished (completed, pruned, diverged, failed; not interrupted)."""

    def __init__(self, name: str, settings: SweepSettings, *, timing: bool = True) -> None:
        super().__init__()
        self.sweep_name: str = name
        """The sweep's name (its messages carry it)."""
        self.settings: SweepSettings = settings
        """What the dialog asked for."""
        self.timing: bool = timing
        """Show measured times (off for reproducible snapshots)."""
        self.rows: dict[int, TrialRow] = {
            t.index: TrialRow(t.index, "", tuple((k, v) for k, v in _texts(t.varied)),
                              epochs=t.config.epochs) for t in settings.planned}
        """Every trial known so far, by index."""
        self.reason: str = ""
        """Why the sweep ended early ("" otherwise)."""
        self._ready = False  # the table has its columns (messages may come before)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ScreenHeader("Sweep")
        yield Static("", id="sweep-header", markup=False)
        with Horizontal(id="sweep-body"):
            yield DataTable(id="sweep-trials", cursor_type="row", zebra_stripes=True)
            yield Static("", id="sweep-leaders", markup=False)
        yield Static("", id="sweep-legend", markup=False)
        yield OverlayPlot("score %", percent=True, id="sweep-plot")
        yield FittedFooter(compact=True, show_command_palette=False)

    @property
    def table(self) -> DataTable:
        """One row per trial."""
        return self.query_one("#sweep-trials", DataTable)

    @property
    def plot(self) -> OverlayPlot:
        """The running trials' scores per epoch, overlaid."""
        return self.query_one("#sweep-plot", OverlayPlot)

    def on_mount(self) -> None:
        table = self.table
        table.add_column("#", key="index", width=3)
        table.add_column("status", key="status", width=11)  # "interrupted"
        for name in self.settings.fields:
            table.add_column(_header(name), key=f"v:{name}")
        table.add_column("epoch", key="epoch", width=7)
        table.add_column("score", key="score", width=6)
        self._ready = True
        for row in sorted(self.rows.values(), key=lambda r: r.index):
            self._add(row)
        self._show_header()
        self._show_leaders()
        self._show_curves()

    def restore(self, entries: list[dict[str, object]]) -> None:
        """A resumed sweep: its record's trials (``sweep.json``'s ``trials_run``) as they
        stand, before the driver goes on."""
        for entry in entries:
            index = int(str(entry["index"]))
            varied = entry.get("varied")
            row = self.rows.get(index)
            if row is None:
                row = self.rows[index] = TrialRow(index, "", tuple(
                    (str(k), str(v)) for k, v in (varied.items() if isinstance(varied, dict)
                                                  else ())))
                self._add(row)
            row.run, row.status = str(entry["run"]), str(entry["status"])
            epochs = entry.get("epochs")
            row.epoch = epochs if isinstance(epochs, int) else row.epoch
            row.epochs = row.epochs or self._epochs_of(row.varied)
            score = entry.get("score")
            row.score = float(score) if isinstance(score, int | float) else None
            self._update(row)
        self._count()
        self._show_leaders()

    # -- the sweep's messages ---------------------------------------------------------------
    def on_trial_queued(self, message: msg.TrialQueued) -> None:
        """A trial was handed to a worker (again, after its worker died: ``retry``)."""
        if message.sweep != self.sweep_name:
            return
        row = self.rows.get(message.index)
        if row is None:
            row = self.rows[message.index] = TrialRow(
                message.index, message.run, message.varied,
                epochs=self._epochs_of(message.varied))
            self._add(row)
        row.run, row.status = message.run, "retrying" if message.retry else "queued"
        self._update(row)

    def on_trial_started(self, message: msg.TrialStarted) -> None:
        """A worker began the trial."""
        if (row := self._row(message)) is not None:
            row.status = "running"
            self._update(row)
            self._show_curves()
            self._show_header()

    def on_trial_epoch(self, message: msg.TrialEpoch) -> None:
        """Epochs of a trial ended: its cells and its curve."""
        if (row := self._row(message)) is not None:
            row.status = "running"
            row.epoch, row.epochs, row.score = message.epoch, message.epochs, message.score
            row.curve = message.curve
            self._update(row)
            self._show_curves()

    def on_trial_ended(self, message: msg.TrialEnded) -> None:
        """A trial ended: its status, its run's score, the leaderboard."""
        if (row := self._row(message)) is not None:
            row.status, row.score = message.status, message.score
            row.epoch = message.epochs or row.epoch
            self._update(row)
            self._count()
            self._show_curves()
            self._show_leaders()

    def on_sweep_ended(self, message: msg.SweepEnded) -> None:
        """The driver returned: the header says how; the controller takes it from here."""
        if message.sweep != self.sweep_name:
            return
        self.reason = message.reason
        self.sweep_state = message.status
        self._show_curves()
        sweeps = getattr(self.app, "controller", None)
        if sweeps is not None:
            sweeps.sweeps.ended(message, self.ranked())

    def _count(self) -> None:
        self.finished = sum(r.status in FINISHED for r in self.rows.values())

    def _epochs_of(self, varied: tuple[tuple[str, str], ...]) -> int:
        """The epochs a trial with ``varied`` values trains at most."""
        text = dict(varied).get("epochs")
        return int(text) if text is not None and text.isdigit() else (
            self.settings.base.epochs)

    def _row(self, message: msg.TrialStarted | msg.TrialEpoch | msg.TrialEnded
             ) -> TrialRow | None:
        if message.sweep != self.sweep_name:
            return None
        return next((r for r in self.rows.values() if r.run == message.run), None)

    # -- drawing -----------------------------------------------------------------------------
    def _cells(self, row: TrialRow) -> list[Text | str]:
        varied = dict(row.varied)
        epoch = ("-" if row.status == "queued" and not row.epoch else
                 f"{row.epoch}/{row.epochs}" if row.epochs else str(row.epoch or "-"))
        return [str(row.index + 1), Text(row.status, style=STATUS_STYLES.get(row.status, "")),
                *(varied.get(name, "-") for name in self.settings.fields), epoch,
                format_percent(row.score)]

    def _add(self, row: TrialRow) -> None:
        if self._ready:
            self.table.add_row(*self._cells(row), key=str(row.index))

    def _update(self, row: TrialRow) -> None:
        if not self._ready:
            return
        table = self.table
        keys = ["index", "status", *(f"v:{n}" for n in self.settings.fields), "epoch",
                "score"]
        for key, cell in zip(keys, self._cells(row), strict=True):
            table.update_cell(str(row.index), key, cell)
        self._show_header()

    def _show_curves(self) -> None:
        """The running trials' curves; once none runs, the leaders'."""
        if not self._ready:
            return
        shown = [r for r in self.rows.values() if r.status == "running"]
        if not shown:
            leaders = {run for run, _, _ in self.ranked()[:len(RUN_STYLES)]}
            shown = [r for r in self.rows.values() if r.run in leaders]
        shown.sort(key=lambda r: r.index)
        curves = [Curve(f"#{r.index + 1}", RUN_STYLES[r.index % len(RUN_STYLES)], r.curve)
                  for r in shown[:len(RUN_STYLES)]]
        self.plot.set_curves(curves)
        title = "running" if any(r.status == "running" for r in shown) else "leaders"
        text = Text(f"Score per epoch, {title}: ", style="dim")
        text.append_text(legend(curves))
        self.query_one("#sweep-legend", Static).update(text)

    def ranked(self) -> list[tuple[str, str, float]]:
        """(run, varied text, score) of the trials that ended with a score, best first."""
        ended = [r for r in self.rows.values()
                 if r.score is not None and r.status not in ("queued", "running", "retrying")]
        ended.sort(key=lambda r: (-(r.score or 0.0), r.index))
        return [(r.run, ", ".join(f"{k}={v}" for k, v in r.varied), r.score or 0.0)
                for r in ended]

    def _values(self, run: str) -> str:
        row = next(r for r in self.rows.values() if r.run == run)
        return " ".join(v for _, v in row.varied)

    def _show_leaders(self) -> None:
        if not self._ready:
            return
        text = Text("Leaderboard\n", style="bold")
        ranked = self.ranked()
        if not ranked:
            text.append("no trial has ended yet", style="dim")
        index = {r.run: r.index for r in self.rows.values()}
        for place, (run, _, value) in enumerate(ranked[:LEADERS], 1):
            text.append(f"{place}. ")
            text.append(f"{format_percent(value):>6}", style="bold green" if place == 1
                        else "")
            text.append(f" #{index[run] + 1} {self._values(run)}\n")
        self.query_one("#sweep-leaders", Static).update(text)

    def _show_header(self) -> None:
        controller = getattr(self.app, "controller", None)
        if controller is not None and controller.sweeps.view is self:
            controller.screen.update_run_status()  # every header: "sweep trial 2/6"
        if not self._ready:
            return
        s = self.settings
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.status] = counts.get(row.status, 0) + 1
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        where = s.cluster or (f"{s.workers} worker{'s' * (s.workers != '1')}"
                              if s.workers != "auto" else "a worker per core")
        state = self.sweep_state + (f": {self.reason}" if self.reason else "")
        keys = "F7 stops · Esc back · " if self.sweep_state in ("running", "stopping") else (
            "Esc back · ")  # first: the line is cut at its end on a narrow terminal
        self.query_one("#sweep-header", Static).update(
            f"{keys}{self.sweep_name} · {state} · {self.finished}/{s.total} done ({parts}) · "
            f"{s.search}, pruning {s.prune}, {where}")

    def watch_sweep_state(self, state: str) -> None:
        """The header and its colour follow the sweep."""
        self.set_class(state == "stopping", "-stopping")
        self.set_class(state not in ("running", "stopping"), "-ended")
        self._show_header()

    def watch_finished(self) -> None:
        self._show_header()

    def action_close(self) -> None:
        """Esc: back to the train screen (the sweep goes on; F12 shows it again)."""
        if self.app.screen is self:
            self.app.pop_screen()


def _header(name: str) -> str:
    """A varied field's column header: the Runs table's short word where it has one."""
    return {"hidden_sizes": "hidden"}.get(name, HEADERS.get(name, name))


def _texts(varied: dict[str, object]) -> list[tuple[str, str]]:
    return [(k, format_field(k, v)) for k, v in varied.items()]
