"""The Runs screen: every recorded run in a sortable, filterable table, the curves of the
selected runs overlaid, and the run actions (diff, rerun, load into the form, delete, export).

The screen reads the run store and deletes from it; it never trains. Rerun, load config and
open model close it with a :class:`RunsResult` for the app to act on::

    app.push_screen(RunsScreen(store), callback=app.on_runs_result)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from engine.config import TrainConfig, format_field
from engine.errors import NNFSError
from engine.runs import RunInfo, RunStore, diff_configs
from nnfs_tui.dialogs import ConfigDiffDialog, ConfirmDialog, ExportDialog
from nnfs_tui.widgets.overlay_plot import RUN_STYLES, Curve, OverlayPlot, RunStyle, legend
from nnfs_tui.widgets.runs_table import (
    DESCENDING_FIRST,
    HEADERS,
    MARK_COLUMN,
    RunsTable,
    matches,
    sort_runs,
)

#: Which curves the plots show: the split's loss and accuracy (m cycles).
SPLITS = ("test", "val", "train")
#: Runs compared at once at most: one distinct colour and marker each.
MAX_SELECTED = len(RUN_STYLES)
#: Seconds between checks for new runs and progress of running ones.
AUTO_REFRESH = 2.0
#: The sort key cycles through "as recorded" (newest first), then every column.
SORT_CYCLE: tuple[str | None, ...] = (None, *HEADERS)

Action = Literal["rerun", "load_config", "open_checkpoint"]


@dataclass(frozen=True)
class RunsResult:
    """What the Runs screen asks the app to do when it closes with a result."""

    action: Action
    """rerun: start a run with exactly ``config`` (same seed, same result);
    load_config: put ``config`` into the form; open_checkpoint: load ``checkpoint``."""
    config: TrainConfig
    """The run's config as recorded (config.json)."""
    run_name: str
    """The run it came from."""
    run_path: Path
    """That run's directory."""
    checkpoint: Path | None = None
    """open_checkpoint: the run's final.npz (best.npz when there is no final)."""


class RunsScreen(Screen[RunsResult | None]):
    """Compare recorded runs. Esc closes it (returns None)."""

    CSS_PATH = Path(__file__).with_name("runs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [
        # letters act on the table; while the filter has focus they are typed into it
        Binding("escape", "close", "Close"),
        Binding("space", "toggle_select", "Select"),
        Binding("slash", "focus_filter", "Filter", show=False),  # the field says so
        Binding("s", "sort_next", "Sort"),
        Binding("S,shift+s", "sort_reverse", "Reverse sort", show=False),
        Binding("d", "diff", "Diff"),
        Binding("r", "rerun", "Rerun"),
        Binding("l", "load_config", "Form"),
        Binding("o", "open_checkpoint", "Open model", show=False),
        Binding("x,delete", "delete", "Delete"),
        Binding("e", "export", "Export"),
        Binding("m", "cycle_split", "Split", show=False),
        Binding("c", "clear_selection", "Unselect all", show=False),
        Binding("q", "close", "Close", show=False),
        Binding("down", "focus_table", "To the table", show=False),
        # works in the filter too
        Binding("ctrl+r", "refresh", "Refresh", show=False, priority=True),
    ]

    split: reactive[str] = reactive("test", init=False)
    """Which split's loss and accuracy the plots show: test, val or train."""

    def __init__(self, store: RunStore, *, timing: bool = True,
                 selected: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.store: RunStore = store
        """Where the runs are read from and deleted."""
        self.timing: bool = timing
        """Show measured times; off makes screenshots reproducible."""
        self.runs: list[RunInfo] = []
        """Every run in the store, newest first (as of the last refresh)."""
        self.filter_text: str = ""
        """What the filter field holds."""
        self.sort_column: str | None = None
        """The TABLE_COLUMNS key rows are sorted by (None: newest first)."""
        self.descending: bool = False
        """Sort direction."""
        self.selected: dict[str, RunStyle] = {}
        """Selected runs (in order of selection) and the style of their curves."""
        self.last_export: Path | None = None
        """Where the table was last exported."""
        self._preselect = selected
        self._metrics: dict[str, list[dict[str, float | None]]] = {}
        self._signature: tuple[int, ...] = ()
        self._plotted: tuple = ()

    def compose(self) -> ComposeResult:
        with Horizontal(id="runs-bar"):
            yield Input(placeholder="/ filter: name, architecture, optimizer, status…",
                        id="runs-filter")
            yield Static("", id="runs-summary")
        yield RunsTable(id="runs-table")
        yield Static("", id="runs-detail")
        yield Static("", id="runs-legend")
        with Horizontal(id="runs-plots"):
            yield OverlayPlot("test loss", id="runs-loss")
            yield OverlayPlot("test accuracy %", percent=True, id="runs-accuracy")
        yield Footer(compact=True, show_command_palette=False)

    # -- typed access ------------------------------------------------------------------------
    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#runs-filter", Input)

    @property
    def loss_plot(self) -> OverlayPlot:
        return self.query_one("#runs-loss", OverlayPlot)

    @property
    def accuracy_plot(self) -> OverlayPlot:
        return self.query_one("#runs-accuracy", OverlayPlot)

    @property
    def shown_runs(self) -> list[RunInfo]:
        """The rows on screen: filtered and sorted."""
        return list(self.table.shown)

    @property
    def highlighted(self) -> RunInfo | None:
        """The run under the table's cursor."""
        return self.table.highlighted

    def _by_name(self) -> dict[str, RunInfo]:
        return {run.name: run for run in self.runs}

    # -- loading -----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.reload()
        names = self._by_name()
        for name in self._preselect:
            if name in names and len(self.selected) < MAX_SELECTED:
                self.selected[name] = self._free_style()
        if self.selected:
            self._show()
        self.table.focus()
        self.set_interval(AUTO_REFRESH, self._poll_store)

    def _store_signature(self) -> tuple[int, ...]:
        try:
            return (self.store.root.stat().st_mtime_ns,)
        except OSError:
            return ()

    def reload(self) -> None:
        """Read the store again (new, finished and deleted runs) and redraw."""
        self._signature = self._store_signature()
        try:
            self.runs = self.store.list()
        except (OSError, NNFSError) as exc:
            self.runs = []
            self.notify(f"Cannot read the runs in {self.store.root}: {exc}",
                        title="Runs", severity="error")
        self._metrics.clear()
        self._plotted = ()  # the curves may have grown
        names = self._by_name()
        for name in [n for n in self.selected if n not in names]:
            del self.selected[name]
        self._show()

    def _poll_store(self) -> None:
        """Runs added or deleted: read the store again; runs still training: re-read just
        those (cheap, so a long list is not re-read every two seconds)."""
        if self._store_signature() != self._signature:
            self.reload()
            return
        running = [i for i, run in enumerate(self.runs) if run.status == "running"]
        if not running:
            return
        for i in running:
            name = self.runs[i].name
            try:
                self.runs[i] = self.store.load(name)
            except (OSError, NNFSError):
                continue  # deleted meanwhile: the next full reload drops it
            self._metrics.pop(name, None)
        self._plotted = ()
        self._show()

    def _metrics_of(self, run: RunInfo) -> list[dict[str, float | None]]:
        if run.name not in self._metrics:
            self._metrics[run.name] = run.metrics()
        return self._metrics[run.name]

    # -- drawing -----------------------------------------------------------------------------
    def _show(self) -> None:
        rows = sort_runs((r for r in self.runs if matches(r, self.filter_text)),
                         self.sort_column, self.descending)
        self.table.show(rows, self.selected, sort_column=self.sort_column,
                        descending=self.descending, timing=self.timing)
        self._update_summary()
        self._update_detail()
        self._update_plots()

    def _update_summary(self) -> None:
        shown, total = len(self.table.shown), len(self.runs)
        text = f"{shown}/{total} runs" if shown != total else f"{total} runs"
        if self.selected:
            text += f" · {len(self.selected)} selected"
        self.query_one("#runs-summary", Static).update(text)

    def _update_detail(self) -> None:
        run = self.highlighted
        detail = self.query_one("#runs-detail", Static)
        if run is None:
            detail.update("No runs recorded yet in " + str(self.store.root) + ": runs "
                          "started in the app or with nnfs-train appear here."
                          if not self.runs else "No run matches the filter.")
            return
        text = Text(run.name, style="bold")
        if run.reason:
            text.append(f" · {run.reason}", style="red")
        if run.problem:
            text.append(f" · {run.problem}", style="red")
        if self.timing and run.started_at:
            text.append(f" · started {run.started_at}")
        c = run.config
        if c is not None:
            text.append(f" · {c.dataset} · init {c.init} · {c.schedule} · seed {c.seed}")
            for name in ("dropout", "weight_decay", "val_fraction", "subset"):
                value = getattr(c, name)
                if value:
                    text.append(f" · {name} {format_field(name, value)}")
        detail.update(text)

    def _update_plots(self) -> None:
        runs = self._by_name()
        preview = not self.selected
        if preview:
            run = self.highlighted
            items = [(run, RUN_STYLES[0])] if run is not None else []
        else:
            items = [(runs[name], style) for name, style in self.selected.items()]
        split = self.split
        plotted = (split, preview, tuple((run.name, style) for run, style in items))
        if plotted == self._plotted:
            return  # e.g. typing in the filter: nothing to redraw (plotext is slow)
        self._plotted = plotted
        loss, accuracy = [], []
        for run, style in items:
            rows = self._metrics_of(run)
            loss.append(Curve(run.name, style, tuple(
                (r["epoch"], r[f"{split}_loss"]) for r in rows)))
            accuracy.append(Curve(run.name, style, tuple(
                (r["epoch"], None if r[f"{split}_acc"] is None else 100 * r[f"{split}_acc"])
                for r in rows)))
        self.loss_plot.set_curves(loss, f"{split} loss")
        self.accuracy_plot.set_curves(accuracy, f"{split} accuracy %")
        text = Text(f"{split}: ", style="bold")
        if preview:
            text.append("highlighted ", style="dim")
        text.append_text(legend(self.accuracy_plot.curves))
        if preview:
            text.append("  · Space selects runs to compare", style="dim")
        self.query_one("#runs-legend", Static).update(text)

    def watch_split(self) -> None:
        self._update_plots()

    # -- events ------------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_detail()
        if not self.selected:
            self._update_plots()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: the same as Space."""
        self.action_toggle_select()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key and key != MARK_COLUMN:
            self.sort_by(key)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.filter_text = event.value
            self._show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    # -- sorting and selection ---------------------------------------------------------------
    def sort_by(self, column: str | None) -> None:
        """Sort by a column; the same column again reverses the order."""
        if column == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column = column
            self.descending = column in DESCENDING_FIRST
        self._show()

    def action_sort_next(self) -> None:
        """s: sort by the next column (after the last: newest first again)."""
        i = SORT_CYCLE.index(self.sort_column)
        self.sort_by(SORT_CYCLE[(i + 1) % len(SORT_CYCLE)])

    def action_sort_reverse(self) -> None:
        self.descending = not self.descending
        self._show()

    def _free_style(self) -> RunStyle:
        used = set(self.selected.values())
        return next(style for style in RUN_STYLES if style not in used)

    def action_toggle_select(self) -> None:
        """Space: select the run (its curves join the plots) or unselect it; then go down."""
        run = self.highlighted
        if run is None:
            return
        if run.name in self.selected:
            del self.selected[run.name]
            self.table.set_mark(run.name, None)
        elif len(self.selected) >= MAX_SELECTED:
            self.notify(f"At most {MAX_SELECTED} runs at once: unselect one first (Space, or "
                        "c for all).", title="Runs", severity="warning")
            return
        else:
            style = self._free_style()
            self.selected[run.name] = style
            self.table.set_mark(run.name, style)
        self._update_summary()
        self._update_plots()
        self.table.action_cursor_down()

    def action_clear_selection(self) -> None:
        for name in list(self.selected):
            self.table.set_mark(name, None)
        self.selected.clear()
        self._update_summary()
        self._update_plots()

    def action_cycle_split(self) -> None:
        """m: the plots show test, then validation, then training curves."""
        self.split = SPLITS[(SPLITS.index(self.split) + 1) % len(SPLITS)]

    # -- focus -------------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_close(self) -> None:
        """Esc: leave the filter, or close the screen."""
        if self.filter_input.has_focus:
            self.table.focus()
        else:
            self.dismiss(None)

    def action_refresh(self) -> None:
        self.reload()
        self.notify(f"{len(self.runs)} runs in {self.store.root}", title="Runs", timeout=2)

    # -- actions on one run ------------------------------------------------------------------
    def _current(self, what: str) -> RunInfo | None:
        run = self.highlighted
        if run is None:
            self.notify(f"No run to {what}.", title="Runs", severity="warning")
        return run

    def _finish(self, action: Action) -> None:
        run = self._current({"rerun": "rerun", "load_config": "load",
                             "open_checkpoint": "open"}[action])
        if run is None:
            return
        if run.config is None:
            self.notify(f"{run.name} has no readable config ({run.problem or 'missing'}).",
                        title="Runs", severity="error")
            return
        checkpoint = None
        if action == "open_checkpoint":
            checkpoint = next((run.path / name for name in ("final.npz", "best.npz")
                               if (run.path / name).is_file()), None)
            if checkpoint is None:
                self.notify(f"{run.name} has no saved model (final.npz or best.npz).",
                            title="Runs", severity="error")
                return
        self.dismiss(RunsResult(action, run.config, run.name, run.path, checkpoint))

    def action_rerun(self) -> None:
        """r: close and start a run with exactly this run's config (same seed, same result)."""
        self._finish("rerun")

    def action_load_config(self) -> None:
        """l: close and put this run's config into the form."""
        self._finish("load_config")

    def action_open_checkpoint(self) -> None:
        """o: close and load this run's final model (to inspect it or train on)."""
        self._finish("open_checkpoint")

    def action_diff(self) -> None:
        """d: the config fields the two selected runs differ in."""
        if len(self.selected) != 2:
            self.notify(f"Select exactly two runs with Space to compare their configs "
                        f"({len(self.selected)} selected).", title="Diff", severity="warning")
            return
        runs = self._by_name()
        left, right = (runs[name] for name in self.selected)
        self.app.push_screen(ConfigDiffDialog(diff_configs(left, right), left, right))

    def action_delete(self) -> None:
        """x / Delete: remove the run's directory, after a confirmation."""
        run = self._current("delete")
        if run is None:
            return
        if run.status == "running":
            self.notify(f"{run.name} is still running: stop it first.", title="Delete",
                        severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(run)

        self.app.push_screen(ConfirmDialog(
            f"Delete run {run.name}?",
            f"This removes {run.path}\nwith its config, metrics and checkpoints. "
            "It cannot be undone."), answered)

    def _delete(self, run: RunInfo) -> None:
        try:
            self.store.delete(run.name)
        except (OSError, NNFSError) as exc:
            self.notify(f"Cannot delete {run.name}: {exc}", title="Delete", severity="error")
        else:
            self.notify(f"Deleted {run.name}.", title="Delete", timeout=3)
        self.selected.pop(run.name, None)
        self.reload()

    def action_export(self) -> None:
        """e: write the rows on screen (filtered, sorted) to a CSV file."""
        rows = self.shown_runs
        if not rows:
            self.notify("No runs to export.", title="Export", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            try:
                out = self.store.export_csv(path, rows)
            except (OSError, NNFSError) as exc:
                self.notify(str(exc), title="Export failed", severity="error")
                return
            self.last_export = out
            self.notify(f"{len(rows)} run{'s' * (len(rows) != 1)} written to {out}",
                        title="Exported")

        self.app.push_screen(ExportDialog(Path.cwd() / "nnfs-runs.csv", rows=len(rows)), chosen)
