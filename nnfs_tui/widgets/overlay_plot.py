"""Curves of several recorded runs on one epoch axis, for comparing runs.

Each run keeps one style (colour and marker) while it is selected; the marker tells runs apart
where colour cannot (``NO_COLOR``, a monochrome terminal). Non-finite values never reach
plotext.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual_plotext import PlotextPlot

Point = tuple[float, float]
"""(epoch, value)."""


@dataclass(frozen=True)
class RunStyle:
    """How one run is drawn: a colour (RGB, the same in plotext and Rich) and a marker."""

    rgb: tuple[int, int, int]
    """Red, green, blue, 0-255."""
    marker: str
    """One character put on every epoch's point."""

    @property
    def rich_color(self) -> str:
        return "rgb({},{},{})".format(*self.rgb)

    def mark(self, text: str = "") -> Text:
        """The marker (and ``text``) in the run's colour."""
        return Text(f"{self.marker} {text}".rstrip(), style=self.rich_color)


#: One style per selected run, in order of selection: distinct colours (Okabe and Ito's
#: palette, told apart by most colour-blind eyes) AND distinct markers (for NO_COLOR).
RUN_STYLES: tuple[RunStyle, ...] = (
    RunStyle((86, 180, 233), "•"),   # sky blue
    RunStyle((230, 159, 0), "x"),    # orange
    RunStyle((0, 158, 115), "+"),    # bluish green
    RunStyle((204, 121, 167), "o"),  # reddish purple
    RunStyle((240, 228, 66), "*"),   # yellow
    RunStyle((0, 114, 178), "#"),    # blue
    RunStyle((213, 94, 0), "@"),     # vermillion
    RunStyle((153, 153, 153), "%"),  # grey
)

#: Markers per curve at most: a long run gets one every few epochs, so lines stay readable.
MAX_MARKERS = 30


@dataclass(frozen=True)
class Curve:
    """One run's values of one metric, per epoch."""

    label: str
    """The run's name, as the legend shows it."""
    style: RunStyle
    """Colour and marker."""
    points: tuple[Point, ...]
    """Finite (epoch, value) pairs, epoch ascending."""


def finite_points(points: Iterable[tuple[float | None, float | None]]) -> tuple[Point, ...]:
    """The pairs whose x and y are both finite numbers, as floats."""
    out = []
    for x, y in points:
        if x is None or y is None:
            continue
        x, y = float(x), float(y)
        if math.isfinite(x) and math.isfinite(y):
            out.append((x, y))
    return tuple(out)


def legend(curves: Sequence[Curve]) -> Text:
    """One entry per curve: its marker and label in its colour."""
    text = Text()
    for i, curve in enumerate(curves):
        if i:
            text.append("  ")
        text.append_text(curve.style.mark(curve.label))
        if not curve.points:
            text.append(" (no data)", style="dim")
    return text


class OverlayPlot(PlotextPlot):
    """Several runs' curves of one metric (e.g. test loss) against epochs."""

    DEFAULT_CSS = """
    OverlayPlot { width: 1fr; height: 1fr; min-height: 6; }
    """

    def __init__(self, y_label: str, *, percent: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.y_label: str = y_label
        """What the y axis shows, e.g. "test loss"."""
        self.percent: bool = percent
        """Values are percentages: the y axis stays within 0..100."""
        self.curves: tuple[Curve, ...] = ()
        """What is drawn, in legend order."""

    def set_curves(self, curves: Iterable[Curve], y_label: str | None = None) -> None:
        """Replace what is drawn."""
        self.curves = tuple(Curve(c.label, c.style, finite_points(c.points)) for c in curves)
        if y_label is not None:
            self.y_label = y_label
        self.refresh()

    @property
    def labels(self) -> list[str]:
        """Labels of the curves that have at least one point."""
        return [c.label for c in self.curves if c.points]

    def render(self):  # noqa: ANN201 (a Rich renderable)
        plt = self.plt
        plt.clear_data()
        plt.xlabel("epoch")
        plt.ylabel(self.y_label)
        xs_all = [x for c in self.curves for x, _ in c.points]
        ys_all = [y for c in self.curves for _, y in c.points]
        for curve in self.curves:
            if len(curve.points) > 1:
                plt.plot([p[0] for p in curve.points], [p[1] for p in curve.points],
                         color=curve.style.rgb, marker="braille")
        for curve in self.curves:  # markers over every line, so none hides another's
            points = curve.points[::max(1, math.ceil(len(curve.points) / MAX_MARKERS))]
            if curve.points and curve.points[-1] not in points:
                points += (curve.points[-1],)
            if points:
                plt.scatter([p[0] for p in points], [p[1] for p in points],
                            color=curve.style.rgb, marker=curve.style.marker)
        if xs_all:
            first, last = min(xs_all), max(xs_all)
            pad = max(0.25, (last - first) * 0.03)  # markers clear of the axes
            plt.xlim(first - pad, last + pad)
            plt.xticks(_epoch_ticks(first, last))
            plt.ylim(*self._y_range(min(ys_all), max(ys_all)))
        else:
            plt.xlim(0, 1)
            plt.ylim(0, 100 if self.percent else 1)
        return super().render()

    def _y_range(self, low: float, high: float) -> tuple[float, float]:
        pad = (high - low) * 0.05 if high - low > 1e-9 else max(abs(high) * 0.05, 1e-3)
        low, high = low - pad, high + pad
        # losses and accuracies are never negative; accuracies never pass 100%
        return max(0.0, low), min(100.0, high) if self.percent else high


def _epoch_ticks(first: float, last: float, most: int = 8) -> list[float]:
    """Whole epochs from first to last, at most ``most`` of them, evenly stepped."""
    low, high = math.ceil(first), math.floor(last)
    step = max(1, math.ceil((high - low + 1) / most))
    return [float(e) for e in range(low, high + 1, step)]
