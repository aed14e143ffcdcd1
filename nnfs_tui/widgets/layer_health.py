"""Per-layer health: weight histograms of the model now, and over the epochs the gradient
size (root mean square per weight) and the share of dead ReLU units, from the trainer's
:class:`engine.events.LayerStats`.

A layer whose gradients shrink by orders of magnitude towards the input learns slowly
(vanishing gradients); a hidden layer whose dead share climbs is losing units for good.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from engine.events import LayerStats

#: plotext colours for layer 1, 2, ... (repeating).
LAYER_COLORS = ("cyan", "orange", "green", "magenta", "blue", "red")
#: The same colours for Rich (the legend line).
RICH_COLORS = {"orange": "dark_orange"}

Point = tuple[float, float]


class HistogramPlot(PlotextPlot):
    """Counts of one weight matrix's values, over a range symmetric about 0."""

    DEFAULT_CSS = """
    HistogramPlot { width: 1fr; height: 1fr; min-width: 20; min-height: 6; }
    """

    def __init__(self, name: str, counts: np.ndarray, edges: np.ndarray, *, shape: tuple[int, ...],
                 color: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.weight_name: str = name
        """The weight's name: "W1", "W2", ..."""
        self.counts: np.ndarray = np.asarray(counts)
        """(bins,) how many weights fall in each bin."""
        self.edges: np.ndarray = np.asarray(edges)
        """(bins + 1,) bin edges."""
        self.shape = shape
        self.bar_color = color

    def render(self):  # noqa: ANN201 (a Rich renderable)
        plt = self.plt
        plt.clear_data()
        centres = (self.edges[:-1] + self.edges[1:]) / 2
        plt.bar(centres.tolist(), self.counts.tolist(), color=self.bar_color, width=0.8)
        plt.title(f"{self.weight_name} {'×'.join(map(str, self.shape))} weights")
        limit = float(self.edges[-1])
        plt.xticks([-limit, 0.0, limit], [f"{-limit:.2g}", "0", f"{limit:.2g}"])
        top = int(self.counts.max(initial=0))
        plt.yticks([0, top // 2, top], ["0", f"{top // 2:,}", f"{top:,}"])
        return super().render()


class HistoryPlot(PlotextPlot):
    """One curve per layer against epochs (log scale for sizes spanning decades)."""

    DEFAULT_CSS = """
    HistoryPlot { width: 1fr; height: 1fr; min-width: 20; min-height: 6; }
    """

    def __init__(self, title: str, *, log: bool = False, percent: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot_title = title
        self.log_scale = log
        self.percent = percent
        self.series: dict[str, list[Point]] = {}
        """Layer label -> [(epoch, value), ...] in epoch order."""

    def add(self, label: str, epoch: float, value: float | None) -> None:
        if value is None or not math.isfinite(value) or (self.log_scale and value <= 0):
            return
        self.series.setdefault(label, []).append((float(epoch), float(value)))
        self.refresh()

    def clear(self) -> None:
        self.series.clear()
        self.refresh()

    def legend(self) -> Text:
        """One coloured entry per curve (a line above the plots, so none hides a curve)."""
        text = Text()
        for k, label in enumerate(self.series):
            color = LAYER_COLORS[k % len(LAYER_COLORS)]
            text.append(f" ━ {label}", style=RICH_COLORS.get(color, color))
        return text

    def render(self):  # noqa: ANN201 (a Rich renderable)
        plt = self.plt
        plt.clear_data()
        plt.title(self.plot_title)
        plt.xlabel("epoch")
        plt.yscale("log" if self.log_scale else "linear")
        ys: list[float] = []
        for k, points in enumerate(self.series.values()):
            xs = [p[0] for p in points]
            values = [100 * p[1] if self.percent else p[1] for p in points]
            ys.extend(values)
            color = LAYER_COLORS[k % len(LAYER_COLORS)]
            if len(points) > 1:
                plt.plot(xs, values, color=color, marker="braille")
            else:
                plt.scatter(xs, values, color=color, marker="•")
        if self.percent:
            plt.ylim(0, max(5.0, *ys) if ys else 100.0)
        return super().render()


class LayerHealth(Vertical):
    """Histograms of every weight matrix on top; gradient size and dead units below."""

    DEFAULT_CSS = """
    LayerHealth { height: 1fr; }
    LayerHealth > Horizontal { height: 1fr; }
    LayerHealth #layer-legend { height: 1; padding: 0 1; }
    LayerHealth #dead-na { width: 1fr; height: 1fr; content-align: center middle;
                           color: $text-muted; }
    """

    def __init__(self, histograms: dict[str, tuple[np.ndarray, np.ndarray]],
                 shapes: dict[str, tuple[int, ...]], history: Iterable[LayerStats] = (), *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.histograms = histograms
        self.shapes = shapes
        self.history: list[LayerStats] = []
        """Every LayerStats received, in order."""
        self._initial = list(history)

    def compose(self) -> ComposeResult:
        with Horizontal(id="histograms"):
            for k, (name, (counts, edges)) in enumerate(self.histograms.items()):
                yield HistogramPlot(name, counts, edges, shape=self.shapes[name],
                                    color=LAYER_COLORS[k % len(LAYER_COLORS)],
                                    id=f"hist-{name}")
        yield Static("", id="layer-legend", markup=False)
        with Horizontal(id="over-epochs"):
            yield HistoryPlot("gradient RMS per weight (log)", log=True, id="grad-rms")
            yield HistoryPlot("dead units %", percent=True, id="dead-share")
            yield Static("", id="dead-na", markup=False)

    def on_mount(self) -> None:
        self.add(*self._initial)  # draws the note too, with or without a history
        self._initial = []

    @property
    def grad_plot(self) -> HistoryPlot:
        return self.query_one("#grad-rms", HistoryPlot)

    @property
    def dead_plot(self) -> HistoryPlot:
        return self.query_one("#dead-share", HistoryPlot)

    def set_histograms(self, histograms: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """New weights (a fresh snapshot of the model): redraw the histograms."""
        for name, (counts, edges) in histograms.items():
            plots = self.query(f"#hist-{name}")
            if plots:
                plot = plots.first(HistogramPlot)
                plot.counts, plot.edges = np.asarray(counts), np.asarray(edges)
                plot.refresh()
        self.histograms = histograms

    def add(self, *stats: LayerStats) -> None:
        """LayerStats of one or more epochs, in order: a point on each curve per epoch."""
        for epoch in stats:
            self.history.append(epoch)
            for name, value in zip(epoch.layers, epoch.grad_rms, strict=True):
                self.grad_plot.add(name, epoch.epoch, value)
            for k, share in enumerate(epoch.dead_share, start=1):
                self.dead_plot.add(f"hidden {k}", epoch.epoch, share)
        self._update_dead_note()

    def _update_dead_note(self) -> None:
        legend = Text("over the epochs:", style="bold")
        legend.append(" gradient RMS")
        legend.append_text(self.grad_plot.legend())
        if self.dead_plot.series:
            legend.append("  · dead units")
            legend.append_text(self.dead_plot.legend())
        self.query_one("#layer-legend", Static).update(legend)
        note = self.query_one("#dead-na", Static)
        if not self.history:
            self.grad_plot.display = False
            self.dead_plot.display = False
            note.update("No epoch has ended yet: gradient sizes and dead units appear here "
                        "after each epoch.")
            note.display = True
            return
        self.grad_plot.display = True
        cannot_die = all(s is None for s in self.history[-1].dead_share)
        self.dead_plot.display = not cannot_die
        note.display = cannot_die
        if cannot_die:
            note.update("dead units: n/a for sigmoid/tanh\n(they never output exactly 0, "
                        "so they cannot die)")
