"""The table of recorded runs: one row per run, filtered and sorted by the Runs screen.

Filtering and sorting are plain functions over :class:`~engine.runs.RunInfo` (the values of
``RunInfo.row()``), so the CSV export writes exactly the rows on screen, in their order.
Missing and non-finite numbers show as "-" and sort last in either direction.

The filter matches what the table shows. A plain word must occur in the run's name (less the
generated ``YYYYmmdd-HHMMSS`` time stamp), architecture, activation, optimizer, learning
rate, batch size or status; ``field=value``, ``field!=value`` and, for numbers, ``<``,
``<=``, ``>``, ``>=`` compare one column (``lr>=1e-3``, ``batch=64``, ``test>97.5`` in
percent as shown, ``status=diverged``). Every term must hold.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from engine.config import format_field
from engine.runs import RunInfo
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
#: Columns whose first sort is descending (best first).
DESCENDING_FIRST = frozenset({"best_val_acc", "test_acc"})
#: Columns sorted as numbers.
NUMERIC = frozenset({"learning_rate", "batch_size", "epochs", "best_val_acc", "test_acc",
                     "seconds"})
#: What a plain filter word is looked for in (as the table shows it).
FILTER_FIELDS = ("name", "architecture", "activation", "optimizer", "learning_rate",
                 "batch_size", "status")
#: Names a ``field=value`` filter term may use for each column.
FILTER_NAMES: dict[str, str] = {
    **{key: key for key in ("name", "architecture", "activation", "optimizer",
                            "learning_rate", "batch_size", "epochs", "best_val_acc",
                            "test_acc", "seconds", "status")},
    "arch": "architecture", "act": "activation", "opt": "optimizer", "lr": "learning_rate",
    "batch": "batch_size", "val": "best_val_acc", "best_val": "best_val_acc",
    "test": "test_acc", "time": "seconds",
}
#: The short names, as the filter's error message suggests them.
_SHORT = ("name", "arch", "act", "opt", "lr", "batch", "epochs", "val", "test", "time",
          "status")
#: Columns a filter compares as percentages (the table shows 97.12%, the store 0.9712).
PERCENT = frozenset({"best_val_acc", "test_acc"})
#: A generated run name's time stamp, left out of what plain words match.
STAMP = re.compile(r"(?<![0-9])[0-9]{8}-[0-9]{6}(?![0-9])")
_TERM = re.compile(r"^([a-z_]+)(<=|>=|!=|==|=|<|>)(.*)$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}
STATUS_STYLES = {"completed": "green", "stopped": "yellow", "diverged": "bold red",
                 "running": "bold cyan", "interrupted": "red", "incomplete": "dim italic"}
MARK_COLUMN = "mark"
MISSING = "-"
#: Columns left out first when the table is too narrow for all of them (name, test accuracy,
#: learning rate and status stay; the detail line shows the hidden values of the run).
DROP_ORDER = ("seconds", "batch_size", "activation", "epochs", "architecture", "optimizer",
              "best_val_acc")
#: The name column is cut (with "…") to no less than this many cells to make room.
NAME_MIN = 16
#: Cells kept free on the right for the vertical scroll bar (one wide, see DEFAULT_CSS).
SCROLLBAR = 1


def _finite(value: Any) -> Any:
    """None for a missing or non-finite number, else the value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def row_values(run: RunInfo) -> dict[str, Any]:
    """``run.row()`` with non-finite numbers replaced by None."""
    return {key: _finite(value) for key, value in run.row().items()}


def _seconds(text: str) -> float:
    """'90', '1:30' or '1:02:03' as seconds."""
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


@dataclass(frozen=True)
class Term:
    """One ``field<op>value`` term of a filter."""

    column: str
    """The TABLE_COLUMNS key it compares."""
    op: str
    """=, !=, <, <=, > or >=."""
    value: Any
    """A float for numeric columns (percent for accuracies), lower-case text otherwise."""

    def holds(self, run: RunInfo) -> bool:
        value = row_values(run).get(self.column)
        if value is None or value == "":
            return self.op == "!="
        if self.column in NUMERIC:
            value = 100 * value if self.column in PERCENT else value
        else:
            value = str(value).lower()
        return _OPERATORS[self.op](value, self.value)


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter: plain words and ``field<op>value`` terms, all of which must hold."""

    words: tuple[str, ...] = ()
    """Lower-case words looked for in the visible text columns."""
    terms: tuple[Term, ...] = ()
    """Column comparisons."""
    problems: tuple[str, ...] = ()
    """Terms that could not be understood (then nothing matches), to show the person."""

    def matches(self, run: RunInfo) -> bool:
        if self.problems:
            return False
        if self.words:
            haystack = search_text(run)
            if not all(word in haystack for word in self.words):
                return False
        return all(term.holds(run) for term in self.terms)


def parse_filter(query: str) -> RunFilter:
    """Split a filter into words and ``field<op>value`` terms (see the module docstring)."""
    words, terms, problems = [], [], []
    for token in query.lower().split():
        found = _TERM.match(token)
        if not found:
            if token[0] in "<>=!":
                problems.append(f"{token}: name a column first (e.g. lr{token})")
            else:
                words.append(token)
            continue
        name, op, text = found.groups()
        op = "=" if op == "==" else op
        column = FILTER_NAMES.get(name)
        if column is None:
            problems.append(f"{name}: not a column (try {', '.join(sorted(_SHORT))})")
            continue
        if column in NUMERIC:
            try:
                value = (_seconds(text) if column == "seconds"
                         else float(text.removesuffix("%")))
                if not math.isfinite(value):
                    raise ValueError(text)
            except ValueError:
                problems.append(f"{name}{op}{text}: expected a finite number")
                continue
        elif op in ("=", "!="):
            value = text
        else:
            problems.append(f"{name}{op}: only = and != for text")
            continue
        terms.append(Term(column, op, value))
    return RunFilter(tuple(words), tuple(terms), tuple(problems))


def search_text(run: RunInfo) -> str:
    """What plain filter words are looked for in: the visible text columns, lower case,
    the name without its generated time stamp (else "128" would match every run of
    November 28th)."""
    shown = cells(run)
    text = [STAMP.sub("", run.name)] + [shown[key].plain for key in FILTER_FIELDS[1:]]
    return " ".join(text).lower()


def matches(run: RunInfo, query: str | RunFilter) -> bool:
    """True when the run passes the filter (a query string or a parsed RunFilter)."""
    parsed = parse_filter(query) if isinstance(query, str) else query
    return parsed.matches(run)


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


def fit_columns(texts: Sequence[Mapping[str, Text]], width: int) -> dict[str, int]:
    """Column key -> width in cells of the columns that fit in ``width`` beside the mark
    column. Each is a space, then its longest value or its header and a cell to spare for
    the sort mark. Too wide: the name is cut down to NAME_MIN cells, then the columns of
    DROP_ORDER are left out one by one. ``width`` 0 (not laid out yet): all of them."""
    # one cell after each header for the sort mark, so that sorting moves nothing
    natural = {key: 1 + max([len(header) + 1, *(t[key].cell_len for t in texts)])
               for key, header in HEADERS.items()}
    if width <= 0:
        return natural
    room = width - SCROLLBAR - 1  # the mark column
    keys = list(HEADERS)
    name_min = min(natural["name"], 1 + NAME_MIN)
    for key in DROP_ORDER:
        if sum(natural[k] for k in keys if k != "name") + name_min <= room:
            break
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
        self._shown_with: tuple | None = None
        self._fitted_to = 0

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
        widths = fit_columns(texts, width if width is not None else self.size.width)
        self._fitted_to = self.size.width
        self.hidden = [key for key in HEADERS if key not in widths]
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
