"""The Runs screen: every recorded run in a sortable, filterable table, the curves of the
selected runs overlaid, and the run actions (diff, rerun, load into the form, delete, export).

The screen reads the run store and deletes from it; it never trains. Rerun, load config and
open model close it with a :class:`RunsResult` for the app to act on::

    app.push_screen(RunsScreen(store), callback=app.on_runs_result)

Filter, sort, selection, cursor and split are kept for the session per runs directory
(:class:`RunsView`), so F2 opens the screen the way it was left. The store is read by a thread
worker (on opening, every AUTO_REFRESH seconds and after a delete), never on the UI thread;
filter and sort are the engine's (:mod:`engine.runs.query`), the same as ``nnfs-train runs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from engine.runs import RunInfo, RunStore, default_descending
from engine.runs.importance import Importance, parameter_importance
from engine.runs.parallel import SCORE, Brush, brushed
from engine.runs.query import parse_filter, sort_runs
from engine.sweep.around import sweep_around
from nnfs_tui.dialogs import SortMenu
from nnfs_tui.dialogs.sweep import SweepDialog, SweepSettings
from nnfs_tui.screens.run_actions import Action, RunActions, RunsResult
from nnfs_tui.screens.runs_parts import (
    ImportanceFound,
    Metrics,
    RunDetail,
    RunPlots,
    StoreRead,
    read_store,
)
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.importance import ImportancePanel
from nnfs_tui.widgets.overlay_plot import RUN_STYLES, OverlayPlot, RunStyle
from nnfs_tui.widgets.parallel_plot import ParallelPlot
from nnfs_tui.widgets.runs_table import MARK_COLUMN, RunsTable
from nnfs_tui.widgets.scatter_plot import ScatterPlot
from nnfs_tui.widgets.text_field import TextField

__all__ = ["AUTO_REFRESH", "Action", "RunsResult", "RunsScreen", "RunsView", "SortMenu"]

#: Which curves the plots show: the split's loss and accuracy (m cycles).
SPLITS = ("test", "val", "train")
#: Runs compared at once at most: one distinct colour and marker each.
MAX_SELECTED = len(RUN_STYLES)
#: Seconds between checks for new runs and progress of running ones.
AUTO_REFRESH = 2.0
#: Seconds the runs must stay the same (brushing, typing a filter) before their importance
#: is computed again.
IMPORTANCE_DELAY = 0.3


def runs_count(n: int) -> str:
    """``1 run``, ``3 runs``."""
    return f"{n} run" if n == 1 else f"{n} runs"


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
    parallel: bool = False
    """The parallel-coordinates view was shown instead of the curves."""
    scatter: bool = False
    """In that view, the scatter of the score against the picked axis."""
    brushes: tuple[Brush, ...] = ()
    """The brushes of the parallel-coordinates view."""


class RunsScreen(RunActions, Screen[RunsResult | None]):
    """Compare recorded runs. Esc closes it (returns None)."""

    CSS_PATH = Path(__file__).with_name("runs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [
        # letters act on the table; while the filter has focus they are typed into it
        # the footer shows these first, in this order, then the app's F-keys as far as they
        # fit (all are on the help screen)
        Binding("slash", "focus_filter", "Filter"),
        Binding("x,delete", "delete", "Delete"),
        Binding("e", "export", "Export"),
        Binding("o", "open_checkpoint", "Open"),
        Binding("escape", "close", "Back"),
        Binding("p", "toggle_parallel", "Parallel"),
        Binding("v", "toggle_scatter", "Scatter"),
        Binding("w", "sweep_around", "Sweep around"),
        Binding("space", "toggle_select", "Select"),
        Binding("s", "sort_menu", "Sort"),
        Binding("S,shift+s", "sort_reverse", "Reverse sort", show=False),
        Binding("d", "diff", "Diff"),
        Binding("r", "rerun", "Rerun"),
        Binding("l", "load_config", "Form"),
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
        self.loaded: bool = False
        """The store has been read once (until then the table is empty)."""
        self._filter_problems: tuple[str, ...] = ()
        self._metrics: dict[str, Metrics] = {}
        self._signature: tuple[int, ...] = ()
        self._plotted: tuple = ()
        self._reader: Worker | None = None
        self.parallel: bool = view.parallel
        """The parallel-coordinates view is shown instead of the curves (p)."""
        self.scatter: bool = view.scatter
        """In that view, the scatter of the score against the picked axis (v)."""
        self.matching: list[RunInfo] = []
        """The runs the text filter keeps (the brushes may keep fewer)."""
        self.importance: Importance | None = None
        """The importance of the fields for the runs shown (None while it is computed)."""
        self._importance_key: tuple = ()
        self._importance_timer: Timer | None = None
        self._any_shown = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader("Runs")
        with Horizontal(id="runs-bar"):
            yield TextField(self.filter_text, id="runs-filter",
                            placeholder="/ filter: words, or lr>=1e-3 batch=64 test>97 "
                                        "status=diverged")
            yield Static("", id="runs-summary", markup=False)
        yield RunsTable(id="runs-table")
        yield RunDetail("", id="runs-detail", markup=False)
        yield Static("", id="runs-legend", markup=False)
        yield RunPlots(id="runs-plots")
        with Horizontal(id="runs-view"):
            yield ParallelPlot(id="runs-parallel")
            yield ScatterPlot(id="runs-scatter")
            yield ImportancePanel(id="runs-importance")
        yield FittedFooter(compact=True, show_command_palette=False)

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
    def parallel_plot(self) -> ParallelPlot:
        return self.query_one(ParallelPlot)

    @property
    def scatter_plot(self) -> ScatterPlot:
        return self.query_one(ScatterPlot)

    @property
    def importance_panel(self) -> ImportancePanel:
        return self.query_one(ImportancePanel)

    @property
    def brushes(self) -> tuple[Brush, ...]:
        """The brushes of the parallel-coordinates view (they filter only while it shows)."""
        return tuple(self.parallel_plot.brushes.values())

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
        if self._initial_split in SPLITS:
            self.split = self._initial_split
        self.parallel_plot.set_brushes(self.view.brushes)
        self._show_view()
        self.table.focus()
        self._update_detail()
        self.reload()
        self.set_interval(AUTO_REFRESH, self._poll_store)

    def _first_load(self) -> None:
        """The store has been read for the first time: select and highlight as left."""
        names = self._by_name()
        for name in self._preselect:
            if name in names and len(self.selected) < MAX_SELECTED:
                self.selected[name] = self._free_style()
        if self.selected:
            self._show()
        shown = [run.name for run in self.table.shown]
        if self._initial_cursor in shown:
            self.table.move_cursor(row=shown.index(self._initial_cursor))

    def on_unmount(self) -> None:
        self._remember()

    def _remember(self) -> None:
        """Keep filter, sort, selection, cursor and split for the next time F2 opens."""
        view = self.view
        view.filter_text, view.sort_column = self.filter_text, self.sort_column
        view.descending, view.selected = self.descending, tuple(self.selected)
        view.split = self.split  # (the cursor is kept as it moves: the table is gone now)

    def _plotted_names(self) -> tuple[str, ...]:
        """The runs whose curves are (or are about to be) plotted."""
        if not self.loaded:  # what the first read will select and highlight
            return (*self._preselect, *filter(None, [self._initial_cursor]))
        run = self.highlighted
        return (*self.selected, *([run.name] if run is not None else []))

    def reload(self, *, announce: bool = False) -> None:
        """Read the store again (new, finished and deleted runs) in a worker, then redraw."""
        self._reader = self._read_store(list(self.runs), self._signature,
                                        self._plotted_names(), True, announce)

    def _poll_store(self) -> None:
        """Every AUTO_REFRESH seconds: runs added or deleted, read the store again; runs
        still training, re-read just those (in the worker, unless one is reading already)."""
        if self._reader is not None and self._reader.is_running:
            return
        self._reader = self._read_store(list(self.runs), self._signature,
                                        self._plotted_names(), False, False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-store")
    def _read_store(self, known: list[RunInfo], signature: tuple[int, ...],
                    plotted: tuple[str, ...], full: bool, announce: bool) -> None:
        """Thread worker: read the store (see :func:`read_store`) and post what it found."""
        snapshot = read_store(self.store, known, signature, plotted, full=full,
                              announce=announce)
        if snapshot is not None and not get_current_worker().is_cancelled:
            self.post_message(StoreRead(snapshot))

    def on_store_read(self, message: StoreRead) -> None:
        """The worker read the store: show what it found."""
        found = message.snapshot
        first = not self.loaded
        self.loaded = True
        self._signature = found.signature
        self.runs = list(found.runs)
        if found.full:
            self._metrics = dict(found.metrics)
        else:
            for name in found.reread:
                self._metrics.pop(name, None)
            self._metrics.update(found.metrics)
        self._plotted = ()  # the curves may have grown
        names = self._by_name()
        for name in [n for n in self.selected if n not in names]:
            del self.selected[name]
        self._show()
        if first:
            self._first_load()
        if found.error:
            self.notify(found.error, title="Runs", severity="error")
        elif found.announce:
            self.notify(f"{runs_count(len(self.runs))} in {self.store.root}", title="Runs",
                        timeout=2)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A read of the store, or a weighing of the fields, that raised (a bug, not a bad
        run: those are listed as incomplete) is said, not swallowed."""
        if event.worker.group == "runs-store" and event.state == WorkerState.ERROR:
            self.notify(f"Reading the runs failed: {event.worker.error}", title="Runs",
                        severity="error")
        elif event.worker.group == "runs-importance" and event.state == WorkerState.ERROR:
            self.importance_panel.show(Importance((), 0, "", f"Weighing the fields failed: "
                                                  f"{event.worker.error}"))

    def _metrics_of(self, run: RunInfo) -> Metrics:
        if run.name not in self._metrics:  # a run just highlighted: one small file
            self._metrics[run.name] = run.metrics()
        return self._metrics[run.name]

    # -- drawing -----------------------------------------------------------------------------
    def _show(self) -> None:
        query = parse_filter(self.filter_text)
        self._filter_problems = query.problems
        self.matching = [r for r in self.runs if query.matches(r)]
        kept = self._brushed(self.matching)
        rows = sort_runs(kept, self.sort_column, self.descending)
        self.table.show(rows, self.selected, sort_column=self.sort_column,
                        descending=self.descending, timing=self.timing)
        self._update_summary()
        self._update_detail()
        self._update_plots()
        self._update_view()
        if bool(rows) != self._any_shown:  # x, e, o... appear or go from the footer
            self._any_shown = bool(rows)
            self.refresh_bindings()

    def _brushed(self, runs: list[RunInfo]) -> list[RunInfo]:
        """In the parallel-coordinates view, the runs inside every brush (all otherwise)."""
        if not self.parallel:
            return runs
        plot = self.parallel_plot
        plot.set_runs(runs)
        if not plot.brushes:
            plot.set_kept(None)
            return runs
        kept = brushed(runs, plot.axes, plot.brushes.values())
        plot.set_kept(run.name for run in kept)
        return kept

    def _update_summary(self) -> None:
        shown, total = len(self.table.shown), len(self.runs)
        text = Text(f"{shown}/{runs_count(total)}" if shown != total else runs_count(total))
        if self.parallel and self.brushes:
            text.append(f" · brushes keep {shown} of {len(self.matching)}",
                        style="rgb(230,159,0)")
        if self.selected:
            text.append(f" · {len(self.selected)} selected")
        if self._filter_problems:  # why nothing matches
            text = Text(f"filter: {self._filter_problems[0]}", style="red")
        self.query_one("#runs-summary", Static).update(text)

    def _update_detail(self) -> None:
        self.query_one(RunDetail).show(self.highlighted, hidden=self.table.hidden,
                                       timing=self.timing, root=self.store.root,
                                       any_runs=bool(self.runs), loaded=self.loaded)

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
        key = self.query_one(RunPlots).plot(items, split, self._metrics_of)
        text = Text(f"{split}: ", style="bold")
        if preview:
            text.append("highlighted ", style="dim")
        text.append_text(key)
        if preview:
            text.append("  · Space selects runs to compare", style="dim")
        self.query_one("#runs-legend", Static).update(text)

    def watch_split(self) -> None:
        self._update_plots()

    # -- parallel coordinates, scatter, importance -------------------------------------------
    def _show_view(self) -> None:
        """Curves, or parallel coordinates (or the scatter) with the importance beside."""
        self.set_class(self.parallel, "-parallel")
        self.query_one("#runs-legend").display = not self.parallel
        self.query_one(RunPlots).display = not self.parallel
        view = self.query_one("#runs-view")
        view.display = self.parallel
        # the title is the plot's mark of focus (runs.tcss) and says how to reach it
        view.border_title = (("score against a field" if self.scatter else
                              "parallel coordinates") + " · Tab: filter › table › plot")
        self.parallel_plot.display = self.parallel and not self.scatter
        self.scatter_plot.display = self.parallel and self.scatter

    def _update_view(self) -> None:
        """The parts of the parallel-coordinates view that follow the rows and the cursor."""
        if not self.parallel:
            return
        run = self.highlighted
        self.parallel_plot.set_highlighted(run.name if run is not None else None)
        if self.scatter:
            self.scatter_plot.show(self.shown_runs, self.scatter_field,
                                   run.name if run is not None else None)
        key = tuple(sorted((r.name, r.best_val_acc, r.test_acc) for r in self.shown_runs))
        if key != self._importance_key:
            self._importance_key = key
            self.importance = None
            self.importance_panel.show(None)
            if self._importance_timer is not None:
                self._importance_timer.stop()
            self._importance_timer = self.set_timer(IMPORTANCE_DELAY, self._start_importance)

    @property
    def scatter_field(self) -> str | None:
        """The field the scatter puts on its x axis: the picked axis's (the first field's
        when the score is picked)."""
        plot = self.parallel_plot
        axis = plot.picked_axis
        if axis is not None and axis.name != SCORE:
            return axis.name
        return next((a.name for a in plot.shown_axes if a.name != SCORE), None)

    def _start_importance(self) -> None:
        self._importance_timer = None
        self._compute_importance(self._importance_key, list(self.shown_runs))

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-importance")
    def _compute_importance(self, key: tuple, runs: list[RunInfo]) -> None:
        """Thread worker: the fields' importance for ``runs`` (Optuna; never on the UI
        thread), posted back unless the runs changed meanwhile."""
        found = parameter_importance(runs)
        if not get_current_worker().is_cancelled:
            self.post_message(ImportanceFound(key, found))

    def on_importance_found(self, message: ImportanceFound) -> None:
        """The worker weighed the fields: draw the bars; the widest go first in the plot."""
        if message.key != self._importance_key:
            return  # for runs no longer shown
        self.importance = message.importance
        self.importance_panel.show(message.importance)
        self.parallel_plot.ranking = tuple(name for name, _ in message.importance.shares)
        self.parallel_plot.refresh()

    def action_toggle_parallel(self) -> None:
        """p: parallel coordinates of the filtered runs (with their importance) instead of
        the curves, or the curves again."""
        self.parallel = self.view.parallel = not self.parallel
        self._show_view()
        self._show()
        if self.parallel:
            (self.scatter_plot if self.scatter else self.parallel_plot).focus()
        elif not self.filter_input.has_focus:
            self.table.focus()
        self.refresh_bindings()

    def action_toggle_scatter(self) -> None:
        """v: in the parallel-coordinates view, the score against the picked axis's field
        (←/→ pick another), or the parallel coordinates again."""
        if not self.parallel:
            return
        self.scatter = self.view.scatter = not self.scatter
        self._show_view()
        self._update_view()
        (self.scatter_plot if self.scatter else self.parallel_plot).focus()

    def on_parallel_plot_brushes_changed(self, event: ParallelPlot.BrushesChanged) -> None:
        """A brush moved: the table keeps the runs inside every brush."""
        self.view.brushes = event.brushes
        self._show()

    def on_scatter_plot_step(self, event: ScatterPlot.Step) -> None:
        """←/→ in the scatter: the next field."""
        self.parallel_plot.action_pick(event.step)
        self._update_view()

    def action_sweep_around(self) -> None:
        """w: the sweep dialog (F12) filled with ranges around the highlighted run (the
        learning rate's log range, the neighbouring sizes) or, in the parallel-coordinates
        view, the brushed ranges; its Start button starts it on the last executor chosen."""
        run = self._current("sweep around")
        if run is None:
            return
        if run.config is None:
            self.notify(f"{run.name} has no readable config ({run.problem or 'missing'}).",
                        title="Sweep around", severity="error")
            return
        plot = self.parallel_plot
        prefill = (sweep_around(run.config, plot.axes, self.brushes) if self.parallel
                   else sweep_around(run.config))

        def chosen(settings: SweepSettings | None) -> None:
            if settings is not None:
                self.dismiss(RunsResult("sweep", run.config, run.name, run.path,
                                        sweep=settings))

        self.app.push_screen(SweepDialog(run.config, prefill, around=run.name), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows only keys that do something now: the run actions while there
        are runs, the scatter in the parallel-coordinates view."""
        if action in ("delete", "export", "open_checkpoint", "rerun", "load_config",
                      "sweep_around", "toggle_select"):
            return bool(self.is_mounted and self.query(RunsTable) and self.table.shown)
        if action == "toggle_scatter":
            return self.parallel
        return True

    # -- events ------------------------------------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.highlighted is not None:
            self.view.highlighted = self.highlighted.name
        self._update_detail()
        if not self.selected:
            self._update_plots()
        self._update_view()

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
            self.descending = default_descending(column)
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
        """Esc: leave the filter or the plots, or close the screen."""
        if self.filter_input.has_focus or self.parallel_plot.has_focus \
                or self.scatter_plot.has_focus:
            self.table.focus()
        else:
            self.dismiss(None)

    def action_refresh(self) -> None:
        """Ctrl+R: read the store again now, and say how many runs it holds."""
        self.reload(announce=True)
