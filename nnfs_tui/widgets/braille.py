"""A braille canvas: 2x4 dots per cell, one style per cell, characters drawn over the dots;
and the score colour ramp the Runs screen's plots share.

Each cell holds up to eight dots (Unicode braille, U+2800..U+28FF). A cell's style is the
style of the last dot drawn in it, so what is drawn last stays on top.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text

#: Bit of each dot (dx, dy) in a braille cell (dx 0..1 left to right, dy 0..3 top down).
DOT_BITS = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08, (1, 1): 0x10,
            (1, 2): 0x20, (0, 3): 0x40, (1, 3): 0x80}

#: Low to high score: blue, teal, green, yellow (viridis without its darkest end, so every
#: step stands out on a dark background and stays distinct in 256 colours).
SCORE_RAMP: tuple[tuple[int, int, int], ...] = (
    (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
#: Runs without a score, or left out by a brush.
MUTED_RGB = (88, 88, 88)


def ramp_rgb(t: float) -> tuple[int, int, int]:
    """The ramp's colour at ``t`` in [0, 1] (0: the lowest score), linearly between stops."""
    t = min(1.0, max(0.0, t)) * (len(SCORE_RAMP) - 1)
    i = min(int(t), len(SCORE_RAMP) - 2)
    f = t - i
    a, b = SCORE_RAMP[i], SCORE_RAMP[i + 1]
    return tuple(round(a[k] + (b[k] - a[k]) * f) for k in range(3))  # type: ignore[return-value]


def ramp_style(t: float | None, *, bold: bool = False) -> Style:
    """A Rich style in the ramp's colour (grey for None)."""
    rgb = MUTED_RGB if t is None else ramp_rgb(t)
    return Style(color="rgb({},{},{})".format(*rgb), bold=bold)


def ramp_pieces(low: str, high: str, steps: int = 8) -> list[tuple[str, Style | None]]:
    """``low ████████ high`` in the ramp's colours, as (characters, style) pieces: the
    plots' colour key."""
    return [(f"{low} ", None),
            *(("█", ramp_style(i / (steps - 1))) for i in range(steps)),
            (f" {high}", None)]


def ramp_key(low: str, high: str, steps: int = 8) -> Text:
    """The colour key as a Text."""
    return Text.assemble(*((chars, style or "") for chars, style in
                           ramp_pieces(low, high, steps)))


class BrailleCanvas:
    """``width`` x ``height`` cells of braille dots (``2 * width`` x ``4 * height`` dots,
    (0, 0) top left), with characters drawn over them."""

    def __init__(self, width: int, height: int) -> None:
        self.width = max(0, width)
        self.height = max(0, height)
        self._bits = [[0] * self.width for _ in range(self.height)]
        self._styles: list[list[Style | None]] = [[None] * self.width
                                                  for _ in range(self.height)]
        self._chars: dict[tuple[int, int], tuple[str, Style | None]] = {}

    def copy(self) -> BrailleCanvas:
        """A canvas with the same dots and characters, to draw more on."""
        out = BrailleCanvas(0, 0)
        out.width, out.height = self.width, self.height
        out._bits = [row[:] for row in self._bits]
        out._styles = [row[:] for row in self._styles]
        out._chars = dict(self._chars)
        return out

    def dot(self, x: int, y: int, style: Style | None = None) -> None:
        """Set the dot at (x, y) in dots; outside the canvas does nothing."""
        col, row = x >> 1, y >> 2
        if 0 <= col < self.width and 0 <= row < self.height and x >= 0 and y >= 0:
            self._bits[row][col] |= DOT_BITS[(x & 1, y & 3)]
            self._styles[row][col] = style

    def line(self, x0: int, y0: int, x1: int, y1: int, style: Style | None = None) -> None:
        """A straight line of dots from (x0, y0) to (x1, y1), both ends included."""
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps),
                     style)

    def char(self, col: int, row: int, text: str, style: Style | str | None = None) -> None:
        """Write ``text`` from cell (col, row) rightwards, over the dots (clipped)."""
        for i, ch in enumerate(text):
            if 0 <= col + i < self.width and 0 <= row < self.height:
                self._chars[(row, col + i)] = (ch, Style.parse(style) if isinstance(style, str)
                                               else style)

    def pieces(self, col: int, row: int,
               pieces: Iterable[tuple[str, Style | str | None]]) -> int:
        """Write (characters, style) pieces one after another from (col, row); returns the
        column after the last."""
        for chars, style in pieces:
            self.char(col, row, chars, style)
            col += len(chars)
        return col

    def rows(self) -> list[Text]:
        """One Text per row of cells."""
        out = []
        for row in range(self.height):
            parts: list[tuple[str, Style | None]] = []
            for col in range(self.width):
                over = self._chars.get((row, col))
                if over is not None:
                    ch, style = over
                elif self._bits[row][col]:
                    ch, style = chr(0x2800 + self._bits[row][col]), self._styles[row][col]
                else:
                    ch, style = " ", None
                if parts and parts[-1][1] == style:
                    parts[-1] = (parts[-1][0] + ch, style)
                else:
                    parts.append((ch, style))
            text = Text(no_wrap=True, overflow="crop")
            for chars, style in parts:
                text.append(chars, style)
            out.append(text)
        return out
