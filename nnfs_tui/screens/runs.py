"""The Runs screen: every recorded run in a sortable, filterable table, the curves of the
selected runs overlaid, and the run actions (diff, rerun, load into the form, delete, export).

The screen reads the run store and deletes from it; it never trains. Rerun, load config and
open model close it with a :class:`RunsResult` for the app to act on::

    app.push_screen(RunsScreen(store), callback=app.on_runs_result)

Filter, sort, selection, cursor and split are kept for the session per runs directory
(:class:`RunsView`), so F2 opens the screen the way it was left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

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
    cells,
    parse_filter,
    sort_runs,
)

#: Which curves the plots show: the split's loss and accuracy (m cycles).
SPLITS = ("test", "val", "train")
#: Runs compared at once at most: one distinct colour and marker each.
MAX_SELECTED = len(RUN_STYLES)
#: Seconds between checks for new runs and progress of running ones.
AUTO_REFRESH = 2.0
#: The sort menu: "as recorded" (newest first), then every column.
SORT_CHOICES: tuple[str | None, ...] = (None, *HEADERS)

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
    live_changes: tuple[tuple[int, dict[str, Any]], ...] = ()
    """Hyperparameters the run changed while it trained: (step, new values), in order; a
    rerun passes them to ``Trainer(planned_changes=...)`` to repeat the run exactly."""


@dataclass
class RunsView:
    """How the Runs screen was left, restored when it opens again in the same session."""

    filter_text: str = ""
    """What the filter field held."""
    sort_column: str | None = None
    """The column rows were sorted by (None: newest first)."""
    descending: bool = False
    """Sort direction."""
    selected: tuple[str, ...] = ()
    """Selected runs, in the order they were selected (their curves keep their styles)."""
    highlighted: str | None = None
    """The run under the cursor."""
    split: str = "test"
    """Which split the plots showed."""


class SortMenu(ModalScreen[str | None]):
    """Pick the column to sort by: ↑↓ and Enter (or a click); the current one again reverses
    the order. Returns the column key, "" for newest first, or None when cancelled."""

    BINDINGS = [Binding("escape,s,q", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SortMenu { align: center middle; }
    SortMenu OptionList {
        width: 34; height: auto; max-height: 90%;
        border: round $accent; background: $surface;
    }
    """

    def __init__(self, column: str | None, descending: bool) -> None:
        super().__init__()
        self.column: str | None = column
        """The column the rows are sorted by now."""
        self.descending: bool = descending
        """Its direction."""

    def compose(self) -> ComposeResult:
        options = []
        for key in SORT_CHOICES:
            label = "newest first (as recorded)" if key is None else HEADERS[key]
            if key == self.column:
                label += "  ▼" if self.descending else "  ▲"
                label += " (Enter reverses)" if key is not None else ""
            options.append(Option(label, id=key or "-"))
        menu = OptionList(*options, id="sort-menu")
        menu.border_title = "Sort by"
        menu.border_subtitle = "Enter sorts · Esc cancels"
        yield menu

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = SORT_CHOICES.index(self.column)
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss("" if event.option.id == "-" else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RunsScreen(Screen[RunsResult | None]):
    """Compare recorded runs. Esc closes it (returns None)."""

    CSS_PATH = Path(__file__).with_name("runs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [
        # letters act on the table; while the filter has focus they are typed into it
        # the footer also holds the app's F-keys: only the most used show here (all are on
        # the help screen), so that it fits in 120 columns
        Binding("escape", "close", "Close", show=False),
        Binding("space", "toggle_select", "Select"),
        Binding("slash", "focus_filter", "Filter", show=False),  # the field says so
        Binding("s", "sort_menu", "Sort"),
        Binding("S,shift+s", "sort_reverse", "Reverse sort", show=False),
        Binding("d", "diff", "Diff"),
        Binding("r", "rerun", "Rerun"),
        Binding("l", "load_config", "Form"),
        Binding("o", "open_checkpoint", "Open model", show=False),
        Binding("x,delete", "delete", "Delete", show=False),
        Binding("e", "export", "Export", show=False),
        Binding("m", "cycle_split", "Split", show=False),
        Binding("c", "clear_selection", "Unselect all", show=False),
        Binding("q", "close", "Close", show=False),
        Binding("down", "focus_table", "To the table", show=False),
        # works in the filter too
        Binding("ctrl+r", "refresh", "Refresh", show=False, priority=True),
    ]

    split: reactive[str] = reactive("test", init=False)
    """Which split's loss and accuracy the plots show: test, val or train."""

    #: How the screen was left, per runs directory, for the rest of the session.
    views: ClassVar[dict[Path, RunsView]] = {}

    def __init__(self, store: RunStore, *, timing: bool = True,
                 selected: tuple[str, ...] | None = None,
                 view: RunsView | None = None) -> None:
        """``view``: the state to start from and keep up to date (default: the one this
        session last left for ``store``'s directory); ``selected``: runs to select instead
        of the view's."""
        super().__init__()
        self.store: RunStore = store
        """Where the runs are read from and deleted."""
        self.timing: bool = timing
        """Show measured times; off makes screenshots reproducible."""
        if view is None:
            view = self.views.setdefault(self._view_key(store), RunsView())
        self.view: RunsView = view
        """Filter, sort, selection, cursor and split, as the screen leaves them."""
        self.runs: list[RunInfo] = []
        """Every run in the store, newest first (as of the last refresh)."""
        self.filter_text: str = view.filter_text
        """What the filter field holds."""
        self.sort_column: str | None = view.sort_column
        """The TABLE_COLUMNS key rows are sorted by (None: newest first)."""
        self.descending: bool = view.descending
        """Sort direction."""
        self.selected: dict[str, RunStyle] = {}
        """Selected runs (in order of selection) and the style of their curves."""
        self.last_export: Path | None = None
        """Where the table was last exported."""
        self._preselect = view.selected if selected is None else selected
        self._initial_split = view.split
        self._initial_cursor = view.highlighted
        self._filter_problems: tuple[str, ...] = ()
        self._metrics: dict[str, list[dict[str, float | None]]] = {}
        self._signature: tuple[int, ...] = ()
        self._plotted: tuple = ()

    def compose(self) -> ComposeResult:
        with Horizontal(id="runs-bar"):
            yield Input(self.filter_text, id="runs-filter",
                        placeholder="/ filter: words, or lr>=1e-3 batch=64 test>97 "
                                    "status=diverged")
            yield Static("", id="runs-summary", markup=False)
        yield RunsTable(id="runs-table")
        yield Static("", id="runs-detail", markup=False)
        yield Static("", id="runs-legend", markup=False)
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
    @staticmethod
    def _view_key(store: RunStore) -> Path:
        try:
            return store.root.resolve()
        except OSError:
            return store.root.absolute()

    def on_mount(self) -> None:
        self.reload()
        names = self._by_name()
        for name in self._preselect:
            if name in names and len(self.selected) < MAX_SELECTED:
                self.selected[name] = self._free_style()
        if self.selected:
            self._show()
        shown = [run.name for run in self.table.shown]
        if self._initial_cursor in shown:
            self.table.move_cursor(row=shown.index(self._initial_cursor))
        if self._initial_split in SPLITS:
            self.split = self._initial_split
        self.table.focus()
        self.set_interval(AUTO_REFRESH, self._poll_store)

    def on_unmount(self) -> None:
        self._remember()

    def _remember(self) -> None:
        """Keep filter, sort, selection, cursor and split for the next time F2 opens."""
        view = self.view
        view.filter_text, view.sort_column = self.filter_text, self.sort_column
        view.descending, view.selected = self.descending, tuple(self.selected)
        view.split = self.split  # (the cursor is kept as it moves: the table is gone now)

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
        query = parse_filter(self.filter_text)
        self._filter_problems = query.problems
        rows = sort_runs((r for r in self.runs if query.matches(r)),
                         self.sort_column, self.descending)
        self.table.show(rows, self.selected, sort_column=self.sort_column,
                        descending=self.descending, timing=self.timing)
        self._update_summary()
        self._update_detail()
        self._update_plots()

    def _update_summary(self) -> None:
        shown, total = len(self.table.shown), len(self.runs)
        text = Text(f"{shown}/{total} runs" if shown != total else f"{total} runs")
        if self.selected:
            text.append(f" · {len(self.selected)} selected")
        if self._filter_problems:  # why nothing matches
            text = Text(f"filter: {self._filter_problems[0]}", style="red")
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
        if run.continued_from is not None:
            text.append(f" · continued a checkpoint from step {run.continued_from}")
        hidden = self.table.hidden  # columns the width left out: their values here
        if hidden:
            shown = cells(run, timing=self.timing)
            text.append(" · " + " · ".join(f"{HEADERS[key]} {shown[key].plain}"
                                             for key in hidden))
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
        if self.highlighted is not None:
            self.view.highlighted = self.highlighted.name
        self._update_detail()
        if not self.selected:
            self._update_plots()

    def on_runs_table_refitted(self, event: RunsTable.Refitted) -> None:
        self._update_detail()  # it lists the values of the columns left out

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

    def action_sort_menu(self) -> None:
        """s: pick the column to sort by from a list (the current one again reverses)."""

        def chosen(column: str | None) -> None:
            if column is not None:
                self.sort_by(column or None)

        self.app.push_screen(SortMenu(self.sort_column, self.descending), chosen)

    def action_sort_reverse(self) -> None:
        """S: reverse the order."""
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
        if action == "rerun" and run.continued_from is not None:
            self.notify(f"{run.name} continued a checkpoint from step {run.continued_from}: "
                        "a rerun from the first step would not repeat it. Open the checkpoint "
                        "it continued (Ctrl+O) and continue that instead.",
                        title="Rerun", severity="warning", timeout=8)
            self.app.bell()
            return
        checkpoint = None
        if action == "open_checkpoint":
            checkpoint = next((run.path / name for name in ("final.npz", "best.npz")
                               if (run.path / name).is_file()), None)
            if checkpoint is None:
                self.notify(f"{run.name} has no saved model (final.npz or best.npz).",
                            title="Runs", severity="error")
                return
        self.dismiss(RunsResult(action, run.config, run.name, run.path, checkpoint,
                                tuple((step, dict(changes))
                                      for step, changes in run.live_changes)))

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
