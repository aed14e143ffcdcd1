"""The Draw screen by keys and mouse: strokes reach the canvas, the preprocessed image and the
model's probabilities; a drawn 1 reads as 1. On a small model trained once per session."""

from __future__ import annotations

import numpy as np
import pytest
from textual.pilot import Pilot

from engine.metrics import predict
from engine.preprocess import mnist_like
from nnfs_tui.screens.draw import DrawScreen, model_input
from nnfs_tui.widgets.canvas import DrawingCanvas, brush_weights
from tests.tui.helpers import wait_for
from tests.tui.models import ScreenHost, TrainedModel, trained_model


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    return trained_model()


def draw_app(model: TrainedModel, network: object = "trained") -> ScreenHost:
    net = model.network if network == "trained" else network
    return ScreenHost(lambda: DrawScreen(net, model.dataset))


async def opened(pilot: Pilot) -> tuple[DrawScreen, DrawingCanvas]:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "the Draw screen")
    await pilot.pause()
    return app.screen, app.screen.canvas


def moves(rows: int, columns: int) -> list[str]:
    """Keys that move the brush by (rows, columns): Shift+arrow for 4 pixels, arrows for 1."""
    keys = []
    for count, plus, minus in ((rows, "down", "up"), (columns, "right", "left")):
        key = plus if count > 0 else minus
        keys += [f"shift+{key}"] * (abs(count) // 4) + [key] * (abs(count) % 4)
    return keys


async def stroke(pilot: Pilot, start: tuple[int, int], path: list[tuple[int, int]]) -> None:
    """Move the brush to ``start`` with the pen up, then draw through the ``path`` points."""
    canvas = pilot.app.screen.canvas
    row, column = canvas.cursor
    await pilot.press(*moves(start[0] - row, start[1] - column))
    assert canvas.cursor == start
    await pilot.press("d")
    for point in path:
        row, column = canvas.cursor
        await pilot.press(*moves(point[0] - row, point[1] - column))
        assert canvas.cursor == point
    await pilot.press("d")
    await pilot.pause()


#: A seven: a bar along the top, then a slanted stroke down.
SEVEN = ((5, 7), [(5, 21), (7, 19), (9, 17), (11, 15), (19, 15)])


async def test_keys_paint_and_the_probabilities_follow(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        assert not canvas.ink.any() and screen.probabilities is None
        assert "draw something" in str(screen.query_one("#draw-guess").render())
        await pilot.press("space")
        await pilot.pause()
        row, column = canvas.cursor
        assert canvas.ink[row, column] == 1.0
        first = screen.probabilities.copy()
        assert first.sum() == pytest.approx(1.0, abs=1e-5)
        await pilot.press("down", "down")  # pen up: moving leaves no trace
        assert canvas.ink[row + 2, column] == 0.0
        await pilot.press("d", "right", "right", "right", "d", "right")
        await pilot.pause()
        assert canvas.ink[row + 2, column:column + 4].min() == 1.0
        assert canvas.ink[row + 2, column + 5] < 1.0  # lifted before the last move
        # what the model sees is the preprocessed drawing, and it answered for that
        np.testing.assert_array_equal(screen.seen, mnist_like(canvas.ink))
        _, expected = predict(model.network, screen.seen[None, :])
        np.testing.assert_allclose(screen.probabilities, expected[0])
        assert not np.allclose(screen.probabilities, first)
        await pilot.press("plus", "plus")
        assert canvas.brush == 5
        await pilot.press("minus", "minus", "minus", "minus", "minus")
        assert canvas.brush == 1
        await pilot.press("x")  # erase under the brush
        assert canvas.ink[canvas.cursor] == 0.0


@pytest.mark.parametrize("column", [6, 14, 21])
async def test_a_vertical_stroke_reads_as_one(model, column) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await stroke(pilot, (4, column), [(24, column)])
        assert screen.guess == 1
        assert screen.probabilities[1] > 0.5
        assert str(screen.query_one("#draw-guess").render()).startswith("1 ")


async def test_a_drawn_seven_reads_as_seven(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await stroke(pilot, *SEVEN)
        assert screen.guess == 7


async def test_where_you_draw_does_not_matter_to_the_model(model) -> None:
    """Preprocessing centres the ink, so the same stroke anywhere gives the same input."""
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await stroke(pilot, (2, 3), [(14, 3), (14, 9)])
        left = screen.seen.copy()
        await pilot.press("c")
        await stroke(pilot, (12, 16), [(24, 16), (24, 22)])
        np.testing.assert_array_equal(screen.seen, left)


async def test_clear_resets_and_undo_brings_the_drawing_back(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await stroke(pilot, (4, 14), [(24, 14)])
        drawn = canvas.ink.copy()
        await pilot.press("c")
        await pilot.pause()
        assert not canvas.ink.any() and not screen.seen.any()
        assert screen.probabilities is None and screen.guess is None
        await pilot.press("u")
        await pilot.pause()
        np.testing.assert_array_equal(canvas.ink, drawn)
        assert screen.guess == 1


async def test_mouse_drag_paints_and_right_drag_erases(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        assert canvas.scale == 1  # half blocks: a text row is two pixel rows
        # offsets are relative to the canvas's border; content starts at (1, 1)
        await pilot.mouse_down(canvas, offset=(6, 3))
        await pilot.hover(canvas, offset=(6, 8))
        await pilot.hover(canvas, offset=(16, 8))
        await pilot.mouse_up(canvas, offset=(16, 8))
        await pilot.pause()
        # cell (x, y) of the content covers pixel rows 2y, 2y+1 of column x
        assert canvas.ink[4:16, 5].min() > 0.9  # down from row 2·2 to 2·7+1, no gaps
        assert canvas.ink[14, 5:16].min() > 0.9  # then right along row 14
        assert canvas.ink[:, 25].max() == 0.0
        assert screen.guess is not None
        await pilot.hover(canvas, offset=(20, 3))  # the button is up: no paint
        assert canvas.ink[4, 19] == 0.0
        await pilot.mouse_down(canvas, offset=(6, 5), button=3)
        await pilot.hover(canvas, offset=(6, 6))
        await pilot.mouse_up(canvas, offset=(6, 6))
        assert canvas.ink[8:12, 5].max() == 0.0
        assert canvas.ink[14, 10] > 0.9


async def test_large_terminal_doubles_the_canvas_and_resizing_keeps_it_usable(model) -> None:
    async with draw_app(model).run_test(size=(120, 40)) as pilot:
        screen, canvas = await opened(pilot)
        assert canvas.scale == 2 and canvas.content_size == (56, 28)
        await pilot.click(canvas, offset=(1 + 2 * 10, 1 + 12))  # pixel (12, 10)
        assert canvas.ink[12, 10] == 1.0
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert canvas.scale == 1 and canvas.content_size == (28, 14)
        await pilot.press("space", "down", "space")
        await pilot.resize_terminal(60, 20)  # smaller than supported: must not raise
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert canvas.scale == 2
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, DrawScreen)


async def test_eraser_pen_and_a_test_digit(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await pilot.press("t")
        await pilot.pause()
        assert canvas.ink.any() and screen.guess is not None
        shown = canvas.ink.reshape(-1)
        assert any(np.allclose(shown, x / 255.0) for x in model.dataset.x_test)
        before = canvas.ink.copy()
        row, column = canvas.cursor
        await pilot.press("e", "right", "right", "e")
        assert canvas.pen == "up"
        assert canvas.ink[row, column:column + 3].max() == 0.0
        await pilot.press("u")
        np.testing.assert_array_equal(canvas.ink, before)


async def test_without_a_model_drawing_still_works(model) -> None:
    async with draw_app(model, network=None).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await pilot.press("space")
        await pilot.pause()
        assert canvas.ink.any() and screen.seen.any()
        assert screen.probabilities is None
        assert "no model yet" in str(screen.query_one("#draw-guess").render())
        screen.set_network(model.network)  # a run has started
        await pilot.pause()
        assert screen.guess is not None
        assert "no model yet" not in str(screen.query_one("#draw-guess").render())


def test_brush_is_a_soft_disc_of_the_given_diameter() -> None:
    rows, cols, w = brush_weights((28, 28), 10.5, 10.5, 1)
    assert w.sum() == pytest.approx(1.0) and w.max() == 1.0
    rows, cols, w = brush_weights((28, 28), 10.5, 10.5, 3)
    full = w == 1.0
    assert full.sum() == 5  # the centre and its four neighbours
    assert ((w > 0) & (w < 1)).sum() == 4  # soft diagonal corners
    rows, cols, w = brush_weights((28, 28), 0.5, 0.5, 5)  # cropped at the corner
    assert w.shape == (rows.stop - rows.start, cols.stop - cols.start)
    assert rows.start == 0 and cols.start == 0


def test_model_input_fits_other_image_sizes() -> None:
    drawing = np.zeros((28, 28))
    drawing[4:24, 12:15] = 1.0
    assert model_input(drawing, (28, 28)).shape == (784,)
    small = model_input(drawing, (14, 14))
    assert small.shape == (196,) and small.dtype == np.uint8 and small.any()


def test_snapshot_of_a_drawn_seven(snap_compare, model) -> None:  # noqa: ANN001
    async def draw_seven(pilot: Pilot) -> None:
        await opened(pilot)
        await stroke(pilot, *SEVEN)

    assert snap_compare(draw_app(model), terminal_size=(120, 40), run_before=draw_seven)


async def test_a_test_image_keeps_its_label_on_screen_until_the_drawing_changes(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        screen, canvas = await opened(pilot)
        await pilot.press("t")
        await pilot.pause()
        shown = canvas.ink.reshape(-1)
        i = next(k for k, x in enumerate(model.dataset.x_test) if np.allclose(shown, x / 255.0))
        label = model.dataset.class_names[int(model.dataset.y_test[i])]
        pilot.app.clear_notifications()
        await pilot.pause(0.1)
        assert f"test image #{i + 1}: a {label}" in str(canvas.border_title)
        await pilot.press("left", "right")  # the pen is up: nothing changes
        await pilot.pause()
        assert f"test image #{i + 1}" in str(canvas.border_title)
        await pilot.press(*["shift+up", "shift+left"] * 4, "space")  # a dab in the corner:
        assert canvas.cursor == (0, 0)  # edited, it is no longer that test image
        await pilot.pause()
        assert "test image" not in str(canvas.border_title)
        await pilot.press("u")  # undo brings the test image back, and its label
        await pilot.pause()
        assert f"test image #{i + 1}: a {label}" in str(canvas.border_title)
        await pilot.press("c")
        await pilot.pause()
        assert "test image" not in str(canvas.border_title)


async def test_the_brush_position_says_row_and_column(model) -> None:
    async with draw_app(model).run_test(size=(80, 24)) as pilot:
        _, canvas = await opened(pilot)
        await pilot.press("down", "down", "left")
        row, column = canvas.cursor
        assert f"row {row}, col {column}" in canvas.border_subtitle
        assert "pen up" in canvas.border_title
