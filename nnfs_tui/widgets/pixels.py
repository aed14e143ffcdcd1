"""Images as lines of coloured cells: the primitive every picture in the app is drawn with.

The digit widgets (digits, mistakes, weights, canvas) build on this module, never the reverse.
:func:`render_image` makes a Rich ``Text`` per image, which is fine for a picture that changes
on a key press or an epoch. A canvas under a moving brush redraws far more often, so there an
(h, w, 3) image becomes Textual ``Strip``\\ s of segments with cached styles
(:func:`half_block_strips`): no markup, no per-cell style conversion.

Half blocks put two pixel rows in one text row: the upper half block ``▀`` is coloured with the
upper pixel (foreground) on the lower pixel (background).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

#: Two pixel rows in one cell: the upper pixel is the foreground, the lower the background.
UPPER_HALF = "▀"
#: Binary half blocks for terminals without colour: (top on, bottom on) -> character.
MONO_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def render_image(pixels: np.ndarray, shape: tuple[int, int], *, color: bool = True) -> Text:
    """Two pixel rows per text row: the upper half block's foreground is the upper pixel,
    its background the lower one (grey levels). Without colour, pixels above half intensity
    are drawn with ▀ ▄ █."""
    height, width = shape
    image = np.asarray(pixels, dtype=np.uint8).reshape(height, width)
    if height % 2:
        image = np.vstack([image, np.zeros((1, width), dtype=np.uint8)])
    text = Text(no_wrap=True, overflow="crop")
    for row in range(0, image.shape[0], 2):
        top, bottom = image[row], image[row + 1]
        if color:
            for a, b in zip(top.tolist(), bottom.tolist(), strict=True):
                text.append(UPPER_HALF, Style(color=Color.from_rgb(a, a, a),
                                              bgcolor=Color.from_rgb(b, b, b)))
        else:
            text.append("".join(MONO_BLOCKS[(bool(a >= 128), bool(b >= 128))]
                                for a, b in zip(top.tolist(), bottom.tolist(), strict=True)))
        if row + 2 < image.shape[0]:
            text.append("\n")
    return text


def downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor×factor blocks (edges padded with zeros): (h, w) → (⌈h/f⌉, ⌈w/f⌉)."""
    if factor == 1:
        return image
    h, w = image.shape
    hh, ww = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.zeros((hh, ww), dtype=image.dtype)
    padded[:h, :w] = image
    return padded.reshape(hh // factor, factor, ww // factor, factor).mean(axis=(1, 3))


#: The style of text without colour (a segment needs one: filters read its colours).
PLAIN = Style()


@lru_cache(maxsize=16384)
def _half_style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


@lru_cache(maxsize=4096)
def _block_style(rgb: tuple[int, int, int]) -> Style:
    return Style(bgcolor=Color.from_rgb(*rgb))


def grey_rgb(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 grey pixels (h·w,) or (h, w) → (h, w, 3) uint8."""
    grey = np.asarray(pixels, dtype=np.uint8).reshape(shape)
    return np.repeat(grey[:, :, None], 3, axis=2)


def half_block_strips(rgb: np.ndarray) -> list[Strip]:
    """(h, w, 3) uint8 → ⌈h/2⌉ strips of w cells (an odd last row gets a black lower half)."""
    h, w, _ = rgb.shape
    if h % 2:
        rgb = np.concatenate([rgb, np.zeros((1, w, 3), dtype=rgb.dtype)])
    strips = []
    for r in range(0, rgb.shape[0], 2):
        top, bottom = rgb[r].tolist(), rgb[r + 1].tolist()
        segments = [Segment(UPPER_HALF, _half_style(tuple(a), tuple(b)))
                    for a, b in zip(top, bottom, strict=True)]
        strips.append(Strip(segments, w))
    return strips


def mono_strips(on: np.ndarray, width: int = 1) -> list[Strip]:
    """Without colour: (h, w) booleans → strips of ▀ ▄ █ (``width`` 1, two rows per strip)
    or of ██ per pixel (``width`` 2, one row per strip)."""
    h, w = on.shape
    if width == 2:
        return [Strip([Segment("".join("██" if v else "  " for v in on[r].tolist()), PLAIN)], 2 * w)
                for r in range(h)]
    if h % 2:
        on = np.vstack([on, np.zeros((1, w), dtype=bool)])
    return [Strip([Segment("".join(MONO_BLOCKS[(bool(a), bool(b))]
                                   for a, b in zip(on[r], on[r + 1], strict=True)), PLAIN)], w)
            for r in range(0, on.shape[0], 2)]


def block_strips(rgb: np.ndarray, width: int = 2) -> list[Strip]:
    """(h, w, 3) uint8 → h strips, each pixel ``width`` cells wide (square-ish pixels)."""
    h, w, _ = rgb.shape
    cell = " " * width
    return [Strip([Segment(cell, _block_style(tuple(p))) for p in rgb[r].tolist()], w * width)
            for r in range(h)]


class PixelImage(Widget):
    """A grey image drawn with half blocks; ``set_pixels`` redraws it without a layout pass."""

    DEFAULT_CSS = """
    PixelImage { width: auto; height: auto; }
    """

    def __init__(self, shape: tuple[int, int], *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.shape: tuple[int, int] = shape
        """(height, width) in pixels."""
        self.pixels: np.ndarray = np.zeros(shape[0] * shape[1], dtype=np.uint8)
        """uint8 (h·w,) grey levels, 255 is white."""
        self._strips: list[Strip] | None = None

    def set_pixels(self, pixels: np.ndarray) -> None:
        self.pixels = np.asarray(pixels, dtype=np.uint8).reshape(-1)
        self._strips = None
        self.refresh()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.shape[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return (self.shape[0] + 1) // 2

    def render_line(self, y: int) -> Strip:
        if self._strips is None:
            if self.app.no_color:
                self._strips = mono_strips(self.pixels.reshape(self.shape) >= 128)
            else:
                self._strips = half_block_strips(grey_rgb(self.pixels, self.shape))
        if 0 <= y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width, self.rich_style)
