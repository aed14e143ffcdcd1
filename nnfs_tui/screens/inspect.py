"""Look inside the current model: its test-set confusions, first-layer weights, layer health.

Three tabs (1, 2, 3 switch):

- **confusion**: the 10×10 test-set confusion matrix with per-class accuracy; Enter on a
  cell pages through exactly those test images (the keys go to them: ←/→, Home/End, n/p;
  Esc or Tab back to the matrix), the most confident mistake first.
- **weights**: each hidden unit of the first layer as a small image of its weights.
- **layers**: weight histograms per layer, and per epoch the gradient size of each layer
  and the share of dead ReLU units.

The screen works on a snapshot of the model taken when it opens (``r`` takes a new one), so
a run may go on training meanwhile. The 10,000 test predictions are computed in a thread
worker; the screen is usable before they arrive.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from engine.data import Dataset
from engine.events import LayerStats
from engine.inspect import first_layer_images, weight_histograms
from engine.metrics import confusion_matrix, predict
from engine.network import MLP
from nnfs_tui.widgets.confusion import ConfusionMatrix
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.layer_health import LayerHealth
from nnfs_tui.widgets.mistakes import CellStrip, MistakeViewer
from nnfs_tui.widgets.weights import WeightGrid, diverging_color

#: Below this width the matrix and the digits of a cell take turns (Enter / Esc).
SIDE_BY_SIDE_WIDTH = 116
TABS = ("confusion", "weights", "layers")
#: Over the thumbnails of the selected cell.
STRIP_TITLE = ("this cell's images, starting with the one shown above · %: the model's "
               "confidence in its guess")


def snapshot(network: MLP) -> MLP:
    """A copy of the network's parameters, so training can go on while we look."""
    frozen = copy.copy(network)
    frozen.params = network.copy_params()
    return frozen


class InspectScreen(Screen[None]):
    """The current model, looked at from three sides; Esc closes."""

    DEFAULT_CSS = """
    InspectScreen { layout: vertical; }
    InspectScreen TabbedContent { height: 1fr; }
    InspectScreen TabPane { height: 1fr; padding: 0; }
    InspectScreen #confusion-row { height: auto; }
    InspectScreen CellStrip { border-top: solid $primary 40%; }
    InspectScreen.-compact CellStrip { display: none; }
    InspectScreen #matrix-box { width: auto; height: auto; max-height: 100%;
                                border: round $primary 60%; padding: 0 1; }
    InspectScreen #matrix-box:focus-within { border: round $accent; }
    InspectScreen #matrix-info { width: auto; max-width: 70; height: auto; color: $text-muted; }
    InspectScreen MistakeViewer { width: 1fr; height: auto; border: round $primary 60%;
                                  padding: 0 1; }
    InspectScreen MistakeViewer:focus { border: round $accent; }
    InspectScreen.-compact MistakeViewer { display: none; }
    InspectScreen.-compact.-cell-shown MistakeViewer { display: block; }
    InspectScreen.-compact.-cell-shown #matrix-box { display: none; }
    InspectScreen WeightGrid { border: round $primary 60%; }
    InspectScreen WeightGrid:focus { border: round $accent; }
    InspectScreen #weights-legend { height: 1; padding: 0 1; }
    InspectScreen #no-model { width: 1fr; height: 1fr; content-align: center middle;
                              color: $warning; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("1", "tab('confusion')", "Confusion"),
        Binding("2", "tab('weights')", "Weights"),
        Binding("3", "tab('layers')", "Layers"),
        Binding("n", "step(1)", "Next"),
        Binding("p", "step(-1)", "Prev"),
        Binding("r", "refresh_model", "Refresh"),
    ]

    compact: reactive[bool] = reactive(False)
    """True below SIDE_BY_SIDE_WIDTH: the matrix and a cell's digits take turns."""

    class PredictionsComputed(Message):
        """The worker's answer: the snapshot's guesses for the whole test set."""

        def __init__(self, network: MLP, predicted: np.ndarray, probabilities: np.ndarray,
                     counts: np.ndarray) -> None:
            super().__init__()
            self.network: MLP = network
            """The snapshot that made the guesses (a newer one may have replaced it since)."""
            self.predicted: np.ndarray = predicted
            """Predicted class per test image, (n_test,)."""
            self.probabilities: np.ndarray = probabilities
            """(n_test, n_classes) class probabilities."""
            self.counts: np.ndarray = counts
            """(n_classes, n_classes) confusion matrix, row = true, column = predicted."""

    def __init__(self, network: MLP | None, dataset: Dataset,
                 layer_history: Iterable[LayerStats] = ()) -> None:
        super().__init__()
        self.live_network: MLP | None = network
        """The app's model, possibly still training; ``r`` snapshots it again."""
        self.network: MLP | None = snapshot(network) if network is not None else None
        """The snapshot everything on this screen shows."""
        self.dataset: Dataset = dataset
        """Test images, labels and class names."""
        self.layer_history: list[LayerStats] = list(layer_history)
        """Per-epoch layer statistics of the run so far."""
        self.predicted: np.ndarray | None = None
        """The snapshot's predicted class per test image, once the worker is done."""
        self.probabilities: np.ndarray | None = None
        """(n_test, n_classes) probabilities, once the worker is done."""
        self.counts: np.ndarray | None = None
        """The test-set confusion matrix, once the worker is done."""

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ScreenHeader("Inspect")
        if self.network is None:
            yield Static("No model yet: start a run (F5), then look inside it here.\n\nEsc "
                         "goes back.", id="no-model", markup=False)
            yield FittedFooter()
            return
        net, data = self.network, self.dataset
        with TabbedContent(initial="confusion"):
            with TabPane("1 confusion", id="confusion"):
                with Horizontal(id="confusion-row"):
                    with Vertical(id="matrix-box") as box:
                        box.border_title = "test set: true ↓ · predicted →"
                        yield ConfusionMatrix(data.class_names, id="matrix")
                        yield Static("", id="matrix-info", markup=False)
                    viewer = MistakeViewer(data, id="cell-digits")
                    yield viewer
                strip = CellStrip(viewer, id="cell-strip")
                strip.border_title = STRIP_TITLE
                yield strip
            with TabPane("2 weights", id="weights"), Vertical():
                grid = WeightGrid(self._first_layer_images(), id="weight-grid")
                grid.border_title = "first layer: what each hidden unit looks for"
                yield grid
                yield Static(self._weights_legend(), id="weights-legend", markup=False)
            with TabPane("3 layers", id="layers"):
                shapes = {k: v.shape for k, v in net.params.items() if k.startswith("W")}
                yield LayerHealth(weight_histograms(net.params), shapes, self.layer_history,
                                  id="layer-health")
        yield FittedFooter()

    def _first_layer_images(self) -> np.ndarray:
        assert self.network is not None
        w1 = self.network.params["W1"]
        if w1.shape[0] != self.dataset.n_features:
            return np.zeros((0, *self.dataset.image_shape))
        return first_layer_images(w1, self.dataset.image_shape)

    def _weights_legend(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("██", style=Style(color=diverging_color(1.0)))
        text.append(" bright pixel excites the unit  ")
        text.append("██", style=Style(color=diverging_color(-1.0)))
        text.append(" inhibits it  ")
        text.append("(each unit scaled to its largest |w|)", style="dim")
        return text

    def on_mount(self) -> None:
        self._fit(self.app.size.width)
        if self.network is not None:
            matrix = self.query_one(ConfusionMatrix)
            matrix.focus()
            self.watch(matrix, "cursor", self._update_info, init=False)
            self.watch(matrix, "cursor", self._follow_cursor, init=False)
            self._predict(self.network)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.compact = width < SIDE_BY_SIDE_WIDTH

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")

    # -- predictions -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="inspect", name="inspect")
    def _predict(self, network: MLP) -> None:
        """10,000 forward passes off the UI thread (tens of milliseconds)."""
        data = self.dataset
        predicted, probabilities = predict(network, data.x_test)
        counts = confusion_matrix(data.y_test, predicted, data.n_classes)
        self.post_message(self.PredictionsComputed(network, predicted, probabilities, counts))

    def on_inspect_screen_predictions_computed(self, message: PredictionsComputed) -> None:
        if message.network is not self.network:
            return  # from a snapshot that `r` has replaced
        self.predicted, self.probabilities = message.predicted, message.probabilities
        self.counts = message.counts
        matrix = self.query_one(ConfusionMatrix)
        matrix.set_counts(message.counts)
        viewer = self.query_one(MistakeViewer)
        # from the start, the images of the cell under the matrix cursor (a narrow screen
        # shows them after Enter, as the matrix's info line says)
        cell = viewer.cell if viewer.cell is not None else (
            None if self.compact else matrix.cursor)
        if cell is not None:
            viewer.show_cell(*cell, message.predicted, message.probabilities)
            self.query_one(CellStrip).refresh()
        self._update_info()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "inspect" and event.state == WorkerState.ERROR:
            matrix = self.query_one(ConfusionMatrix)
            matrix.status = f"could not compute the predictions: {event.worker.error!r}"
            matrix.refresh(layout=True)

    # -- the confusion tab -------------------------------------------------------------------
    def on_confusion_matrix_cell_selected(self, message: ConfusionMatrix.CellSelected) -> None:
        if self.predicted is None or self.probabilities is None:
            return
        viewer = self.query_one(MistakeViewer)
        viewer.show_cell(message.true_class, message.predicted_class, self.predicted,
                         self.probabilities)
        self.query_one(CellStrip).refresh()
        if self.compact:
            self.add_class("-cell-shown")
        if self.compact or len(viewer.indices):
            # the images take the arrows, Home and End; Esc or Tab hands them back
            viewer.focus()

    def _follow_cursor(self, cursor: tuple[int, int]) -> None:
        """Side by side, the images follow the matrix cursor (Enter then hands them the
        keys); on a narrow screen they show only after Enter."""
        if self.compact or self.predicted is None or self.probabilities is None:
            return
        self.query_one(MistakeViewer).show_cell(*cursor, self.predicted, self.probabilities)
        self.query_one(CellStrip).refresh()

    @on(MistakeViewer.Back)
    def _back_to_matrix(self) -> None:
        """Esc, Tab or Backspace on the digits: back to the matrix (Esc there closes the
        screen)."""
        self.remove_class("-cell-shown")
        self.query_one(ConfusionMatrix).focus()

    def _update_info(self, _cursor: object = None) -> None:
        if self.counts is None:
            return
        matrix = self.query_one(ConfusionMatrix)
        names = self.dataset.class_names
        true_class, predicted_class = matrix.cursor
        count = matrix.cell_count(true_class, predicted_class)
        total = int(self.counts.sum())
        correct = int(np.trace(self.counts))
        text = Text()
        text.append(f"accuracy {100 * correct / max(total, 1):.2f}%", style="bold")
        text.append(f" on {total:,} test images · {total - correct:,} wrong\n")
        if true_class == predicted_class:
            text.append(f"{names[true_class]} right: {count:,}")
        else:
            text.append(f"{names[true_class]} taken for {names[predicted_class]}: ")
            text.append(f"{count:,}", style="bold")
        text.append("\nEnter: page through them (Esc back here) · w: the worst cell",
                    style="dim")
        self.query_one("#matrix-info", Static).update(text)

    # -- actions -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without a model only Esc does anything, so the footer shows only Esc."""
        return self.network is not None or action == "close"

    def action_close(self) -> None:
        self.dismiss()

    def action_tab(self, tab: str) -> None:
        if self.network is None:
            return
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _focus_tab(self, event: TabbedContent.TabActivated) -> None:
        target = {"confusion": ConfusionMatrix, "weights": WeightGrid}.get(event.pane.id or "")
        if target is not None:
            self.query_one(target).focus()

    def action_step(self, direction: int) -> None:
        """n / p: the next image of the selected cell, or the next page of weights."""
        if self.network is None:
            return
        active = self.query_one(TabbedContent).active
        if active == "confusion":
            self.query_one(MistakeViewer).action_step(direction)
        elif active == "weights":
            self.query_one(WeightGrid).action_page(direction)

    def action_refresh_model(self) -> None:
        """r: look at the model as it is now (it may have trained on)."""
        if self.live_network is None:
            return
        self.network = net = snapshot(self.live_network)
        self.query_one(WeightGrid).set_images(self._first_layer_images())
        self.query_one(LayerHealth).set_histograms(weight_histograms(net.params))
        self.query_one(ConfusionMatrix).status = "computing the test-set predictions…"
        self._predict(net)
        self.notify("Looking at the model as it is now.", timeout=2)

    # -- from the app ------------------------------------------------------------------------
    def add_layer_stats(self, *stats: LayerStats) -> None:
        """The run finished one or more epochs: extend the layer-health curves (the app calls
        this while the screen is open)."""
        self.layer_history.extend(stats)
        if self.network is not None:
            self.query_one(LayerHealth).add(*stats)
