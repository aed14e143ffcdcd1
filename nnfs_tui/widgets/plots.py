"""Loss and accuracy curves on an epoch axis, drawn with textual-plotext.

Points are thinned as they accumulate (a long run keeps at most ``MAX_POINTS`` per curve,
evenly spread), and non-finite values never reach plotext. A loss that spans orders of
magnitude (an exploding run) is drawn on a log axis, and tick labels stay short (``6.0e11``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from rich.align import Align
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual_plotext import PlotextPlot

from engine import events as ev
from nnfs_tui.widgets.flow import Flow
from nnfs_tui.widgets.live import LiveView

#: The most points a curve keeps: a plot is rarely more than 200 braille dots wide, and
#: plotext draws a line segment between every two points.
MAX_POINTS = 300
#: Share of the time a plot may spend redrawing while data streams in: plotext redraws the
#: whole canvas (~10 ms at 120x40), and that time is taken from the training thread (GIL).
REDRAW_BUDGET = 0.02
#: Bounds of the seconds between redraws.
REDRAW_INTERVAL = (0.25, 2.0)
#: A loss whose largest value is this many times its smallest is drawn on a log axis.
LOG_SPAN = 100.0
#: The smallest loss a log axis shows (a loss of 0 would be minus infinity).
LOG_FLOOR = 1e-6

Point = tuple[float, float]


def compact_number(value: float, step: float | None = None) -> str:
    """A tick label of at most about 7 characters: ``0.25``, ``12``, ``6.0e11``, ``1e-05``.

    ``step`` (the distance between ticks) sets how many decimals a plain number keeps.
    """
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1e4 or size < 1e-3:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    decimals = 0 if step is None else max(0, -math.floor(math.log10(step) + 1e-9))
    if step is None:
        return f"{value:.4g}"
    return f"{value:.{min(decimals, 4)}f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (steps of 1, 2 or 5 times a power of ten) in [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


class Series:
    """One curve's points, finite only, at most ``limit`` of them, evenly spread.

    Every ``stride``-th point is kept; when the kept points pass the limit, every other one
    is dropped and the stride doubles. The newest point is always shown.
    """

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit
        self._kept: list[Point] = []
        self._newest: Point | None = None
        self._seen = 0
        self._stride = 1

    def add(self, x: float, y: float | None) -> None:
        if y is None or not (math.isfinite(x) and math.isfinite(y)):
            return
        point = (float(x), float(y))
        if self._seen % self._stride == 0:
            self._kept.append(point)
            self._newest = None
            if len(self._kept) > self.limit:
                self._kept = self._kept[::2]
                self._stride *= 2
        else:
            self._newest = point
        self._seen += 1

    def extend(self, points: Iterable[Point]) -> None:
        for x, y in points:
            self.add(x, y)

    def clear(self) -> None:
        self._kept.clear()
        self._newest = None
        self._seen = 0
        self._stride = 1

    @property
    def points(self) -> list[Point]:
        """The kept points, oldest first, and the newest one."""
        return self._kept + ([self._newest] if self._newest is not None else [])

    def __len__(self) -> int:
        return len(self._kept) + (self._newest is not None)

    @property
    def xs(self) -> list[float]:
        return [p[0] for p in self.points]

    @property
    def ys(self) -> list[float]:
        return [p[1] for p in self.points]


class CurvePlot(LiveView, PlotextPlot):
    """A plot of named series against epochs, with vertical markers for live changes.

    Its legend is a line of text above it (see :class:`PlotPanel`), so the whole canvas is
    left to the curves even in a small terminal.
    """

    DEFAULT_CSS = """
    CurvePlot { width: 1fr; height: 1fr; min-height: 5; }
    """

    TITLE = ""
    Y_LABEL = ""
    #: name -> (legend label, colour, marker): the marker tells curves apart without colour
    STYLES: dict[str, tuple[str, str, str]] = {}
    #: plotext colour names as Rich colours, for the legend
    RICH_COLORS = {"cyan": "cyan", "blue": "blue", "orange": "dark_orange", "green": "green",
                   "magenta": "magenta"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.series: dict[str, Series] = {name: Series() for name in self.STYLES}
        """The curves, by name."""
        self.marks: list[float] = []
        """Epoch positions of live hyperparameter changes."""
        self.epochs = 1
        """The x axis runs from 0 to the planned epochs."""
        self.log_axis = False
        """Whether the last drawing put the y axis on a log scale."""
        self._redraw_pending = False
        self._redraw_seconds = 0.005
        monitor = self.plt.monitor
        self._plain_y_axis = (list(monitor.yticks), list(monitor.ylabels), list(monitor.yfrequency))
        """plotext's own y ticks, labels and tick count, to go back to after custom ticks."""

    def changed(self) -> None:
        """New data: redraw soon, as often as REDRAW_BUDGET allows."""
        if not self._redraw_pending:
            self._redraw_pending = True
            low, high = REDRAW_INTERVAL
            delay = min(high, max(low, self._redraw_seconds / REDRAW_BUDGET))
            self.set_timer(delay, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.redraw_soon()

    def redraw(self) -> None:
        self.refresh()
        self._update_legend()

    def reset(self, epochs: int) -> None:
        """Forget all points: a new run of ``epochs`` epochs starts."""
        for series in self.series.values():
            series.clear()
        self.marks.clear()
        self.epochs = max(1, epochs)
        self.refresh()  # at once: the old run's curves must not linger
        self._update_legend()

    def mark(self, x: float) -> None:
        """A vertical marker where a live change took effect."""
        if math.isfinite(x):
            self.marks.append(x)
            self.changed()

    def has_data(self, name: str | None = None) -> bool:
        names = [name] if name else list(self.series)
        return any(len(self.series[n]) for n in names)

    def legend_entries(self) -> list[Text]:
        """The title, one entry per curve in the curve's colour and marker, and the mark of
        live changes once there is one."""
        entries = [Text(self.TITLE)]  # all in bold: see legend() and PlotPanel
        for name, (label, color, marker) in self.STYLES.items():
            if name == "val" and not self.has_data("val") and self.has_data():
                continue  # a run without a validation split
            symbol = "⠤" if marker == "braille" else marker
            entries.append(Text(f"{symbol} {label}", style=self.RICH_COLORS.get(color, color)))
        if self.marks:
            entries.append(Text("│ live change", style="magenta"))
        return entries

    def legend(self) -> Text:
        """The legend on one line, in bold."""
        return Text("  ", style="bold").join(self.legend_entries())

    def _update_legend(self) -> None:
        if isinstance(self.parent, PlotPanel):
            self.parent.update_legend(self.legend_entries())

    def _curves(self) -> Iterable[tuple[str, list[Point]]]:
        for name, series in self.series.items():
            yield name, series.points

    def render(self):  # noqa: ANN201 (a Rich renderable)
        if not self.has_data():
            return Align.center(Text("no points yet: F5 starts a run", style="dim"),
                                vertical="middle")
        started = time.perf_counter()
        plotted = self._plot_curves()
        # turning the plot into screen lines costs about as much again
        self._redraw_seconds = 2 * (time.perf_counter() - started)
        return plotted

    def _plot_curves(self):  # noqa: ANN202
        plt = self.plt
        plt.clear_data()
        plt.xlabel("epoch")
        plt.xlim(0, self.epochs)
        curves = [(name, points) for name, points in self._curves() if points]
        ys_all: list[float] = []
        for name, points in curves:
            ys_all.extend(self._y_for_range(name, points))
        self.log_axis = self._wants_log(ys_all)
        scale = self._scale
        ys_all = [scale(y) for y in ys_all]
        markers = []
        for name, points in curves:
            _, color, marker = self.STYLES[name]
            xs = [p[0] for p in points]
            ys = [scale(p[1]) for p in points]
            if len(points) > 1 or marker == "braille":
                plt.plot(xs, ys, color=color, marker="braille")
            if marker != "braille":  # per-epoch points: marked over all the lines
                markers.append((xs, ys, color, marker))
        for xs, ys, color, marker in markers:
            plt.scatter(xs, ys, color=color, marker=marker)
        drawn = bool(ys_all)
        if drawn:
            if self.log_axis:
                low, high = min(ys_all), max(ys_all)
                pad = (high - low) * 0.05
                low, high = low - pad, high + pad
            else:
                low, high = self._y_range(min(ys_all), max(ys_all))
            plt.ylim(low, high)
            self._set_y_ticks(*self.y_ticks(low, high))
            for x in self.marks:
                plt.vline(x, "magenta")
        else:
            plt.ylim(0, 1)
        plt.ylabel(f"{self.Y_LABEL} (log)" if self.log_axis else self.Y_LABEL)
        return super().render()

    def _set_y_ticks(self, ticks: list[float], labels: list[str]) -> None:
        """These ticks on the y axis, or plotext's own where there are none.

        plotext keeps ticks until they are replaced (``yticks(None)`` cannot undo them: its
        defaults are the very lists it changed), so an earlier drawing's ticks, a log axis's
        say, would stay on every later axis; the plain axis is put back by hand.
        """
        if ticks:
            self.plt.yticks(ticks, labels)
            return
        monitor = self.plt.monitor
        plain_ticks, plain_labels, frequency = self._plain_y_axis
        monitor.yticks, monitor.ylabels = list(plain_ticks), list(plain_labels)
        monitor.yfrequency = list(frequency)

    def _wants_log(self, ys: list[float]) -> bool:
        """A log axis for these values (only the loss plot ever asks for one)."""
        return False

    def _scale(self, y: float) -> float:
        """A value as drawn: log10 of it on a log axis."""
        return math.log10(max(y, LOG_FLOOR)) if self.log_axis else y

    def y_ticks(self, low: float, high: float) -> tuple[list[float], list[str]]:
        """Ticks and compact labels for the drawn range [low, high]; none where plotext's own
        labels are short enough.

        On a log axis the ticks are whole powers of ten (or every second or third one), each
        labelled with the value it stands for.
        """
        rows = max(self.size.height - 3, 2)
        count = max(2, min(5, rows // 3 + 1))
        if self.log_axis:
            first, last = math.ceil(low), math.floor(high)
            if last < first:
                return [], []
            every = max(1, math.ceil((last - first + 1) / count))
            ticks = [float(p) for p in range(first, last + 1, every)]
            return ticks, [compact_number(10.0 ** t) for t in ticks]
        if max(abs(low), abs(high)) < 1e4 and high - low >= 1e-2:
            return [], []  # plotext's labels: short already
        ticks = nice_ticks(low, high, count)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else None
        return ticks, [compact_number(t, step) for t in ticks]

    def _y_for_range(self, name: str, points: list[Point]) -> list[float]:
        """The values the y axis must cover."""
        return [p[1] for p in points]

    def _y_range(self, low: float, high: float) -> tuple[float, float]:
        if high - low < 1e-9:
            pad = max(abs(high) * 0.05, 1e-3)
            return low - pad, high + pad
        pad = (high - low) * 0.05
        return low - pad, high + pad


#: The per-epoch series both plots draw: label, colour and marker.
EPOCH_STYLES: dict[str, tuple[str, str, str]] = {
    "train": ("train", "blue", "•"),
    "val": ("val", "orange", "x"),
    "test": ("test", "green", "+"),
}


class LossPlot(CurvePlot):
    """Smoothed training loss per batch, and train / validation / test loss per epoch."""

    TITLE = "loss"
    Y_LABEL = "cross-entropy"
    STYLES = {"batch": ("smoothed", "cyan", "braille"), **EPOCH_STYLES}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live: tuple[Point, ...] = ()
        """Smoothed loss of the epoch in progress (replaced by each batch report)."""

    def reset(self, epochs: int) -> None:
        self.live = ()
        super().reset(epochs)

    def has_data(self, name: str | None = None) -> bool:
        return super().has_data(name) or (name in (None, "batch") and bool(self.live))

    def set_live(self, points: tuple[Point, ...]) -> None:
        self.live = points
        self.changed()

    def add_epochs(self, events: Iterable[ev.EpochEnded], points: Iterable[Point]) -> None:
        """Ended epochs, in order, and every smoothed batch-loss point of them."""
        self.live = ()
        self.series["batch"].extend(points)
        for event in events:
            self.series["train"].add(event.epoch, event.train_loss)
            self.series["val"].add(event.epoch, event.val_loss)
            self.series["test"].add(event.epoch, event.test_loss)
        self.changed()

    def _y_for_range(self, name: str, points: list[Point]) -> list[float]:
        # the first half epoch's loss is far above the rest: once a whole epoch is in, let
        # it run off the top so the part that matters fills the plot
        if name == "batch" and points and points[-1][0] > 1.0:
            return [y for x, y in points if x >= 0.5]
        return super()._y_for_range(name, points)

    def _y_range(self, low: float, high: float) -> tuple[float, float]:
        low, high = super()._y_range(low, high)
        return max(0.0, low), high

    def _wants_log(self, ys: list[float]) -> bool:
        """A loss spanning ``LOG_SPAN`` or more (an exploding run) goes on a log axis, or the
        part that matters would be a flat line at the bottom."""
        positive = [y for y in ys if y > 0]
        return bool(positive) and max(positive) >= LOG_SPAN * max(min(positive), LOG_FLOOR)

    def _curves(self) -> Iterable[tuple[str, list[Point]]]:
        for name, series in self.series.items():
            if name == "batch":
                live = [(x, y) for x, y in self.live if math.isfinite(x) and math.isfinite(y)]
                yield name, series.points + live
            else:
                yield name, series.points


class AccuracyPlot(CurvePlot):
    """Train / validation / test accuracy per epoch, in percent."""

    TITLE = "accuracy %"
    Y_LABEL = "%"
    STYLES = EPOCH_STYLES

    def add_epochs(self, events: Iterable[ev.EpochEnded]) -> None:
        """Ended epochs, in order."""
        for event in events:
            for name, value in (("train", event.train_acc), ("val", event.val_acc),
                                ("test", event.test_acc)):
                self.series[name].add(event.epoch, None if value is None else 100 * value)
        self.changed()

    def _y_range(self, low: float, high: float) -> tuple[float, float]:
        low, high = super()._y_range(low, high)
        return max(0.0, low), min(100.0, high)


class PlotPanel(Vertical):
    """A plot with its legend above it: one line, or more where the width needs them,
    wrapped between entries (continuation lines indented past the title)."""

    DEFAULT_CSS = """
    PlotPanel { width: 1fr; height: 1fr; }
    PlotPanel > .legend { height: auto; padding: 0 1; }
    """

    def __init__(self, plot: CurvePlot, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot = plot
        """The plot under the legend."""

    def compose(self) -> ComposeResult:
        # Flow re-lays out the panel only when the entries changed
        yield Flow(self.plot.legend_entries(), indent=len(self.plot.TITLE) + 2,
                   style="bold", classes="legend")
        yield self.plot

    def update_legend(self, entries: list[Text]) -> None:
        # none while the app takes the panel down (a late redraw must not raise then)
        for legend in self.query(".legend").results(Flow):
            legend.set_entries(entries)
