"""A small canvas to draw a digit on, by keyboard or mouse.

The drawing is ``ink`` (h, w) in [0, 1], white on black like MNIST. A round brush with soft
edges paints it: pixel (r, c) under a brush centred at (y, x) (pixel units, pixel r spans
[r, r + 1)) gets ink ``clip(size/2 + 0.5 - d, 0, 1)`` where d is the distance from the
pixel's centre, so size 1 is one pixel and larger sizes are anti-aliased discs.

Scale 1 draws two pixel rows per text row with half blocks (28×28 in 28×14 cells); scale 2
gives each pixel two columns of one row (56×28 cells), where a mouse cell is one pixel.
"""

from __future__ import annotations

import math

import numpy as np
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from nnfs_tui.widgets.pixels import block_strips, half_block_strips, mono_strips

#: Brush sizes (diameter in pixels) the - and + keys step through.
BRUSH_SIZES = (1, 2, 3, 4, 5, 6)
#: Undo steps kept.
UNDO_DEPTH = 50
#: The brush outline's colour for each pen state.
PEN_RGB = {"up": (230, 200, 40), "draw": (60, 220, 90), "erase": (240, 70, 60)}
#: How strongly the outline tints the pixels under the brush.
TINT = 0.55


def brush_weights(shape: tuple[int, int], y: float, x: float,
                  size: float) -> tuple[slice, slice, np.ndarray]:
    """The rows, columns and ink (0..1) a brush of diameter ``size`` centred at (y, x) lays
    down, cropped to an image of ``shape``."""
    h, w = shape
    radius = size / 2
    reach = radius + 0.5
    r0, r1 = max(0, math.floor(y - reach)), min(h, math.ceil(y + reach))
    c0, c1 = max(0, math.floor(x - reach)), min(w, math.ceil(x + reach))
    rows = np.arange(r0, r1) + 0.5 - y
    cols = np.arange(c0, c1) + 0.5 - x
    distance = np.hypot(rows[:, None], cols[None, :])
    return slice(r0, r1), slice(c0, c1), np.clip(reach - distance, 0.0, 1.0)


class DrawingCanvas(Widget, can_focus=True):
    """Arrows move the brush, space paints, ``d`` keeps the pen down while moving."""

    DEFAULT_CSS = """
    DrawingCanvas { width: auto; height: auto; }
    """

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("shift+up", "move(-4, 0)", "Up 4", show=False),
        Binding("shift+down", "move(4, 0)", "Down 4", show=False),
        Binding("shift+left", "move(0, -4)", "Left 4", show=False),
        Binding("shift+right", "move(0, 4)", "Right 4", show=False),
        Binding("space", "dab", "Paint"),
        Binding("x,delete", "erase", "Erase", show=False),
        Binding("d", "pen('draw')", "Pen down"),
        Binding("e", "pen('erase')", "Eraser", show=False),
        Binding("c", "clear", "Clear"),
        Binding("plus,equals_sign", "brush(1)", "Brush+", show=False),
        Binding("minus", "brush(-1)", "Brush-", show=False),
        Binding("u,ctrl+z", "undo", "Undo"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((14, 14))
    """(row, column) of the pixel under the brush's centre."""
    brush: reactive[int] = reactive(3)
    """Brush diameter in pixels (one of BRUSH_SIZES)."""
    pen: reactive[str] = reactive("up")
    """up: moving leaves no trace; draw: moving paints; erase: moving rubs out."""
    scale: reactive[int] = reactive(1, layout=True)
    """1: half blocks, two pixel rows per text row; 2: two columns per pixel, one row each."""

    class Changed(Message):
        """The drawing changed (a newer one replaces a queued one)."""

        def __init__(self, canvas: DrawingCanvas) -> None:
            super().__init__()
            self.canvas: DrawingCanvas = canvas
            """The canvas that changed; read its ``ink``."""

        @property
        def control(self) -> DrawingCanvas:
            return self.canvas

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, DrawingCanvas.Changed) and message.canvas is self.canvas

    def __init__(self, shape: tuple[int, int] = (28, 28), *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.ink: np.ndarray = np.zeros(shape, dtype=np.float64)
        """(h, w) ink in [0, 1]; 1 is white."""
        self._undo: list[np.ndarray] = []
        self._drag: str | None = None
        self._last: tuple[float, float] | None = None
        self._strips: list[Strip] | None = None
        self.set_reactive(DrawingCanvas.cursor, (shape[0] // 2, shape[1] // 2))

    @property
    def shape(self) -> tuple[int, int]:
        return self.ink.shape  # type: ignore[return-value]

    # -- painting ----------------------------------------------------------------------------
    def paint(self, y: float, x: float, *, erase: bool = False) -> None:
        """One dab of the brush centred at (y, x) in pixel units."""
        rows, cols, weight = brush_weights(self.shape, y, x, self.brush)
        region = self.ink[rows, cols]
        self.ink[rows, cols] = np.minimum(region, 1.0 - weight) if erase else np.maximum(
            region, weight)

    def stroke(self, start: tuple[float, float], end: tuple[float, float], *,
               erase: bool = False) -> None:
        """Dabs every half pixel along the segment from start to end (both included)."""
        (y0, x0), (y1, x1) = start, end
        steps = max(1, math.ceil(2 * math.hypot(y1 - y0, x1 - x0)))
        for k in range(steps + 1):
            t = k / steps
            self.paint(y0 + t * (y1 - y0), x0 + t * (x1 - x0), erase=erase)

    def set_ink(self, ink: np.ndarray) -> None:
        """Replace the drawing (undoable), e.g. with a test image scaled to [0, 1]."""
        self._remember()
        self.ink = np.clip(np.asarray(ink, dtype=np.float64).reshape(self.shape), 0.0, 1.0)
        self._changed()

    def _remember(self) -> None:
        self._undo.append(self.ink.copy())
        del self._undo[:-UNDO_DEPTH]

    def _redraw(self) -> None:
        self._strips = None
        self.refresh()

    def _changed(self) -> None:
        self._redraw()
        self.post_message(self.Changed(self))

    def _centre(self) -> tuple[float, float]:
        row, column = self.cursor
        return row + 0.5, column + 0.5

    # -- keys --------------------------------------------------------------------------------
    def action_move(self, rows: int, columns: int) -> None:
        h, w = self.shape
        start = self._centre()
        row, column = self.cursor
        self.cursor = (min(h - 1, max(0, row + rows)), min(w - 1, max(0, column + columns)))
        if self.pen != "up":
            self.stroke(start, self._centre(), erase=self.pen == "erase")
            self._changed()

    def action_dab(self) -> None:
        """Space: paint under the brush (or rub out, with the eraser pen)."""
        self._remember()
        self.paint(*self._centre(), erase=self.pen == "erase")
        self._changed()

    def action_erase(self) -> None:
        self._remember()
        self.paint(*self._centre(), erase=True)
        self._changed()

    def action_pen(self, pen: str) -> None:
        """d / e: put the pen (or the eraser) down, or lift it if it is already down."""
        self.pen = "up" if self.pen == pen else pen
        if self.pen != "up":
            self._remember()
            self.paint(*self._centre(), erase=self.pen == "erase")
            self._changed()

    def action_clear(self) -> None:
        if self.ink.any():
            self._remember()
            self.ink[:] = 0.0
            self._changed()

    def action_brush(self, step: int) -> None:
        k = BRUSH_SIZES.index(self.brush) if self.brush in BRUSH_SIZES else 2
        self.brush = BRUSH_SIZES[min(len(BRUSH_SIZES) - 1, max(0, k + step))]

    def action_undo(self) -> None:
        if not self._undo:
            self.app.bell()
            return
        self.ink = self._undo.pop()
        self._changed()

    def watch_cursor(self) -> None:
        self._redraw()

    def watch_brush(self) -> None:
        self._redraw()

    def watch_pen(self) -> None:
        self._redraw()

    def watch_scale(self) -> None:
        self._redraw()

    # -- mouse -------------------------------------------------------------------------------
    def _pixel_at(self, event: events.MouseEvent) -> tuple[float, float] | None:
        """The centre of the mouse cell in pixel units, or None outside the drawing."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        h, w = self.shape
        if self.scale == 2:
            y, x = offset.y + 0.5, (offset.x + 0.5) / 2
        else:
            y, x = 2 * offset.y + 1.0, offset.x + 0.5
        if not (0 <= y < h + 0.5 and 0 <= x < w):
            return None
        return min(y, h - 0.01), x

    def on_mouse_down(self, event: events.MouseDown) -> None:
        point = self._pixel_at(event)
        if point is None:
            return
        self.focus()
        self._drag = "erase" if event.button == 3 else "draw"
        self.capture_mouse()
        self._remember()
        self.paint(*point, erase=self._drag == "erase")
        self._last = point
        self.cursor = (int(point[0]), int(point[1]))
        self._changed()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag is None:
            return
        point = self._pixel_at(event)
        if point is None:
            return
        self.stroke(self._last or point, point, erase=self._drag == "erase")
        self._last = point
        self.cursor = (int(point[0]), int(point[1]))
        self._changed()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag is not None:
            self._drag = None
            self._last = None
            self.release_mouse()

    # -- drawing -----------------------------------------------------------------------------
    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.shape[1] * (2 if self.scale == 2 else 1)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        h = self.shape[0]
        return h if self.scale == 2 else (h + 1) // 2

    def _pixels_rgb(self) -> np.ndarray:
        """(h, w, 3) uint8 colours: grey ink with the brush outline tinted in the pen colour."""
        grey = np.repeat((self.ink * 255)[:, :, None], 3, axis=2)
        rows, cols, weight = brush_weights(self.shape, *self._centre(), self.brush)
        pen = np.array(PEN_RGB[self.pen], dtype=np.float64)
        tint = (weight > 0.25)[:, :, None] * TINT
        grey[rows, cols] = grey[rows, cols] * (1 - tint) + pen * tint
        return np.round(grey).astype(np.uint8)

    def _mono(self) -> np.ndarray:
        """Without colour: ink above half, and the pixel under the brush's centre inverted."""
        on = self.ink >= 0.5
        on[self.cursor] = not on[self.cursor]
        return on

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            width = 2 if self.scale == 2 else 1
            if self.app.no_color:
                self._strips = mono_strips(self._mono(), width)
            elif width == 2:
                self._strips = block_strips(self._pixels_rgb())
            else:
                self._strips = half_block_strips(self._pixels_rgb())
        if 0 <= y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width, self.rich_style)
