"""The table of recorded runs: one row per run, filtered and sorted by the Runs screen.

The filter language and the sort order are the engine's (:mod:`engine.runs.query`, shared
with ``nnfs-train runs``); this module draws the rows. Missing and non-finite numbers show
as "-"; a column that shows "-" for every run (best val when no run holds out a validation
split) is left out. A name too long for its column loses the date of its generated time
stamp, then its start (the end tells the trials of a sweep apart); the detail line under
the table has the whole name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from engine.runs import RunInfo
from engine.runs.query import MISSING, shown_text
from nnfs_tui.widgets.overlay_plot import RunStyle
from nnfs_tui.widgets.progress import format_duration

#: Column key -> header text, in the order of engine.runs.TABLE_COLUMNS (and the CSV); the
#: short words of ``nnfs-train runs``, so that twelve columns fit in 120 cells.
HEADERS: dict[str, str] = {
    "name": "name", "architecture": "arch", "activation": "activation",
    "optimizer": "optimizer", "learning_rate": "lr", "batch_size": "batch",
    "epochs": "epochs", "best_val_acc": "best val", "test_acc": "test",
    "seconds": "time", "status": "status",
}
STATUS_STYLES = {"completed": "green", "stopped": "yellow", "diverged": "bold red",
                 "running": "bold cyan", "interrupted": "red", "incomplete": "dim italic",
                 "unreadable": "red italic", "pruned": "magenta"}
MARK_COLUMN = "mark"
#: Columns left out first when the table is too narrow for all of them (name, test accuracy,
#: learning rate and status stay; the detail line shows the hidden values of the run).
DROP_ORDER = ("seconds", "batch_size", "activation", "epochs", "architecture", "optimizer",
              "best_val_acc")
#: The name column is cut (with "…") to no less than this many cells to make room.
NAME_MIN = 16
#: Cells kept free on the right for the vertical scroll bar (one wide, see DEFAULT_CSS).
SCROLLBAR = 1
#: Columns shown even when every value in them is "-".
ALWAYS_SHOWN = frozenset({"name", "status"})
#: The date of a generated ``YYYYmmdd-HHMMSS`` time stamp (the time is kept).
STAMP_DATE = re.compile(r"(?<![0-9])[0-9]{8}-(?=[0-9]{6}(?![0-9]))")


def short_name(name: str, width: int) -> str:
    """``name`` in at most ``width`` cells: as it is when it fits, else without the date of
    its generated time stamp (``20261128-131502-128-64-adam`` → ``131502-128-64-adam``),
    else the end of that behind "…" (``…02-8-sgd-009``)."""
    if len(name) <= width:
        return name
    name = STAMP_DATE.sub("", name, count=1)
    if len(name) <= width:
        return name
    if width <= 1:
        return "…"[:max(width, 0)]
    return "…" + name[len(name) - width + 1:]


def empty_columns(texts: Sequence[Mapping[str, Text]], keep: str | None = None) -> list[str]:
    """The columns whose every value is "-" (none when there are no rows; never the name,
    the status or ``keep``, the sort column)."""
    if not texts:
        return []
    return [key for key in HEADERS if key not in ALWAYS_SHOWN and key != keep
            and all(t[key].plain == MISSING for t in texts)]


def cells(run: RunInfo, *, timing: bool = True) -> dict[str, Text]:
    """The text of each column for one run ("-" for anything missing or non-finite)."""
    text = shown_text(run)
    text["seconds"] = format_duration(run.row()["seconds"]) if timing else "--:--"
    return {key: Text(text[key], style=STATUS_STYLES.get(text[key], "")
                      if key == "status" else "") for key in HEADERS}


def fit_columns(texts: Sequence[Mapping[str, Text]], width: int,
                columns: Sequence[str] = tuple(HEADERS)) -> dict[str, int]:
    """Column key -> width in cells of the ``columns`` (default: all) that fit in ``width``
    beside the mark column. Each is a space, then its longest value or its header and a
    cell to spare for the sort mark. Too wide: the name is cut down to NAME_MIN cells, then
    the columns of DROP_ORDER are left out one by one. ``width`` 0 (not laid out yet): all
    of them."""
    # one cell after each header for the sort mark, so that sorting moves nothing
    natural = {key: 1 + max([len(HEADERS[key]) + 1, *(t[key].cell_len for t in texts)])
               for key in HEADERS if key in columns}
    if width <= 0:
        return natural
    room = width - SCROLLBAR - 1  # the mark column
    keys = list(natural)
    name_min = min(natural["name"], 1 + NAME_MIN)
    for key in DROP_ORDER:
        if sum(natural[k] for k in keys if k != "name") + name_min <= room:
            break
        if key in keys:
            keys.remove(key)
    rest = sum(natural[k] for k in keys if k != "name")
    fitted = {k: natural[k] for k in keys}
    fitted["name"] = max(name_min, min(natural["name"], room - rest))
    return fitted


class RunsTable(DataTable):
    """Recorded runs, one row each, keyed by run name; a first column marks selected runs
    with their plot style, so the table doubles as the plots' legend. The columns are fitted
    to the width (see :func:`fit_columns`)."""

    class Refitted(Message):
        """The width changed and so did the columns shown (``hidden``)."""

    DEFAULT_CSS = """
    RunsTable { height: auto; max-height: 50%; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # one space before each cell instead of Textual's one on either side: twelve
        # columns fit in 120 cells even with the long generated run names
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True,
                         fixed_columns=2, cell_padding=0)  # mark and name stay on →
        self.shown: list[RunInfo] = []
        """The rows on screen, top to bottom."""
        self.hidden: list[str] = []
        """Columns left out because the table is too narrow for them."""
        self.empty: list[str] = []
        """Columns left out because every shown run has "-" in them."""
        self._shown_with: tuple | None = None
        self._fitted_to = 0

    @property
    def fitted(self) -> bool:
        """The columns were fitted to the table's present width (false until a resize
        that changed it has been handled)."""
        return self._shown_with is not None and self._fitted_to == self.size.width

    @property
    def highlighted(self) -> RunInfo | None:
        """The run under the cursor."""
        if not self.shown or not 0 <= self.cursor_row < len(self.shown):
            return None
        return self.shown[self.cursor_row]

    def show(self, runs: Sequence[RunInfo], styles: Mapping[str, RunStyle], *,
             sort_column: str | None, descending: bool, timing: bool = True,
             width: int | None = None) -> None:
        """Redraw with these rows, fitted to ``width`` cells (default: the table's own width,
        and again whenever that changes); the cursor stays on the same run when it is still
        shown."""
        self._shown_with = (styles, sort_column, descending, timing)
        keep = self.highlighted.name if self.highlighted else None
        old_row, old_x = self.cursor_row, self.scroll_x
        self.shown = list(runs)
        texts = [cells(run, timing=timing) for run in self.shown]
        self.empty = empty_columns(texts, keep=sort_column)
        widths = fit_columns(texts, width if width is not None else self.size.width,
                             [key for key in HEADERS if key not in self.empty])
        self._fitted_to = self.size.width
        self.hidden = [key for key in HEADERS if key not in widths and key not in self.empty]
        self.clear(columns=True)
        self.add_column(Text(" "), key=MARK_COLUMN, width=1)
        for key, column_width in widths.items():
            mark = ("▼" if descending else "▲") if key == sort_column else ""
            label = Text(f" {HEADERS[key]}{mark}", style="bold" if key == sort_column else "")
            self.add_column(label, key=key, width=column_width)
        for run, text in zip(self.shown, texts, strict=True):
            row = []
            for key, column_width in widths.items():
                value = text[key].copy()
                if key == "name":
                    value.plain = short_name(value.plain, column_width - 1)
                value.truncate(column_width - 1, overflow="ellipsis")
                row.append(Text(" ").append_text(value))
            style = styles.get(run.name)
            self.add_row(style.mark() if style else Text(" "), *row, key=run.name)
        names = [r.name for r in self.shown]
        if keep in names:
            self.move_cursor(row=names.index(keep))
        elif self.shown:
            self.move_cursor(row=min(max(old_row, 0), len(self.shown) - 1))
        if old_x:  # a refresh must not throw the view back to the first column
            self.call_after_refresh(self.scroll_to, x=old_x, animate=False)

    def on_resize(self) -> None:
        """Fit the columns to the new width."""
        if self._shown_with is not None and self.size.width != self._fitted_to:
            styles, sort_column, descending, timing = self._shown_with
            self.show(self.shown, styles, sort_column=sort_column, descending=descending,
                      timing=timing)
            self.post_message(self.Refitted())

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
