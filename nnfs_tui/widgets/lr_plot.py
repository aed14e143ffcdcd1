"""Smoothed loss against learning rate on a log axis, the suggestion marked (textual-plotext)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot

#: Colours (RGB) of the curve and of the suggestion's mark.
CURVE_RGB = (90, 160, 255)
MARK_RGB = (255, 170, 60)
STEEPEST_RGB = (120, 200, 120)


class LRFindPlot(PlotextPlot):
    """The curve of a learning-rate range test: x = log10(lr), y = smoothed loss.

    plotext's log axis draws ticks as powers of ten; here x is log10(lr) on a linear axis
    with ticks labelled as rates, which keeps the mark and the ticks where they belong.
    """

    DEFAULT_CSS = """
    LRFindPlot { width: 1fr; height: 1fr; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lrs: tuple[float, ...] = ()
        """Learning rate of each point (increasing)."""
        self.smoothed: tuple[float, ...] = ()
        """Smoothed loss of each point."""
        self.suggestion: float | None = None
        """The rate marked with a vertical line (None: none)."""
        self.steepest: float | None = None
        """The steepest-descent rate, marked when it differs from the suggestion."""

    def set_curve(self, lrs: Sequence[float], smoothed: Sequence[float],
                  suggestion: float | None, steepest: float | None = None) -> None:
        """Replace the curve and the marks (non-finite points are left out)."""
        pairs = [(lr, s) for lr, s in zip(lrs, smoothed, strict=True)
                 if lr > 0 and math.isfinite(s)]
        self.lrs = tuple(p[0] for p in pairs)
        self.smoothed = tuple(p[1] for p in pairs)
        self.suggestion, self.steepest = suggestion, steepest
        self.refresh()

    def render(self):  # noqa: ANN201 (a Rich renderable)
        plt = self.plt
        plt.clear_data()
        plt.xlabel("learning_rate (log)")
        plt.ylabel("smoothed loss")
        if len(self.lrs) > 1:
            xs = [math.log10(lr) for lr in self.lrs]
            plt.plot(xs, list(self.smoothed), color=CURVE_RGB, marker="braille")
            low, high = min(self.smoothed), max(self.smoothed)
            top = min(high, low + 4 * max(self.smoothed[0] - low, 1e-6))  # the blow-up off
            plt.ylim(max(0.0, low - 0.05 * (top - low)), top + 0.05 * (top - low))
            plt.xlim(xs[0], xs[-1])
            ticks = list(range(math.ceil(xs[0]), math.floor(xs[-1]) + 1))
            plt.xticks(ticks, [f"1e{t}" for t in ticks])
            for rate, rgb in ((self.steepest, STEEPEST_RGB), (self.suggestion, MARK_RGB)):
                if rate is not None and rate > 0:
                    plt.vline(math.log10(rate), color=rgb)
        else:
            plt.xlim(-6, 2)
            plt.ylim(0, 1)
        return super().render()
