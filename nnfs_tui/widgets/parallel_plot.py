"""ParallelPlot: parallel coordinates of runs, one vertical axis per varied field and the
score, one braille line per run coloured by its score, with keyboard and mouse brushing.

The maths (axes, positions, brushing) is the engine's :mod:`engine.runs.parallel`; this
widget only draws it and edits the brushes::

    learning_rate   optimizer    hidden    score      <- axis names (the picked one marked)
        0.01          sgd        128,64    97.4%      <- each axis's top value
         │⠤⠤⠒⠒⠉⠉⠉⠉│⠤⠤⠤⠤⠤⠤⠤⠤┃⠒⠒⠒⠒⠒⠒┃                 <- runs; ┃ a brushed range
        1e-04        adam          16      90.1%      <- bottom value
    score 90.1% ████████ 97.4% · 2 axes left out       <- colour key, what is not shown

Brushes are ranges of axis positions (0 bottom, 1 top). Keys (with focus): ←/→ pick an axis,
↑/↓ move the brush's top edge, Shift+↑/↓ its bottom edge, Backspace/Delete clear it; a mouse
drag along an axis sets its brush. Every change posts :class:`ParallelPlot.BrushesChanged`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from engine.runs import RunInfo
from engine.runs.parallel import SCORE, Axis, Brush, build_axes, positions, run_values
from nnfs_tui.widgets.braille import MUTED_RGB, BrailleCanvas, ramp_pieces, ramp_style

#: Columns between two axes at least: fewer axes are drawn when the width has no room.
MIN_SPACING = 9
#: Rows of the widget that are not plot: names, top values, bottom values, the key line.
LABEL_ROWS = 4
#: Shorter names for the axis labels when the full one does not fit.
SHORT_NAMES = {"learning_rate": "lr", "weight_decay": "wd", "hidden_sizes": "hidden",
               "batch_size": "batch", "activation": "act", "optimizer": "opt",
               "schedule": "sched", "val_fraction": "val", "warmup_epochs": "warmup",
               "lr_step_epochs": "step", "lr_gamma": "gamma", "lr_restart": "restart",
               "momentum": "mom", "dropout": "drop", "epochs": "ep", "subset": "subset",
               "init": "init", "dtype": "dtype", "dataset": "data"}
BRUSH_STYLE = Style(color="rgb(230,159,0)", bold=True)
AXIS_STYLE = Style(color="rgb(150,150,150)")
HIGHLIGHT_STYLE = Style(color="rgb(255,255,255)", bold=True)


def short_name(name: str, width: int) -> str:
    """``name`` if it fits in ``width`` cells, else its short form, cut to fit."""
    if len(name) <= width:
        return name
    return SHORT_NAMES.get(name, name)[:max(1, width)]


def axis_label(axis: Axis, position: float) -> str:
    """The value at ``position`` as a label in the field's units (the score in percent)."""
    if axis.name == SCORE:
        return f"{100 * (axis.low + position * (axis.high - axis.low)):.1f}%"
    return axis.value_at(position)


def score_ranks(scores: Sequence[float | None]) -> list[float | None]:
    """Each score's rank among the others, 0 (lowest) to 1 (highest), ties alike; None
    stays None. Colours follow ranks, not values, so one diverged run at 10% does not
    paint every other run the same colour."""
    known = sorted({s for s in scores if s is not None})
    if not known:
        return [None] * len(scores)
    top = max(1, len(known) - 1)
    index = {s: i / top for i, s in enumerate(known)}
    return [None if s is None else index[s] for s in scores]


@dataclass(frozen=True)
class Line:
    """One run as drawn: its name, positions on every axis and colour."""

    name: str
    positions: tuple[float | None, ...]
    score_rank: float | None
    """Its score's rank among the runs', 0 (lowest) to 1 (highest): its colour."""


class ParallelPlot(Widget, can_focus=True):
    """Parallel coordinates of some runs, with brushes that keep ranges of each axis."""

    DEFAULT_CSS = """
    ParallelPlot { width: 1fr; height: 1fr; min-height: 7; }
    ParallelPlot:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "pick(-1)", "Axis", show=False),
        Binding("right", "pick(1)", "Axis"),
        Binding("up", "move('high', 1)", "Top", show=False),
        Binding("down", "move('high', -1)", "Top"),
        Binding("shift+up", "move('low', 1)", "Bottom", show=False),
        Binding("shift+down", "move('low', -1)", "Bottom"),
        Binding("backspace,delete", "clear", "Clear"),
    ]

    picked: reactive[int] = reactive(0)
    """Index (among the axes drawn) of the axis the keys brush."""

    class BrushesChanged(Message):
        """The brushes were changed (by keys or the mouse)."""

        def __init__(self, brushes: tuple[Brush, ...]) -> None:
            super().__init__()
            self.brushes: tuple[Brush, ...] = brushes
            """Every brush now set."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.axes: list[Axis] = []
        """Every axis of the runs (some may not be drawn: see :attr:`shown_axes`)."""
        self.lines: list[Line] = []
        """The runs, in the order given."""
        self.brushes: dict[str, Brush] = {}
        """Brush per axis name."""
        self.kept: frozenset[str] | None = None
        """Names of the runs inside every brush (None: no brush)."""
        self.highlighted: str | None = None
        """The run drawn on top, in white."""
        self.ranking: tuple[str, ...] = ()
        """Fields by importance, most first: which axes stay when not all fit."""
        self._drag: tuple[str, int] | None = None
        self._last_width = 10_000  # every axis, until the widget has a width
        self._version = 0  # counts set_runs calls: the cached lines are stale
        self._base: tuple[tuple, BrailleCanvas] | None = None

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width:
            self._last_width = event.size.width

    # -- data --------------------------------------------------------------------------------
    def set_runs(self, runs: Sequence[RunInfo]) -> None:
        """Draw these runs. Their axes are built anew; brushes stay (one on an axis these
        runs lack keeps nothing out until the axis is back: a filter typed letter by
        letter must not wipe them)."""
        rows = [run_values(run) for run in runs]
        self.axes = build_axes(rows)
        ranks = score_ranks([values.get(SCORE) for values in rows])
        self.lines = [Line(run.name, tuple(p), rank) for run, values, p, rank in zip(
            runs, rows, positions(runs, self.axes), ranks, strict=True) if values]
        self._version += 1
        self.picked = min(self.picked, max(0, len(self.shown_axes) - 1))
        self.refresh()

    def set_highlighted(self, name: str | None) -> None:
        """Draw ``name``'s line on top."""
        if name != self.highlighted:
            self.highlighted = name
            self.refresh()

    def set_kept(self, kept: Iterable[str] | None) -> None:
        """The runs inside every brush (drawn in colour; the others in grey)."""
        self.kept = None if kept is None else frozenset(kept)
        self.refresh()

    def set_brushes(self, brushes: Iterable[Brush]) -> None:
        """Replace the brushes (without posting BrushesChanged)."""
        self.brushes = {b.axis: b for b in brushes}
        self.refresh()

    @property
    def shown_axes(self) -> list[Axis]:
        """The axes drawn: all that fit the width, the score always; when some must go, the
        least important fields (``ranking``) go first, then the later ones."""
        width = self.size.width or self._last_width  # hidden (the scatter shows): as last
        room = 1 + max(0, width - 2 * self._pad) // MIN_SPACING
        if len(self.axes) <= room:
            return list(self.axes)
        fields = [a for a in self.axes if a.name != SCORE]
        rank = {name: i for i, name in enumerate(self.ranking)}
        keep = sorted(range(len(fields)), key=lambda i: (rank.get(fields[i].name, len(rank)),
                                                         i))[:max(0, room - 1)]
        return [fields[i] for i in sorted(keep)] + [a for a in self.axes if a.name == SCORE]

    @property
    def left_out(self) -> list[str]:
        """Axes the width has no room for."""
        shown = {a.name for a in self.shown_axes}
        return [a.name for a in self.axes if a.name not in shown]

    @property
    def picked_axis(self) -> Axis | None:
        """The axis the keys brush."""
        shown = self.shown_axes
        return shown[self.picked] if 0 <= self.picked < len(shown) else None

    @property
    def _pad(self) -> int:
        return 4

    def columns(self, n: int) -> list[int]:
        """The column of each of ``n`` axes, evenly spread."""
        width = self.size.width
        if n == 1:
            return [width // 2]
        span = max(1, width - 1 - 2 * self._pad)
        return [round(self._pad + i * span / (n - 1)) for i in range(n)]

    @property
    def plot_rows(self) -> int:
        return max(1, self.size.height - LABEL_ROWS)

    def _row_of(self, position: float) -> int:
        """The plot row (0 at the top) a position falls in."""
        dots = self.plot_rows * 4 - 1
        return round((1 - position) * dots) // 4

    def _position_range(self, top_row: int, bottom_row: int) -> tuple[float, float]:
        """Positions covered by plot rows ``top_row`` .. ``bottom_row`` (low, high)."""
        dots = max(1, self.plot_rows * 4 - 1)
        high = 1 - (top_row * 4) / dots
        low = 1 - (bottom_row * 4 + 3) / dots
        return max(0.0, low), min(1.0, high)

    # -- keys --------------------------------------------------------------------------------
    def action_pick(self, step: int) -> None:
        """←/→: the previous / next axis."""
        n = len(self.shown_axes)
        if n:
            self.picked = (self.picked + step) % n

    def _step(self, axis: Axis) -> float:
        if axis.kind == "category" and len(axis.categories) > 1:
            return 1 / (len(axis.categories) - 1)
        return 1 / max(4, min(20, self.plot_rows))

    def action_move(self, edge: str, direction: int) -> None:
        """↑/↓ (top edge), Shift+↑/↓ (bottom edge): move the picked axis's brush a step."""
        axis = self.picked_axis
        if axis is None:
            return
        brush = self.brushes.get(axis.name, Brush(axis.name))
        self._set(brush.moved(edge, direction * self._step(axis)))

    def action_clear(self) -> None:
        """Backspace/Delete: the picked axis keeps every run again."""
        axis = self.picked_axis
        if axis is not None and axis.name in self.brushes:
            del self.brushes[axis.name]
            self._changed()

    def _set(self, brush: Brush) -> None:
        if brush.low <= 1e-9 and brush.high >= 1 - 1e-9:
            self.brushes.pop(brush.axis, None)  # the whole axis: no brush
        else:
            self.brushes[brush.axis] = brush
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.BrushesChanged(tuple(self.brushes.values())))

    def watch_picked(self) -> None:
        self.refresh()

    # -- mouse -------------------------------------------------------------------------------
    def _axis_at(self, x: int) -> int | None:
        shown = self.shown_axes
        if not shown:
            return None
        columns = self.columns(len(shown))
        i = min(range(len(shown)), key=lambda k: abs(columns[k] - x))
        reach = MIN_SPACING // 2 if len(shown) > 1 else self.size.width
        return i if abs(columns[i] - x) <= reach else None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Press on an axis: pick it; a drag from there sets its brush."""
        i = self._axis_at(event.x)
        if i is None or event.button != 1:
            return
        self.focus()
        self.picked = i
        row = event.y - 2
        if 0 <= row < self.plot_rows:
            self._drag = (self.shown_axes[i].name, row)
            self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            return
        name, start = self._drag
        row = min(max(event.y - 2, 0), self.plot_rows - 1)
        if row != start:
            low, high = self._position_range(min(start, row), max(start, row))
            self._set(Brush(name, low, high))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is not None:
            self._drag = None
            self.release_mouse()

    # -- drawing -----------------------------------------------------------------------------
    def render(self) -> RenderableType:
        width, height = self.size.width, self.size.height
        shown = self.shown_axes
        if len(shown) < 2 or not self.lines:
            why = ("No run with a config to draw." if not self.lines else
                   "Nothing varies among these runs but at most one field: "
                   "nothing to draw across.")
            return Text(why, style="dim")
        if height < LABEL_ROWS + 2:
            return Text("Too short for the plot: make the terminal taller.", style="dim")
        columns = self.columns(len(shown))
        index = [self.axes.index(a) for a in shown]
        key = (self._version, self.kept, width, height, tuple(index))
        if self._base is None or self._base[0] != key:  # the lines change less often than
            self._base = (key, self._draw_lines(width, height, columns, index))  # the cursor
        canvas = self._base[1].copy()
        highlighted = next((ln for ln in self.lines if ln.name == self.highlighted), None)
        if highlighted is not None:  # on top of every other line
            self._draw_line(canvas, highlighted, columns, index, HIGHLIGHT_STYLE)
        self._draw_axes(canvas, shown, columns, index)
        return Text("\n").join(canvas.rows())

    def _draw_lines(self, width: int, height: int, columns: list[int],
                    index: list[int]) -> BrailleCanvas:
        """Every run's line: the ones a brush leaves out in grey first, then the others by
        rank of score, the best on top."""
        canvas = BrailleCanvas(width, height)
        ordered = sorted(self.lines, key=lambda ln: (
            self.kept is None or ln.name in self.kept,
            -1 if ln.score_rank is None else ln.score_rank))
        muted = Style(color="rgb({},{},{})".format(*MUTED_RGB))
        for line in ordered:
            out = self.kept is not None and line.name not in self.kept
            self._draw_line(canvas, line, columns, index,
                            muted if out else ramp_style(line.score_rank))
        return canvas

    def _draw_line(self, canvas: BrailleCanvas, line: Line, columns: list[int],
                   index: list[int], style: Style) -> None:
        """One run's line across the axes drawn (not where it has no value)."""
        dots = self.plot_rows * 4 - 1
        ys = [None if line.positions[i] is None
              else 8 + round((1 - line.positions[i]) * dots)  # the plot starts at row 2
              for i in index]
        for k in range(len(index) - 1):
            a, b = ys[k], ys[k + 1]
            if a is not None and b is not None:
                canvas.line(2 * columns[k] + 1, a, 2 * columns[k + 1], b, style)

    def _draw_axes(self, canvas: BrailleCanvas, shown: list[Axis], columns: list[int],
                   index: list[int]) -> None:
        width, rows = self.size.width, self.plot_rows
        label_width = max(3, (columns[1] - columns[0]) - 2) if len(columns) > 1 else width
        highlighted = next((ln for ln in self.lines if ln.name == self.highlighted), None)
        for k, axis in enumerate(shown):
            col = columns[k]
            brush = self.brushes.get(axis.name)
            lo_row, hi_row = ((self._row_of(brush.low), self._row_of(brush.high))
                              if brush is not None else (-1, rows))
            for row in range(rows):
                inside = hi_row <= row <= lo_row
                canvas.char(col, row + 2, "┃" if inside else "│",
                            BRUSH_STYLE if inside else AXIS_STYLE)
            if highlighted is not None and highlighted.positions[index[k]] is not None:
                canvas.char(col, self._row_of(highlighted.positions[index[k]]) + 2, "●",
                            HIGHLIGHT_STYLE)
            if axis.kind == "category" and len(axis.categories) > 2:
                for i, name in enumerate(axis.categories[1:-1], start=1):
                    row = self._row_of(i / (len(axis.categories) - 1)) + 2
                    canvas.char(col + 1, row, name[:max(1, label_width // 2)], "dim")
            picked = k == self.picked
            name = short_name(axis.name, label_width)
            name_style = ("reverse bold" if self.has_focus else "underline bold") if picked \
                else "bold"
            if brush is not None:
                name_style += " rgb(230,159,0)"
            self._label(canvas, col, 0, name, name_style, label_width)
            top, bottom, style = axis_label(axis, 1.0), axis_label(axis, 0.0), ""
            if brush is not None:  # the brushed range instead of the axis's ends
                top, bottom = axis_label(axis, brush.high), axis_label(axis, brush.low)
                style = "rgb(230,159,0)"
            self._label(canvas, col, 1, top, style, label_width)
            self._label(canvas, col, rows + 2, bottom, style, label_width)
        self._key_line(canvas, rows + 3)

    @staticmethod
    def _label(canvas: BrailleCanvas, col: int, row: int, text: str, style: str,
               width: int) -> None:
        text = text[:width]
        start = min(max(0, col - len(text) // 2), max(0, canvas.width - len(text)))
        canvas.char(start, row, text, style or None)

    def _key_line(self, canvas: BrailleCanvas, row: int) -> None:
        """The colour key, then the axes the width left out (by their short names); the key
        gets shorter when both do not fit."""
        score_axis = next((a for a in self.axes if a.name == SCORE), None)
        left_out = self.left_out
        note = (f" · {len(left_out)} axes left out: "
                + ", ".join(SHORT_NAMES.get(n, n) for n in left_out)) if left_out else ""
        col = 0
        if score_axis is not None:
            low, high = axis_label(score_axis, 0.0), axis_label(score_axis, 1.0)
            for prefix, steps in (("score by rank ", 8), ("score ", 8), ("", 4)):
                pieces = ramp_pieces(f"{prefix}{low}", high, steps)
                if sum(len(p) for p, _ in pieces) + len(note) <= canvas.width:
                    break
            col = canvas.pieces(0, row, pieces)
        if note:
            canvas.char(col, row, note, "dim")
