"""Draw a digit and watch the current model read it.

The drawing is preprocessed as MNIST was (:func:`engine.preprocess.mnist_like`: cropped to
the ink, scaled into a 20×20 box, centred by mass in 28×28); the screen shows that image
next to the canvas, since it is what the model sees, and the model's ten probabilities,
recomputed after every change (one forward pass of one sample, well under a millisecond).
The model is read live: while a run trains, its answer moves with it.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static

from engine.data import Dataset
from engine.metrics import predict
from engine.network import MLP
from engine.preprocess import SIZE, mnist_like, resize_area
from nnfs_tui.widgets.canvas import DrawingCanvas
from nnfs_tui.widgets.digits import probability_bars
from nnfs_tui.widgets.flow import Flow
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.pixels import PixelImage

#: From this terminal size on, the canvas is drawn at twice the size (a mouse cell = a pixel).
LARGE_SIZE = (112, 34)
#: Seconds between re-reads of a model that may be training, while the drawing stays still.
LIVE_MODEL_INTERVAL = 1.0
#: Test images ``t`` remembers, so undo back to one brings its label back.
TEST_IMAGES_KEPT = 20


def model_input(ink: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """A drawing (h, w) in [0, 1] → the uint8 (features,) input the model was trained on.

    MNIST-like preprocessing gives 28×28; datasets of another image size get it resized."""
    image = mnist_like(ink)
    if tuple(image_shape) != (SIZE, SIZE):
        resized = resize_area(image.reshape(SIZE, SIZE).astype(np.float64), *image_shape)
        image = np.clip(np.round(resized), 0, 255).astype(np.uint8).reshape(-1)
    return image


class DrawScreen(Screen[None]):
    """A canvas, what the model sees, and what it thinks it is."""

    DEFAULT_CSS = """
    DrawScreen { layout: vertical; }
    DrawScreen #draw-main { height: auto; }
    DrawScreen DrawingCanvas { border: round $primary 60%; }
    DrawScreen DrawingCanvas:focus { border: round $accent; }
    DrawScreen #draw-seen { width: auto; height: auto; border: round $primary 60%; }
    DrawScreen #draw-guess { width: 1fr; min-width: 18; height: auto; padding: 0 1;
                             border: round $primary 60%; }
    DrawScreen #draw-keys { height: auto; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("t", "test_digit", "Test digit"),
    ]

    probabilities: reactive[np.ndarray | None] = reactive(None, init=False,
                                                          always_update=True)
    """The model's ten (n_classes) probabilities for the drawing; None when it is empty."""

    def __init__(self, network: MLP | None, dataset: Dataset, *, seed: int = 0) -> None:
        super().__init__()
        self.network: MLP | None = network
        """The model to ask (the live one: it may be training); None before any run."""
        self.dataset: Dataset = dataset
        """Class names and image shape; test images for ``t``."""
        self.seen: np.ndarray = np.zeros(dataset.n_features, dtype=np.uint8)
        """The preprocessed drawing, uint8 (features,), as the model gets it."""
        self._rng = np.random.default_rng(seed)
        self._test_images: list[tuple[int, np.ndarray]] = []
        """(test-set index, ink) of the test images ``t`` put on the canvas, newest last."""
        self.test_image: int | None = None
        """Test-set index of the image on the canvas, while it is unedited (else None)."""

    def compose(self) -> ComposeResult:
        yield ScreenHeader("Draw")
        with Horizontal(id="draw-main"):
            canvas = DrawingCanvas(self.dataset.image_shape, id="canvas")
            yield canvas
            seen = PixelImage(self.dataset.image_shape, id="draw-seen")
            seen.border_title = "model sees"
            yield seen
            guess = Static(id="draw-guess", markup=False)
            guess.border_title = "guess"
            # a headline, a blank line, a bar per class, and the border
            guess.styles.height = self.dataset.n_classes + 4
            yield guess
        yield Flow(self._keys(), id="draw-keys")
        yield FittedFooter()

    @property
    def canvas(self) -> DrawingCanvas:
        return self.query_one(DrawingCanvas)

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        canvas = self.canvas
        canvas.focus()
        for name in ("cursor", "brush", "pen"):
            self.watch(canvas, name, self._titles)
        self._update()
        self.set_interval(LIVE_MODEL_INTERVAL, self._reread_model)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        large = width >= LARGE_SIZE[0] and height >= LARGE_SIZE[1]
        self.canvas.scale = 2 if large else 1
        # the bars fit the guess panel's new width once the layout has run
        self.call_after_refresh(self.watch_probabilities)

    # -- the model ---------------------------------------------------------------------------
    def on_drawing_canvas_changed(self, message: DrawingCanvas.Changed) -> None:
        self._update()

    def _update(self) -> None:
        ink = self.canvas.ink
        # a test image keeps its label on screen until it is edited (undo brings both back)
        self.test_image = next((i for i, test_ink in reversed(self._test_images)
                                if np.array_equal(ink, test_ink)), None)
        self._titles()
        self.seen = model_input(ink, self.dataset.image_shape)
        if self.network is None or not ink.any():
            self.probabilities = None
        else:
            _, probabilities = predict(self.network, self.seen[None, :])
            self.probabilities = probabilities[0]
        self.query_one("#draw-seen", PixelImage).set_pixels(self.seen)

    def set_network(self, network: MLP | None) -> None:
        """Ask another model from now on (a new run started, a checkpoint was loaded)."""
        self.network = network
        self._update()

    def _reread_model(self) -> None:
        if self.network is not None and self.canvas.ink.any():
            self._update()

    @property
    def guess(self) -> int | None:
        """The class the model gives the drawing, or None (empty drawing or no model)."""
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    def watch_probabilities(self) -> None:
        # the panel's size never changes: no layout pass, which would cost more than the model
        self.query_one("#draw-guess", Static).update(self._guess_text(), layout=False)

    def _guess_text(self) -> Text:
        names = self.dataset.class_names
        text = Text(no_wrap=True, overflow="ellipsis")
        probabilities = self.probabilities
        guess = self.guess
        if self.network is None:
            text.append("no model yet: train one\n\n", style="yellow")
        elif guess is None:
            text.append("draw something\n\n", style="dim")
        else:
            text.append(names[guess], style="bold green")
            text.append(f"  {100 * float(probabilities[guess]):.1f}%\n\n")
        width = self.query_one("#draw-guess").content_size.width or 20
        # "name bar 100.0%": long names (Fashion-MNIST's) are shortened to leave a bar
        name_width = min(max(len(n) for n in names), max(3, width - 4 - 7))
        short = tuple(n if len(n) <= name_width else n[:name_width - 1] + "…" for n in names)
        bar_width = max(3, min(16, width - name_width - 8))
        text.append_text(probability_bars(probabilities, short, label=-1 if guess is None
                                          else guess, predicted=None, width=bar_width))
        return text

    # -- actions -----------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss()

    def action_test_digit(self) -> None:
        """t: put a random test image on the canvas (to compare with your own drawing)."""
        data = self.dataset
        if not len(data.x_test):
            return
        i = int(self._rng.integers(len(data.x_test)))
        ink = data.x_test[i].reshape(data.image_shape) / 255.0
        self._test_images.append((i, np.clip(ink, 0.0, 1.0)))
        del self._test_images[:-TEST_IMAGES_KEPT]
        self.canvas.set_ink(ink)

    def test_image_label(self) -> str | None:
        """"test image #123: a 7" while an unedited test image is on the canvas."""
        if self.test_image is None:
            return None
        data, i = self.dataset, self.test_image
        name = data.class_names[int(data.y_test[i])]
        return f"test image #{i + 1}: {'a ' + name if len(name) == 1 else name}"

    def _titles(self, _value: object = None) -> None:
        """The canvas's title says what is on it (a test image, or the pen's state); the
        subtitle where the brush is."""
        canvas = self.canvas
        pen = {"up": "pen up", "draw": "pen down (d lifts)", "erase": "eraser (e lifts)"}
        label = self.test_image_label()
        if label is None:
            canvas.border_title = f"draw · {pen[canvas.pen]}"
        else:
            canvas.border_title = label if canvas.pen == "up" else f"{label} · {pen[canvas.pen]}"
        row, column = canvas.cursor
        canvas.border_subtitle = f"brush {canvas.brush} · row {row}, col {column}"

    def _keys(self) -> list[Text]:
        """One entry per key (a line break never parts a key from what it does)."""
        entries = []
        for key, what in (("arrows", "move"), ("space", "paint"), ("d", "pen down/up"),
                          ("x", "erase"), ("e", "eraser pen"), ("c", "clear"),
                          ("+/-", "brush"), ("u", "undo"), ("t", "test digit"),
                          ("mouse", "drag paints, right-drag erases"), ("Esc", "back")):
            entry = Text(key, style="bold")
            entry.append(f" {what}")
            entries.append(entry)
        return entries
