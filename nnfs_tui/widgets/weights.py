"""First-layer weights as a grid of small images: what each hidden unit looks for.

Each tile is one column of W1 (pixels, hidden) shaped as an image and scaled by its own
largest |w| (:func:`engine.inspect.first_layer_images`): orange where a bright pixel excites
the unit, blue where it inhibits it, black where the unit does not care, in colours that
256-colour terminals show as they are. Two pixel rows per
text row (half blocks). Tiles are full size (28×14 cells for MNIST) or halved by 2×2 averaging
(``z`` switches); units that do not fit are on the next page.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from nnfs_tui.widgets.pixels import UPPER_HALF, downsample, render_image

#: Colours of weights from 0 to +1 (excites: black, dark red, orange, yellow) and from 0 to
#: -1 (inhibits: black, navy, blue, cyan). Every one is in xterm's 256-colour cube, so tmux's
#: default 256 colours show the same 17 levels as truecolor: a smooth ramp would collapse to
#: a few cube colours there, most weights to black.
POSITIVE_RAMP = ((0, 0, 0), (95, 0, 0), (135, 0, 0), (175, 95, 0), (215, 95, 0),
                 (255, 135, 0), (255, 175, 0), (255, 215, 0), (255, 255, 135))
NEGATIVE_RAMP = ((0, 0, 0), (0, 0, 95), (0, 0, 135), (0, 0, 175), (0, 95, 175),
                 (0, 95, 215), (0, 135, 255), (0, 175, 255), (95, 215, 255))
#: Columns between tiles.
GAP = 1
_COLORS = {sign: tuple(Color.from_rgb(*rgb) for rgb in ramp)
           for sign, ramp in ((1, POSITIVE_RAMP), (-1, NEGATIVE_RAMP))}


def diverging_color(value: float) -> Color:
    """Black at 0, the last of POSITIVE_RAMP at +1 and of NEGATIVE_RAMP at -1; in between the
    nearest of the ramp's levels."""
    v = min(1.0, max(-1.0, value))
    ramp = _COLORS[1 if v >= 0 else -1]
    return ramp[round(abs(v) * (len(ramp) - 1))]


def render_diverging(image: np.ndarray, *, color: bool = True) -> list[Text]:
    """Text rows of an (h, w) image in [-1, 1], two pixel rows per text row.

    Without colour only the positive part is shown, as the digit viewer shows ink."""
    if not color:
        ink = (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        return render_image(ink, image.shape, color=False).split("\n")
    h, w = image.shape
    if h % 2:
        image = np.vstack([image, np.zeros((1, w))])
    rows = []
    for r in range(0, image.shape[0], 2):
        line = Text(no_wrap=True)
        for a, b in zip(image[r].tolist(), image[r + 1].tolist(), strict=True):
            line.append(UPPER_HALF, Style(color=diverging_color(a), bgcolor=diverging_color(b)))
        rows.append(line)
    return rows


class WeightGrid(Widget, can_focus=True):
    """Tiles of first-layer weights, as many as fit; ``n``/``p`` page, ``z`` zooms."""

    DEFAULT_CSS = """
    WeightGrid { width: 1fr; height: 1fr; }
    """

    BINDINGS = [
        Binding("pagedown", "page(1)", "Next units", show=False),
        Binding("pageup", "page(-1)", "Prev units", show=False),
        Binding("z", "zoom", "Zoom"),
    ]

    start: reactive[int] = reactive(0)
    """Index of the first unit on the page."""
    factor: reactive[int] = reactive(2)
    """1: full-size tiles; 2: halved by 2×2 averaging."""

    def __init__(self, images: np.ndarray, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.images: np.ndarray = np.asarray(images)
        """(units, h, w) weights per hidden unit, each scaled to [-1, 1]."""
        self._auto_factor = True
        self._tiles: dict[tuple[int, int], list[Text]] = {}

    def set_images(self, images: np.ndarray) -> None:
        """New weights (a fresh snapshot of the model)."""
        self.images = np.asarray(images)
        self._tiles.clear()
        self.start = min(self.start, max(0, self.units - 1))
        self.refresh()

    @property
    def units(self) -> int:
        return len(self.images)

    # -- geometry ----------------------------------------------------------------------------
    def tile_size(self, factor: int | None = None) -> tuple[int, int]:
        """(columns, rows) of one tile, its label line included."""
        f = self.factor if factor is None else factor
        h, w = self.images.shape[1:] if self.units else (28, 28)
        return -(-w // f), (-(-h // f) + 1) // 2 + 1

    def layout_for(self, factor: int | None = None) -> tuple[int, int]:
        """(tiles per row, tile rows) on one page at the widget's size."""
        width, height = self.size
        columns, rows = self.tile_size(factor)
        return max(1, (width + GAP) // (columns + GAP)), max(1, height // rows)

    @property
    def per_page(self) -> int:
        across, down = self.layout_for()
        return across * down

    @property
    def page_units(self) -> range:
        """Indices of the units on the current page."""
        return range(self.start, min(self.units, self.start + self.per_page))

    def on_resize(self) -> None:
        if self._auto_factor and self.units:
            # full size when every unit fits on one page, else the halved tiles
            across, down = self.layout_for(1)
            self.factor = 1 if across * down >= self.units else 2
        self._align_start()
        self._update_subtitle()

    def _align_start(self) -> None:
        per_page = self.per_page
        self.start = (self.start // per_page) * per_page

    # -- actions -----------------------------------------------------------------------------
    def action_page(self, direction: int) -> None:
        per_page = self.per_page
        pages = max(1, -(-self.units // per_page))
        page = (self.start // per_page + direction) % pages
        self.start = page * per_page

    def action_zoom(self) -> None:
        self._auto_factor = False
        self.factor = 1 if self.factor == 2 else 2
        self._align_start()

    def watch_start(self) -> None:
        self._update_subtitle()
        self.refresh()

    def watch_factor(self) -> None:
        self._update_subtitle()
        self.refresh()

    def _update_subtitle(self) -> None:
        units = self.page_units
        if not self.units:
            self.border_subtitle = ""
            return
        pages = max(1, -(-self.units // self.per_page))
        page = self.start // self.per_page + 1
        shown, other = ("½×", "1×") if self.factor == 2 else ("1×", "½×")
        self.border_subtitle = (f"units {units.start + 1}-{units.stop} of {self.units} · "
                                f"page {page}/{pages} · n/p · zoom {shown} (z: {other})")

    # -- drawing -----------------------------------------------------------------------------
    def _tile(self, unit: int, color: bool) -> list[Text]:
        key = (unit, self.factor * (1 if color else -1))
        if key not in self._tiles:
            self._tiles[key] = render_diverging(downsample(self.images[unit], self.factor),
                                                color=color)
        return self._tiles[key]

    def render(self) -> RenderableType:
        if not self.units:
            return Text("no weights", style="dim")
        color = not self.app.no_color
        across, _ = self.layout_for()
        columns, _ = self.tile_size()
        units = list(self.page_units)
        text = Text(no_wrap=True, overflow="crop")
        for row_start in range(0, len(units), across):
            row_units = units[row_start:row_start + across]
            tiles = [self._tile(u, color) for u in row_units]
            for line in range(len(tiles[0])):
                if text:
                    text.append("\n")
                for k, tile in enumerate(tiles):
                    if k:
                        text.append(" " * GAP)
                    text.append_text(tile[line])
            text.append("\n")
            labels = [f"#{u + 1}".center(columns)[:columns] for u in row_units]
            text.append((" " * GAP).join(labels), style="dim")
        return text
