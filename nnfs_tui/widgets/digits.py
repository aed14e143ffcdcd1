"""A test image drawn with half-block characters, its label, the model's guess and the ten
class probabilities as bars. Keys page through the test set or through the mistakes only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from engine.data import Dataset
from nnfs_tui.widgets.live import LiveView
from nnfs_tui.widgets.pixels import render_image


def probability_bars(probabilities: np.ndarray | None, names: tuple[str, ...], *, label: int,
                     predicted: int | None, width: int = 12) -> Text:
    """One line per class: name, a bar as long as its probability, the percentage."""
    text = Text(no_wrap=True, overflow="crop")
    eighths = " ▏▎▍▌▋▊▉"
    name_width = max(len(n) for n in names)
    for k, name in enumerate(names):
        p = float(probabilities[k]) if probabilities is not None else 0.0
        cells = p * width
        full = int(cells)
        bar = "█" * full + (eighths[int((cells - full) * 8)] if full < width else "")
        style = "green" if k == label else ("red" if k == predicted else "")
        text.append(f"{name:>{name_width}} ", style="bold" if k in (label, predicted) else "")
        text.append(f"{bar:<{width}}", style=style or "cyan")
        text.append("     -" if probabilities is None else f"{100 * p:5.1f}%", style="dim")
        if k < len(names) - 1:
            text.append("\n")
    return text


class DigitViewer(LiveView, Widget, can_focus=True):
    """Test images with the current model's guesses; updates after every epoch."""

    DEFAULT_CSS = """
    DigitViewer { height: auto; min-height: 8; }
    """

    # not in the footer (the F-keys must stay visible at 80 columns); the border says n/p/r/m
    BINDINGS = [
        Binding("right,n,j", "step(1)", "Next digit", show=False),
        Binding("left,p,k", "step(-1)", "Prev digit", show=False),
        Binding("r", "random", "Random digit", show=False),
        Binding("m", "toggle_mistakes", "Only mistakes", show=False),
        Binding("home", "first", "First digit", show=False),
        Binding("end", "last", "Last digit", show=False),
    ]

    # the watchers redraw (held back while the screen is covered: see LiveView)
    index: reactive[int] = reactive(0, repaint=False)
    """Position of the shown image in the test set."""
    only_mistakes: reactive[bool] = reactive(False)
    """Page only through images the current model gets wrong."""
    epoch: reactive[int] = reactive(0, repaint=False)
    """Epochs the model had trained when it made the shown predictions (0: no model yet)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 seed: int = 0) -> None:
        super().__init__(id=id, classes=classes)
        self.dataset: Dataset | None = None
        """The test images and labels come from here."""
        self.predicted: np.ndarray | None = None
        """Predicted class per test image, or None before the first epoch ends."""
        self.probabilities: np.ndarray | None = None
        """(n_test, n_classes) probabilities, or None."""
        self.status = "loading test images…"
        """What to show while there is no image."""
        self._rng = np.random.default_rng(seed)
        self._mistakes: np.ndarray = np.empty(0, dtype=np.intp)

    # -- data ----------------------------------------------------------------------------------
    def set_dataset(self, dataset: Dataset) -> None:
        """Show this dataset's test set (keeps the current position when it fits)."""
        same = self.dataset is not None and len(self.dataset.x_test) == len(dataset.x_test)
        self.dataset = dataset
        if not same:
            self.predicted = self.probabilities = None
            self._mistakes = np.empty(0, dtype=np.intp)
            self.index = 0
        self.refresh(layout=True)

    def set_predictions(self, predicted: np.ndarray, probabilities: np.ndarray,
                        epoch: int) -> None:
        """New guesses from the model (read-only arrays for the whole test set)."""
        if self.dataset is None or len(predicted) != len(self.dataset.y_test):
            return
        self.predicted, self.probabilities = predicted, probabilities
        self._mistakes = np.flatnonzero(predicted != self.dataset.y_test)
        self.epoch = epoch
        if self.only_mistakes and len(self._mistakes) and self.index not in self._mistakes:
            self.index = int(self._next_mistake(self.index, 1))
        self.redraw_soon()

    def clear_predictions(self) -> None:
        self.predicted = self.probabilities = None
        self._mistakes = np.empty(0, dtype=np.intp)
        self.epoch = 0
        self._update_subtitle()
        self.refresh()

    @property
    def mistakes(self) -> np.ndarray:
        """Indices of the test images the current model gets wrong."""
        return self._mistakes

    @property
    def count(self) -> int:
        return 0 if self.dataset is None else len(self.dataset.y_test)

    # -- actions -------------------------------------------------------------------------------
    def _next_mistake(self, index: int, direction: int) -> int:
        mistakes = self._mistakes
        if not len(mistakes):
            return index
        if direction > 0:
            pos = np.searchsorted(mistakes, index, side="right")
            return int(mistakes[pos % len(mistakes)])
        pos = np.searchsorted(mistakes, index, side="left") - 1
        return int(mistakes[pos % len(mistakes)])

    def action_step(self, direction: int) -> None:
        self._go(lambda mistakes: self._next_mistake(self.index, direction),
                 lambda: (self.index + direction) % self.count)

    def action_random(self) -> None:
        self._go(lambda mistakes: self._rng.choice(mistakes),
                 lambda: self._rng.integers(self.count))

    def _filtered(self) -> bool:
        """True when the keys page through the mistakes only (m on, and guesses to judge)."""
        return self.only_mistakes and self.predicted is not None

    def action_first(self) -> None:
        """Home: the first test digit, or the first mistake with only mistakes on."""
        self._go(lambda mistakes: mistakes[0], lambda: 0)

    def action_last(self) -> None:
        """End: the last test digit, or the last mistake with only mistakes on."""
        self._go(lambda mistakes: mistakes[-1], lambda: self.count - 1)

    def _go(self, among_mistakes: Callable[[np.ndarray], Any],
            anywhere: Callable[[], Any]) -> None:
        """Show digit ``anywhere()``, or with only mistakes on ``among_mistakes(mistakes)``
        (a bell when the model makes none)."""
        if not self.count:
            return
        if self._filtered():
            if not len(self._mistakes):
                self.app.bell()
                return
            self.index = int(among_mistakes(self._mistakes))
        else:
            self.index = int(anywhere())

    def action_toggle_mistakes(self) -> None:
        self.only_mistakes = not self.only_mistakes
        if self.only_mistakes and len(self._mistakes) and self.index not in self._mistakes:
            self.index = self._next_mistake(self.index, 1)

    def watch_index(self) -> None:
        self.redraw_soon()

    def watch_only_mistakes(self) -> None:
        self.redraw()

    def watch_epoch(self) -> None:
        self.redraw_soon()

    def redraw(self) -> None:
        self._update_subtitle()
        self.refresh()

    def _update_subtitle(self) -> None:
        parts = []
        if self.predicted is not None:
            parts.append(f"epoch {self.epoch}: {len(self._mistakes)} wrong")
        else:
            parts.append("no model yet")
        if self.only_mistakes:
            parts.append("only mistakes")
        self.border_subtitle = " · ".join(parts)

    # -- drawing -------------------------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.dataset is None:
            return 1
        rows = (self.dataset.image_shape[0] + 1) // 2
        return max(rows, self.dataset.n_classes + 3)

    def on_mount(self) -> None:
        self._update_subtitle()

    def render(self) -> RenderableType:
        data = self.dataset
        if data is None or not len(data.y_test):
            return Text(self.status, style="dim")
        i = min(self.index, len(data.y_test) - 1)
        label = int(data.y_test[i])
        names = data.class_names
        color = not self.app.no_color
        image = render_image(data.x_test[i], data.image_shape, color=color)
        predicted = None if self.predicted is None else int(self.predicted[i])
        probs = None if self.probabilities is None else self.probabilities[i]
        side = Text(no_wrap=True, overflow="ellipsis")
        side.append(f"#{i + 1}/{len(data.y_test)}\n", style="dim")
        side.append("label ", style="dim")
        side.append(f"{names[label]}\n", style="bold")
        side.append("guess ", style="dim")
        if predicted is None:
            side.append("-\n", style="dim")
        else:
            right = predicted == label
            side.append(names[predicted], style="bold green" if right else "bold red")
            side.append(" ✓\n" if right else " ✗\n", style="green" if right else "bold red")
        image_width = data.image_shape[1]
        name_width = len(max(names, key=len))
        # the side column: name, space, bar, percentage ("100.0%")
        bar_width = max(3, min(10, self.size.width - image_width - 1 - name_width - 8))
        side.append_text(probability_bars(probs, names, label=label, predicted=predicted,
                                          width=bar_width))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=image_width)
        grid.add_column(no_wrap=True)
        grid.add_row(image, side)
        return grid
