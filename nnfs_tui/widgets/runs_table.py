"""The table of recorded runs: one row per run, filtered and sorted by the Runs screen.

Filtering and sorting are plain functions over :class:`~engine.runs.RunInfo` (the values of
``RunInfo.row()``), so the CSV export writes exactly the rows on screen, in their order.
Missing and non-finite numbers show as "-" and sort last in either direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from engine.config import format_field
from engine.runs import RunInfo
from nnfs_tui.widgets.overlay_plot import RunStyle
from nnfs_tui.widgets.progress import format_duration

#: Column key -> header text, in the order of engine.runs.TABLE_COLUMNS (and the CSV).
HEADERS: dict[str, str] = {
    "name": "name", "architecture": "architecture", "activation": "activation",
    "optimizer": "optimizer", "learning_rate": "lr", "batch_size": "batch",
    "epochs": "epochs", "best_val_acc": "best val", "test_acc": "test acc",
    "seconds": "time", "status": "status",
}
#: Columns whose first sort is descending (best first).
DESCENDING_FIRST = frozenset({"best_val_acc", "test_acc"})
#: Columns sorted as numbers.
NUMERIC = frozenset({"learning_rate", "batch_size", "epochs", "best_val_acc", "test_acc",
                     "seconds"})
#: Fields the filter looks in.
FILTER_FIELDS = ("name", "architecture", "activation", "optimizer", "status")
STATUS_STYLES = {"completed": "green", "stopped": "yellow", "diverged": "bold red",
                 "running": "bold cyan", "interrupted": "red", "incomplete": "dim italic"}
MARK_COLUMN = "mark"
MISSING = "-"


def _finite(value: Any) -> Any:
    """None for a missing or non-finite number, else the value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def row_values(run: RunInfo) -> dict[str, Any]:
    """``run.row()`` with non-finite numbers replaced by None."""
    return {key: _finite(value) for key, value in run.row().items()}


def matches(run: RunInfo, query: str) -> bool:
    """True when every word of ``query`` occurs (any case) in the run's name, architecture,
    activation, optimizer or status."""
    words = query.lower().split()
    if not words:
        return True
    row = run.row()
    haystack = " ".join(str(row.get(k) or "") for k in FILTER_FIELDS).lower()
    return all(word in haystack for word in words)


def _sort_value(column: str, value: Any) -> Any:
    if column == "architecture":  # by layer sizes, so 784-64-10 comes before 784-256-10
        try:
            return tuple(int(part) for part in str(value).split("-"))
        except ValueError:
            return ()
    if column in NUMERIC:
        return float(value)
    return str(value).lower()


def sort_runs(runs: Iterable[RunInfo], column: str | None, descending: bool) -> list[RunInfo]:
    """Runs ordered by one column (None: as given, i.e. newest first); rows without a
    value sort last whichever the direction. Ties keep their order."""
    runs = list(runs)
    if column is None:
        return runs[::-1] if descending else runs
    present, missing = [], []
    for run in runs:
        value = row_values(run).get(column)
        (missing if value is None or value == "" else present).append(run)
    present.sort(key=lambda r: _sort_value(column, row_values(r)[column]), reverse=descending)
    return present + missing


def _percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.2f}%"


def cells(run: RunInfo, *, timing: bool = True) -> dict[str, Text]:
    """The text of each column for one run ("-" for anything missing or non-finite)."""
    v = row_values(run)
    planned = run.config.epochs if run.config else None
    done = v["epochs"]
    epochs = str(done) if planned in (None, done) else f"{done}/{planned}"
    lr = v["learning_rate"]
    text = {
        "name": v["name"],
        "architecture": v["architecture"] or MISSING,
        "activation": v["activation"] or MISSING,
        "optimizer": v["optimizer"] or MISSING,
        "learning_rate": MISSING if lr is None else format_field("learning_rate", lr),
        "batch_size": MISSING if v["batch_size"] is None else str(v["batch_size"]),
        "epochs": epochs,
        "best_val_acc": _percent(v["best_val_acc"]),
        "test_acc": _percent(v["test_acc"]),
        "seconds": format_duration(v["seconds"]) if timing else "--:--",
        "status": v["status"],
    }
    return {key: Text(value, style=STATUS_STYLES.get(value, "") if key == "status" else "")
            for key, value in text.items()}


class RunsTable(DataTable):
    """Recorded runs, one row each, keyed by run name; a first column marks selected runs
    with their plot style, so the table doubles as the plots' legend."""

    DEFAULT_CSS = """
    RunsTable { height: auto; max-height: 50%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # one space before each cell instead of Textual's one on either side: twelve
        # columns fit in 120 cells even with the long generated run names
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True,
                         fixed_columns=2, cell_padding=0)  # mark and name stay on →
        self.shown: list[RunInfo] = []
        """The rows on screen, top to bottom."""

    @property
    def highlighted(self) -> RunInfo | None:
        """The run under the cursor."""
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def show(self, runs: Sequence[RunInfo], styles: Mapping[str, RunStyle], *,
             sort_column: str | None, descending: bool, timing: bool = True) -> None:
        """Redraw with these rows; the cursor stays on the same run when it is still shown."""
        keep = self.highlighted.name if self.highlighted else None
        old_row, old_x = self.cursor_row, self.scroll_x
        self.clear(columns=True)
        self.add_column(Text(" "), key=MARK_COLUMN, width=1)
        for key, header in HEADERS.items():
            label = f" {header}"
            if key == sort_column:
                label += " ▼" if descending else " ▲"
            self.add_column(Text(label), key=key)
        self.shown = list(runs)
        for run in self.shown:
            row = [Text(" ").append_text(text) for text in cells(run, timing=timing).values()]
            style = styles.get(run.name)
            self.add_row(style.mark() if style else Text(" "), *row, key=run.name)
        names = [r.name for r in self.shown]
        if keep in names:
            self.move_cursor(row=names.index(keep))
        elif self.shown:
            self.move_cursor(row=min(max(old_row, 0), len(self.shown) - 1))
        if old_x:  # a refresh must not throw the view back to the first column
            self.call_after_refresh(self.scroll_to, x=old_x, animate=False)

    def _column_stops(self) -> list[int]:
        """Scroll positions that put a column's left edge just right of the fixed ones."""
        widths = [column.get_render_width(self) for column in self.ordered_columns]
        fixed = sum(widths[:self.fixed_columns])
        stops, x = [], 0
        for width in widths:
            if x >= fixed:
                stops.append(x - fixed)
            x += width
        return stops

    def action_cursor_right(self) -> None:
        """→ scrolls by a whole column (the row cursor has no column to move to)."""
        later = [x for x in self._column_stops() if x > self.scroll_x]
        self.scroll_to(x=min(later[0], self.max_scroll_x) if later else self.max_scroll_x,
                       animate=False)

    def action_cursor_left(self) -> None:
        earlier = [x for x in self._column_stops() if x < self.scroll_x]
        self.scroll_to(x=earlier[-1] if earlier else 0, animate=False)

    def action_scroll_home(self) -> None:
        """Home: the first run, and the first columns."""
        if self.shown:
            self.move_cursor(row=0)
        self.scroll_to(x=0, animate=False)

    def action_scroll_end(self) -> None:
        """End: the last run."""
        if self.shown:
            self.move_cursor(row=len(self.shown) - 1)

    def set_mark(self, name: str, style: RunStyle | None) -> None:
        """Show (or clear) a run's selection mark without redrawing the table."""
        if any(r.name == name for r in self.shown):
            self.update_cell(name, MARK_COLUMN, style.mark() if style else Text(" "))
