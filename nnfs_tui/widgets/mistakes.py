"""The test images of one confusion-matrix cell, one at a time, with the model's guesses.

Off the diagonal these are the model's mistakes "true X, guessed Y", the most confident
mistake first; on the diagonal the images it got right, the closest call first. Digits and
probability bars are drawn as in the digit viewer (:mod:`nnfs_tui.widgets.digits`).
"""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from engine.data import Dataset
from nnfs_tui.widgets.digits import probability_bars
from nnfs_tui.widgets.pixels import (
    PLAIN,
    downsample,
    grey_rgb,
    half_block_strips,
    mono_strips,
    render_image,
)


def cell_images(y_true: np.ndarray, predicted: np.ndarray, probabilities: np.ndarray,
                true_class: int, predicted_class: int) -> np.ndarray:
    """Indices of the test images with label ``true_class`` guessed as ``predicted_class``.

    Sorted by the probability of ``predicted_class``: highest first for mistakes (the most
    confident wrong answers), lowest first on the diagonal (the closest calls).
    """
    indices = np.flatnonzero((np.asarray(y_true) == true_class)
                             & (np.asarray(predicted) == predicted_class))
    confidence = probabilities[indices, predicted_class]
    # a stable sort, so equal confidences keep the test set's order
    order = np.argsort(confidence if true_class == predicted_class else -confidence,
                       kind="stable")
    return indices[order]


class MistakeViewer(Widget, can_focus=True):
    """Pages through the images of the selected cell; ←/→ (or n/p on the screen) step."""

    DEFAULT_CSS = """
    MistakeViewer { height: auto; min-height: 8; }
    """

    BINDINGS = [
        Binding("right,j", "step(1)", "Next", show=False),
        Binding("left,k", "step(-1)", "Prev", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("escape,backspace,tab", "back", "Back to the matrix"),
    ]

    position: reactive[int] = reactive(0)
    """Which image of the cell is shown (0: the first in sort order)."""

    class Back(Message):
        """Esc or Backspace: the person wants the matrix again."""

    def __init__(self, dataset: Dataset, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.dataset: Dataset = dataset
        """The test images come from here."""
        self.indices: np.ndarray = np.empty(0, dtype=np.intp)
        """Test-set indices of the selected cell's images, in the order shown."""
        self.cell: tuple[int, int] | None = None
        """(true class, predicted class) of the selected cell; None before Enter."""
        self.predicted: np.ndarray | None = None
        self.probabilities: np.ndarray | None = None

    def show_cell(self, true_class: int, predicted_class: int, predicted: np.ndarray,
                  probabilities: np.ndarray) -> None:
        """Page through the images of a cell, given the model's guesses for the test set."""
        self.predicted, self.probabilities = predicted, probabilities
        self.cell = (true_class, predicted_class)
        self.indices = cell_images(self.dataset.y_test, predicted, probabilities,
                                   true_class, predicted_class)
        self.position = 0
        self._update_titles()
        self.refresh(layout=True)

    def clear(self) -> None:
        self.cell = None
        self.indices = np.empty(0, dtype=np.intp)
        self.position = 0
        self._update_titles()
        self.refresh()

    @property
    def index(self) -> int | None:
        """Test-set index of the shown image, or None."""
        return int(self.indices[self.position]) if len(self.indices) else None

    # -- actions -----------------------------------------------------------------------------
    def action_step(self, direction: int) -> None:
        if len(self.indices):
            self.position = (self.position + direction) % len(self.indices)
        else:
            self.app.bell()

    def action_first(self) -> None:
        self.position = 0

    def action_last(self) -> None:
        self.position = max(0, len(self.indices) - 1)

    def action_back(self) -> None:
        self.post_message(self.Back())

    def watch_position(self) -> None:
        self._update_titles()
        self.refresh()

    def watch_has_focus(self) -> None:
        self._update_titles()  # the keys hint says how to get here, or back

    def _update_titles(self) -> None:
        names = self.dataset.class_names
        if self.cell is None:
            self.border_title = "digits of a cell"
            self.border_subtitle = ""
            return
        true_class, predicted_class = self.cell
        if true_class == predicted_class:
            self.border_title = f"{names[true_class]} right · closest calls first"
        else:
            self.border_title = (f"{names[true_class]} taken for {names[predicted_class]}"
                                 " · most confident first")
        n = len(self.indices)
        keys = "←→ Home End · Esc: matrix" if self.has_focus else "Tab: page through"
        self.border_subtitle = f"{self.position + 1}/{n} · {keys}" if n else "none"

    # -- drawing -----------------------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        rows = (self.dataset.image_shape[0] + 1) // 2
        return max(rows, self.dataset.n_classes + 4)

    def render(self) -> RenderableType:
        data = self.dataset
        names = data.class_names
        if self.cell is None or self.predicted is None or self.probabilities is None:
            return Text("Move over the matrix and press Enter (or click a cell) to page through "
                        "its test images.", style="dim")
        true_class, predicted_class = self.cell
        if not len(self.indices):
            verb = "got right" if true_class == predicted_class else "took for"
            other = "" if true_class == predicted_class else f" {names[predicted_class]}"
            return Text(f"No test image of {names[true_class]} that the model {verb}{other}.",
                        style="dim")
        i = self.index
        assert i is not None
        label, guess = int(data.y_test[i]), int(self.predicted[i])
        probs = self.probabilities[i]
        image = render_image(data.x_test[i], data.image_shape, color=not self.app.no_color)
        side = Text(no_wrap=True, overflow="ellipsis")
        side.append(f"{self.position + 1} of {len(self.indices)}", style="bold")
        side.append(f" · test #{i + 1}\n", style="dim")
        side.append("label ", style="dim")
        side.append(f"{names[label]}\n", style="bold")
        side.append("guess ", style="dim")
        right = guess == label
        side.append(names[guess], style="bold green" if right else "bold red")
        side.append(" ✓" if right else " ✗", style="green" if right else "bold red")
        side.append(f" {100 * float(probs[guess]):.1f}%\n", style="dim")
        image_width = data.image_shape[1]
        name_width = max(len(n) for n in names)
        bar_width = max(3, min(12, self.size.width - image_width - 1 - name_width - 8))
        side.append_text(probability_bars(probs, names, label=label, predicted=guess,
                                          width=bar_width))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=image_width)
        grid.add_column(no_wrap=True)
        grid.add_row(image, side)
        return grid


class CellStrip(Widget):
    """Thumbnails (half size) of the selected cell's images from the shown one on, each with
    the model's confidence in its guess: a whole cell at a glance on a large terminal."""

    DEFAULT_CSS = """
    CellStrip { width: 1fr; height: 1fr; }
    """

    #: Columns between thumbnails.
    GAP = 1

    def __init__(self, viewer: MistakeViewer, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.viewer: MistakeViewer = viewer
        """The viewer whose cell and position the strip follows."""
        self._strips: list[Strip] | None = None
        self._key: tuple | None = None

    def on_mount(self) -> None:
        self.watch(self.viewer, "position", self._follow)

    def _follow(self, _position: int = 0) -> None:
        self.refresh()

    def tile_size(self) -> tuple[int, int]:
        """(columns, rows) of one thumbnail with its label line."""
        h, w = self.viewer.dataset.image_shape
        return -(-w // 2), (-(-h // 2) + 1) // 2 + 1

    @property
    def shown(self) -> np.ndarray:
        """Test-set indices of the thumbnails on screen, the viewer's image first."""
        viewer = self.viewer
        columns, rows = self.tile_size()
        across = max(1, (self.size.width + self.GAP) // (columns + self.GAP))
        down = max(0, self.size.height // rows)
        return viewer.indices[viewer.position:viewer.position + across * down]

    def _build(self) -> list[Strip]:
        viewer = self.viewer
        data = viewer.dataset
        shown = self.shown
        if not len(shown) or viewer.cell is None or viewer.probabilities is None:
            return []
        columns, _ = self.tile_size()
        across = max(1, (self.size.width + self.GAP) // (columns + self.GAP))
        guess = viewer.cell[1]
        gap = Strip([Segment(" " * self.GAP, PLAIN)], self.GAP)
        strips: list[Strip] = []
        for start in range(0, len(shown), across):
            row = shown[start:start + across]
            tiles = []
            for k, i in enumerate(row):
                image = data.x_test[i].reshape(data.image_shape).astype(np.float64)
                small = downsample(image, 2).round().astype(np.uint8)
                lines = (mono_strips(small >= 128) if self.app.no_color
                         else half_block_strips(grey_rgb(small, small.shape)))
                label = f"{100 * float(viewer.probabilities[i, guess]):.0f}%"
                style = Style(bold=True, reverse=True) if start + k == 0 else Style(dim=True)
                lines.append(Strip([Segment(label.center(columns)[:columns], style)], columns))
                tiles.append(lines)
            for line in range(len(tiles[0])):
                parts: list[Strip] = []
                for k, tile in enumerate(tiles):
                    if k:
                        parts.append(gap)
                    parts.append(tile[line])
                strips.append(Strip.join(parts))
        return strips

    def on_click(self, event: events.Click) -> None:
        """A click on a thumbnail shows that image in the viewer."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        columns, rows = self.tile_size()
        across = max(1, (self.size.width + self.GAP) // (columns + self.GAP))
        k = (offset.y // rows) * across + offset.x // (columns + self.GAP)
        if k < len(self.shown):
            self.viewer.position += k

    def render_line(self, y: int) -> Strip:
        viewer = self.viewer
        key = (viewer.cell, viewer.position, id(viewer.indices), self.size)
        if self._strips is None or key != self._key:
            self._strips, self._key = self._build(), key
        if 0 <= y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width, self.rich_style)
