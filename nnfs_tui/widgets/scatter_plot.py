"""ScatterPlot: the score of each run against one config field, a dot per run coloured by
its score (the same ramp as the parallel coordinates).

The x axis is the field's parallel-coordinates axis (:mod:`engine.runs.parallel`): log for
log-ranged fields, labelled in the field's units; a categorical field gets one slot per
category, named under it, its runs spread across the slot so they do not hide each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from engine.runs import RunInfo
from engine.runs.parallel import SCORE, Axis, build_axes, run_values
from nnfs_tui.widgets.braille import BrailleCanvas, ramp_style
from nnfs_tui.widgets.parallel_plot import HIGHLIGHT_STYLE, axis_label, score_ranks

#: Cells left of the plot for the score labels (``97.4%``).
MARGIN = 7
#: Of a category's slot, the part its runs spread over.
SPREAD = 0.6


def x_positions(axis: Axis, values: Sequence[object]) -> list[float | None]:
    """Where each value lies across the plot, in [0, 1]: the axis's position for numbers;
    for categories, its slot's centre, runs of one slot spread evenly across ``SPREAD`` of
    it in the order given."""
    if axis.kind != "category":
        return [axis.position(v) for v in values]
    k = max(1, len(axis.categories))
    slots = [axis.position(v) for v in values]
    index = [None if s is None else round(s * (k - 1)) for s in slots]
    out: list[float | None] = []
    for i, slot in enumerate(index):
        if slot is None:
            out.append(None)
            continue
        members = [j for j, s in enumerate(index) if s == slot]
        rank = members.index(i)
        offset = ((rank + 0.5) / len(members) - 0.5) * SPREAD if len(members) > 1 else 0.0
        out.append((slot + 0.5 + offset) / k)
    return out


class ScatterPlot(Widget, can_focus=True):
    """Score against one field of some runs; ←/→ ask for the previous / next field."""

    DEFAULT_CSS = """
    ScatterPlot { width: 1fr; height: 1fr; min-height: 7; }
    ScatterPlot:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "step(-1)", "Field", show=False),
        Binding("right", "step(1)", "Field"),
    ]

    class Step(Message):
        """Show the previous (-1) or next (1) field."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step: int = step
            """-1 or 1."""

    def action_step(self, step: int) -> None:
        """←/→: the previous / next field."""
        self.post_message(self.Step(step))

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.runs: list[RunInfo] = []
        """The runs drawn."""
        self.field: str | None = None
        """The field on the x axis."""
        self.highlighted: str | None = None
        """The run drawn on top, in white."""

    def show(self, runs: Sequence[RunInfo], field: str | None,
             highlighted: str | None = None) -> None:
        """Draw the score of ``runs`` against ``field``."""
        self.runs, self.field, self.highlighted = list(runs), field, highlighted
        self.refresh()

    @property
    def axis(self) -> Axis | None:
        """The x axis (None when the field does not vary among the runs)."""
        return next((a for a in build_axes(self.runs) if a.name == self.field), None)

    def render(self) -> RenderableType:
        axes = build_axes(self.runs)
        x_axis = next((a for a in axes if a.name == self.field), None)
        y_axis = next((a for a in axes if a.name == SCORE), None)
        if x_axis is None or y_axis is None or self.field == SCORE:
            return Text(f"score against {self.field or 'a field'}: it does not vary among "
                        "these scored runs." if self.field else "No scored runs.", style="dim")
        width, height = self.size.width, self.size.height
        rows, cols = height - 3, width - MARGIN - 1
        if rows < 3 or cols < 10:
            return Text("Too small for the scatter.", style="dim")
        canvas = BrailleCanvas(width, height)
        kind = {"log": "log", "linear": "linear", "category": "categories"}[x_axis.kind]
        canvas.char(0, 0, f"score against {self.field} ({kind})", "bold")
        values = [run_values(r) for r in self.runs]
        xs = x_positions(x_axis, [v.get(self.field) for v in values])
        ranks = score_ranks([v.get(SCORE) for v in values])  # colours as in the parallel plot
        points = []
        for run, v, x, rank in zip(self.runs, values, xs, ranks, strict=True):
            y = y_axis.position(v.get(SCORE))
            if x is not None and y is not None:
                points.append((run.name == self.highlighted, y, x, rank))
        for row in range(rows):
            canvas.char(MARGIN - 1, row + 1, "│", "dim")
        canvas.char(MARGIN - 1, rows + 1, "└" + "─" * cols, "dim")
        canvas.char(0, 1, axis_label(y_axis, 1.0)[:MARGIN - 1], "")
        canvas.char(0, rows, axis_label(y_axis, 0.0)[:MARGIN - 1], "")
        for is_highlighted, y, x, rank in sorted(points, key=lambda p: p[:3]):
            col = MARGIN + min(cols - 1, round(x * (cols - 1)))
            row = 1 + min(rows - 1, round((1 - y) * (rows - 1)))
            canvas.char(col, row, "◆" if is_highlighted else "●",
                        HIGHLIGHT_STYLE if is_highlighted else ramp_style(rank))
        self._x_labels(canvas, x_axis, rows + 2, cols)
        return Text("\n").join(canvas.rows())

    @staticmethod
    def _x_labels(canvas: BrailleCanvas, axis: Axis, row: int, cols: int) -> None:
        if axis.kind == "category":
            k = len(axis.categories)
            slot = cols / k
            for i, name in enumerate(axis.categories):
                text = name[:max(1, int(slot) - 1)]
                centre = MARGIN + round((i + 0.5) * slot)
                canvas.char(centre - len(text) // 2, row, text, Style(dim=False))
            return
        for position in (0.0, 0.5, 1.0):
            text = axis_label(axis, position)
            col = MARGIN + round(position * (cols - 1)) - len(text) // 2
            canvas.char(min(max(MARGIN, col), MARGIN + cols - len(text)), row, text)
