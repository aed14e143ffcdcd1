"""The test-set confusion matrix as a heat map, with a keyboard cursor over its cells.

Rows are the true classes, columns the predicted ones; the last column is each class's
accuracy (its recall). Correct cells (the diagonal) are shaded green by that accuracy,
mistakes orange-red by their count relative to the largest mistake cell, so a handful of
confusions stands out next to a thousand correct answers. Enter (or a click) on a cell posts
:class:`ConfusionMatrix.CellSelected`.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from engine.metrics import per_class_accuracy

#: Background of an empty cell and the dark end of both heat scales.
BASE_RGB = (32, 32, 36)
#: The bright end of the scale of mistakes (off the diagonal).
MISTAKE_RGB = (235, 90, 30)
#: The bright end of the scale of correct answers (the diagonal).
CORRECT_RGB = (40, 170, 70)
#: Longest row label; longer class names are cut (the info line shows them in full).
NAME_WIDTH = 9
ACC_WIDTH = 7


def heat(share: float, high: tuple[int, int, int]) -> Color:
    """A colour from BASE_RGB (share 0) to ``high`` (share 1)."""
    share = min(1.0, max(0.0, share))
    return Color.from_rgb(*(round(b + (h - b) * share) for b, h in zip(BASE_RGB, high,
                                                                       strict=True)))


def cell_style(count: int, share: float, diagonal: bool) -> Style:
    """Heat background for a cell, with a text colour that stays readable on it."""
    if count == 0 and not diagonal:
        return Style(dim=True)
    # mistakes: sqrt so a cell with a quarter of the worst count still shows at half strength
    bg = heat(share if diagonal else share ** 0.5, CORRECT_RGB if diagonal else MISTAKE_RGB)
    r, g, b = bg.get_truecolor()
    light = 0.299 * r + 0.587 * g + 0.114 * b > 110
    return Style(bgcolor=bg, color="black" if light else "white")


class ConfusionMatrix(Widget, can_focus=True):
    """Counts of (true, predicted) pairs; arrows move the cursor, Enter selects a cell."""

    DEFAULT_CSS = """
    ConfusionMatrix { width: auto; height: auto; }
    """

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("enter", "select", "Show these digits"),
        Binding("w", "worst", "Worst cell"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((0, 0))
    """(true class, predicted class) of the highlighted cell."""

    class CellSelected(Message):
        """Enter or a click on a cell: show the test images counted there."""

        def __init__(self, matrix: ConfusionMatrix, true_class: int,
                     predicted_class: int) -> None:
            super().__init__()
            self.matrix: ConfusionMatrix = matrix
            """The matrix the cell belongs to."""
            self.true_class: int = true_class
            """The cell's row: the images' label."""
            self.predicted_class: int = predicted_class
            """The cell's column: what the model guessed."""

        @property
        def control(self) -> ConfusionMatrix:
            return self.matrix

    def __init__(self, class_names: tuple[str, ...], *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.class_names: tuple[str, ...] = class_names
        """Name of each class, by label."""
        self.counts: np.ndarray | None = None
        """(classes, classes) int counts, row = true, column = predicted; None until set."""
        self.status = "computing the test-set predictions…"
        """What to show while there are no counts."""

    # -- data --------------------------------------------------------------------------------
    def set_counts(self, counts: np.ndarray) -> None:
        """Show a confusion matrix from :func:`engine.metrics.confusion_matrix`."""
        self.counts = np.asarray(counts)
        self.refresh(layout=True)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def accuracy(self) -> np.ndarray:
        """Per-class accuracy (recall), nan for a class without test images."""
        if self.counts is None:
            return np.full(self.n_classes, np.nan)
        return per_class_accuracy(self.counts)

    def cell_count(self, true_class: int, predicted_class: int) -> int:
        return 0 if self.counts is None else int(self.counts[true_class, predicted_class])

    # -- geometry ----------------------------------------------------------------------------
    @property
    def name_width(self) -> int:
        return min(NAME_WIDTH, max(len("true"), *(len(n) for n in self.class_names)))

    @property
    def cell_width(self) -> int:
        biggest = 0 if self.counts is None else int(self.counts.max(initial=0))
        return max(4, len(str(biggest)) + 1)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if self.counts is None:
            return len(self.status)
        return self.name_width + self.n_classes * self.cell_width + ACC_WIDTH

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1 if self.counts is None else self.n_classes + 1

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The (true, predicted) cell under content offset (x, y), or None."""
        if self.counts is None or y < 1 or y > self.n_classes or x < self.name_width:
            return None
        column = (x - self.name_width) // self.cell_width
        return (y - 1, column) if column < self.n_classes else None

    # -- actions -----------------------------------------------------------------------------
    def action_move(self, rows: int, columns: int) -> None:
        row, column = self.cursor
        n = self.n_classes
        self.cursor = ((row + rows) % n, (column + columns) % n)

    def action_select(self) -> None:
        if self.counts is not None:
            self.post_message(self.CellSelected(self, *self.cursor))

    def action_worst(self) -> None:
        """Jump to the cell with the most mistakes."""
        if self.counts is None:
            return
        mistakes = self.counts.copy()
        np.fill_diagonal(mistakes, -1)
        row, column = np.unravel_index(int(mistakes.argmax()), mistakes.shape)
        self.cursor = (int(row), int(column))
        self.action_select()

    def watch_cursor(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        cell = None if offset is None else self.cell_at(offset.x, offset.y)
        if cell is not None:
            self.focus()
            self.cursor = cell
            self.action_select()

    # -- drawing -----------------------------------------------------------------------------
    def render(self) -> RenderableType:
        counts = self.counts
        if counts is None:
            return Text(self.status, style="dim")
        names = self.class_names
        name_w, cell_w, n = self.name_width, self.cell_width, self.n_classes
        row_at, column_at = self.cursor
        totals = counts.sum(axis=1)
        mistakes = counts.copy()
        np.fill_diagonal(mistakes, 0)
        worst = max(1, int(mistakes.max(initial=0)))
        accuracy = self.accuracy
        color = not self.app.no_color

        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{'true':<{name_w}}", style="dim")
        for k, name in enumerate(names):
            label = name[:cell_w - 1]
            text.append(f"{label:>{cell_w}}", style="bold underline" if k == column_at else "bold")
        text.append(f"{'acc':>{ACC_WIDTH}}", style="dim")
        for row in range(n):
            text.append("\n")
            name = names[row] if len(names[row]) <= name_w else names[row][:name_w - 2] + "… "
            text.append(f"{name:<{name_w}}",
                        style="bold underline" if row == row_at else "bold")
            for column in range(n):
                count = int(counts[row, column])
                diagonal = row == column
                share = (count / totals[row] if totals[row] else 0.0) if diagonal else (
                    count / worst)
                cell = f"{count if count or diagonal else '·':>{cell_w - 1}} "
                if (row, column) == (row_at, column_at):
                    text.append(cell, style=Style(bold=True, reverse=True)
                                if not color else Style(bold=True, color="black",
                                                        bgcolor="bright_yellow"))
                elif color:
                    text.append(cell, style=cell_style(count, share, diagonal))
                else:
                    text.append(cell, style="bold" if diagonal else "")
            acc = accuracy[row]
            text.append(f"{'-' if np.isnan(acc) else f'{100 * acc:.1f}%':>{ACC_WIDTH}}",
                        style="bold" if row == row_at else "")
        return text
