"""The Inspect screen driven by keys: confusion matrix, a cell's images, first-layer weights,
layer health. On a small model trained once per session (tests/tui/models.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.color import ColorSystem
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot

from engine.events import LayerStats
from engine.inspect import first_layer_images
from engine.metrics import confusion_matrix, per_class_accuracy, predict
from nnfs_tui.screens.inspect import STRIP_TITLE, InspectScreen, snapshot
from nnfs_tui.widgets.confusion import ConfusionMatrix
from nnfs_tui.widgets.layer_health import LayerHealth
from nnfs_tui.widgets.mistakes import CellStrip, MistakeViewer, cell_images
from nnfs_tui.widgets.pixels import downsample
from nnfs_tui.widgets.weights import WeightGrid, diverging_color, render_diverging
from tests.tui.helpers import wait_for
from tests.tui.models import ScreenHost, TrainedModel, trained_model


@pytest.fixture(scope="module")
def model() -> TrainedModel:
    return trained_model()


@pytest.fixture(scope="module")
def guesses(model: TrainedModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's (predicted, probabilities) on the test set, computed without the app."""
    return predict(model.network, model.dataset.x_test)


def inspect_app(model: TrainedModel, network=None, history=None) -> ScreenHost:  # noqa: ANN001
    return ScreenHost(lambda: InspectScreen(
        model.network if network is None else network, model.dataset,
        model.layer_history if history is None else history))


async def opened(pilot: Pilot) -> InspectScreen:
    """Wait for the screen and its test-set predictions."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), "the Inspect screen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.counts is not None, "the test-set predictions")
    await pilot.pause()
    return screen


def text_of(widget) -> str:  # noqa: ANN001
    """What a widget shows now, as plain text."""
    console = Console(width=max(widget.content_size.width, 1), file=io.StringIO(),
                      color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(widget.render())
    return capture.get()


def text_of_lines(widget) -> str:  # noqa: ANN001
    """What a widget that draws line by line shows now, as plain text."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


async def test_confusion_matrix_counts_equal_the_engines(model, guesses) -> None:
    predicted, _ = guesses
    expected = confusion_matrix(model.dataset.y_test, predicted, model.dataset.n_classes)
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        matrix = screen.query_one(ConfusionMatrix)
        np.testing.assert_array_equal(matrix.counts, expected)
        shown = text_of(matrix)
        # every count on screen, row by row, and each class's accuracy at the row's end
        rows = shown.splitlines()[1:]
        accuracy = per_class_accuracy(expected)
        for k, row in enumerate(rows):
            cells = row.split()
            assert cells[0] == model.dataset.class_names[k]
            assert [0 if c == "·" else int(c) for c in cells[1:11]] == expected[k].tolist()
            assert cells[11] == f"{100 * accuracy[k]:.1f}%"
        total = f"{100 * np.trace(expected) / expected.sum():.2f}%"
        assert f"accuracy {total}" in str(screen.query_one("#matrix-info").render())


async def test_enter_on_a_cell_pages_through_its_mistakes_most_confident_first(
        model, guesses) -> None:
    predicted, probabilities = guesses
    y = model.dataset.y_test
    counts = confusion_matrix(y, predicted, 10)
    np.fill_diagonal(counts, 0)
    true_class, guessed = (int(v) for v in np.unravel_index(counts.argmax(), counts.shape))
    in_cell = np.flatnonzero((y == true_class) & (predicted == guessed))
    expected = in_cell[np.argsort(-probabilities[in_cell, guessed], kind="stable")]
    assert len(expected) >= 3

    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press(*["down"] * true_class, *["right"] * guessed)
        assert screen.query_one(ConfusionMatrix).cursor == (true_class, guessed)
        info = str(screen.query_one("#matrix-info").render())
        assert f"{true_class} taken for {guessed}: {len(expected)}" in info
        await pilot.press("enter")
        await pilot.pause()
        viewer = screen.query_one(MistakeViewer)
        np.testing.assert_array_equal(viewer.indices, expected)
        confidence = probabilities[viewer.indices, guessed]
        assert np.all(np.diff(confidence) <= 0)
        shown = text_of(viewer)
        assert f"1 of {len(expected)} · test #{expected[0] + 1}" in shown
        assert f"label {true_class}" in shown and f"guess {guessed} ✗" in shown
        assert f"{100 * confidence[0]:.1f}%" in shown
        # below, thumbnails of the cell from the shown image on
        strip = screen.query_one(CellStrip)
        assert 8 <= len(strip.shown) < len(expected)
        np.testing.assert_array_equal(strip.shown, expected[:len(strip.shown)])
        assert f"{100 * confidence[1]:.0f}%" in text_of_lines(strip)
        await pilot.press("n", "n")
        assert viewer.index == expected[2]
        await pilot.press("p")
        assert viewer.index == expected[1]
        assert f"test #{expected[1] + 1}" in text_of(viewer)
        assert strip.shown[0] == expected[1]
        columns, _ = strip.tile_size()
        await pilot.click(strip, offset=(2 * (columns + strip.GAP) + 1, 3))  # the third one
        assert viewer.index == expected[3]


async def test_a_click_on_a_cell_selects_it(model) -> None:
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        matrix = screen.query_one(ConfusionMatrix)
        x = matrix.name_width + 5 * matrix.cell_width + 1
        await pilot.click(matrix, offset=(x, 1 + 3))  # row 0 is the header
        await pilot.pause()
        assert matrix.cursor == (3, 5)
        assert screen.query_one(MistakeViewer).cell == (3, 5)


def test_cell_images_on_the_diagonal_are_the_closest_calls_first() -> None:
    y = np.array([1, 1, 1, 2, 1])
    predicted = np.array([1, 2, 1, 2, 1])
    probabilities = np.zeros((5, 3))
    probabilities[:, 1] = [0.9, 0.1, 0.5, 0.0, 0.7]
    probabilities[:, 2] = [0.1, 0.8, 0.5, 1.0, 0.3]
    assert cell_images(y, predicted, probabilities, 1, 1).tolist() == [2, 4, 0]
    assert cell_images(y, predicted, probabilities, 1, 2).tolist() == [1]
    assert cell_images(y, predicted, probabilities, 2, 1).tolist() == []


async def test_small_terminal_shows_the_matrix_and_a_cells_digits_in_turn(model) -> None:
    async with inspect_app(model).run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        matrix, viewer = screen.query_one(ConfusionMatrix), screen.query_one(MistakeViewer)
        assert matrix.region.width > 0 and viewer.region.width == 0
        await pilot.press("w")  # the worst cell, selected
        await pilot.pause()
        assert viewer.cell is not None and viewer.cell[0] != viewer.cell[1]
        assert matrix.region.width == 0 and viewer.region.width > 0
        assert screen.focused is viewer
        await pilot.press("right")
        assert viewer.position == 1
        await pilot.press("escape")  # back to the matrix, not out of the screen
        await pilot.pause()
        assert isinstance(pilot.app.screen, InspectScreen)
        assert matrix.region.width > 0 and screen.focused is matrix
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert viewer.region.width > 0 and matrix.region.width > 0
        await pilot.resize_terminal(80, 24)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, InspectScreen)


async def test_first_layer_grid_shows_every_hidden_unit_across_its_pages(model) -> None:
    async with inspect_app(model).run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("2")
        await pilot.pause()
        grid = screen.query_one(WeightGrid)
        assert screen.focused is grid
        expected = first_layer_images(model.network.params["W1"], (28, 28))
        np.testing.assert_allclose(grid.images, expected)
        assert grid.units == 32
        seen: list[int] = []
        for _ in range(grid.units):
            units = list(grid.page_units)
            shown = text_of(grid)
            assert all(f"#{u + 1}" in shown for u in units)
            # each tile is as many text rows as the (halved) image has pixel-row pairs
            rows_per_tile = (downsample(expected[0], grid.factor).shape[0] + 1) // 2 + 1
            assert len(shown.splitlines()) == rows_per_tile * -(-len(units) // grid.layout_for()[0])
            seen.extend(units)
            await pilot.press("n")
            if grid.start == 0:
                break
        assert sorted(seen) == list(range(32))
        per_page = grid.per_page
        await pilot.press("z")
        assert grid.factor == 1 and grid.per_page < per_page


async def test_layer_health_plots_hold_the_layer_stats(model) -> None:
    history = model.layer_history
    assert len(history) == 2
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("3")
        await pilot.pause()
        health = screen.query_one(LayerHealth)
        grads = health.grad_plot.series
        assert list(grads) == ["W1", "W2"]
        for k, name in enumerate(("W1", "W2")):
            assert grads[name] == [(s.epoch, s.grad_rms[k]) for s in history]
        assert health.dead_plot.series["hidden 1"] == [(s.epoch, s.dead_share[0])
                                                       for s in history]
        assert health.dead_plot.display and not health.query_one("#dead-na").display
        # a later epoch arrives while the screen is open
        later = LayerStats(epoch=3, layers=("W1", "W2"), grad_rms=(1e-3, 2e-2),
                           weight_rms=(0.1, 0.3), dead_share=(0.25,))
        screen.add_layer_stats(later)
        assert grads["W1"][-1] == (3, 1e-3) and health.dead_plot.series["hidden 1"][-1] == (
            3, 0.25)
        w2 = model.network.params["W2"]
        limit = float(np.abs(w2).max())
        counts, _ = np.histogram(w2, bins=21, range=(-limit, limit))
        np.testing.assert_array_equal(health.query_one("#hist-W2").counts, counts)


async def test_sigmoid_layers_say_dead_units_do_not_apply(model) -> None:
    history = [LayerStats(epoch=1, layers=("W1", "W2"), grad_rms=(1e-3, 1e-2),
                          weight_rms=(0.1, 0.2), dead_share=(None,))]
    async with inspect_app(model, history=history).run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        await pilot.press("3")
        await pilot.pause()
        health = screen.query_one(LayerHealth)
        assert not health.dead_plot.display
        note = health.query_one("#dead-na")
        assert note.display and "n/a for sigmoid/tanh" in str(note.render())
        assert health.grad_plot.series["W1"] == [(1, 1e-3)]


async def test_refresh_looks_at_the_model_as_it_is_now(model) -> None:
    live = snapshot(model.network)  # a model of our own to change
    async with inspect_app(model, network=live).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        grid = screen.query_one(WeightGrid)
        assert np.abs(grid.images[0]).max() == 1.0
        live.params["W1"][:, 0] = 0.0  # the run trains on: unit 1 goes blank
        live.params["b2"][:] = np.array([50.0] + [0.0] * 9, dtype=live.params["b2"].dtype)
        assert np.abs(grid.images[0]).max() == 1.0  # the screen shows its snapshot
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.counts is not None and screen.counts[:, 0].sum()
                       == 10_000, "predictions of the changed model")
        assert not grid.images[0].any()


async def test_without_a_model_the_screen_says_so_and_escape_closes(model) -> None:
    app = ScreenHost(lambda: InspectScreen(None, model.dataset))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), "the screen")
        assert "No model yet" in str(app.screen.query_one("#no-model").render())
        # the footer shows only what does something: Esc
        screen = app.screen
        shown = [b.action for b in screen.BINDINGS
                 if screen.check_action(b.action.split("(")[0], ())]
        assert shown == ["close"]
        await pilot.press("1", "n", "r")  # nothing to do, nothing raises
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectScreen)


def test_snapshot_of_the_confusion_tab(snap_compare, model) -> None:  # noqa: ANN001
    async def select_worst(pilot: Pilot) -> None:
        await opened(pilot)
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(inspect_app(model), terminal_size=(120, 40), run_before=select_worst)


async def test_enter_hands_the_keys_to_the_cells_images_and_esc_or_tab_gives_them_back(
        model) -> None:
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        matrix, viewer = screen.query_one(ConfusionMatrix), screen.query_one(MistakeViewer)
        info = str(screen.query_one("#matrix-info").render())
        assert "Enter" in info
        await pilot.press("w")  # the worst cell, selected: its images take the keys
        await pilot.pause()
        cell = matrix.cursor
        assert viewer.cell == cell and screen.focused is viewer
        assert len(viewer.indices) >= 3
        await pilot.press("right", "right")
        assert viewer.position == 2 and matrix.cursor == cell
        await pilot.press("end")
        assert viewer.position == len(viewer.indices) - 1 and matrix.cursor == cell
        assert "Esc" in viewer.border_subtitle  # the way back is on screen
        await pilot.press("tab")
        assert screen.focused is matrix
        await pilot.press("right")
        assert matrix.cursor == (cell[0], (cell[1] + 1) % 10)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.focused is viewer and viewer.cell == matrix.cursor
        await pilot.press("escape")  # back to the matrix, the screen stays
        await pilot.pause()
        assert isinstance(pilot.app.screen, InspectScreen) and screen.focused is matrix


async def test_titles_say_what_the_strip_and_the_zoom_show(model) -> None:
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        strip = screen.query_one(CellStrip)
        assert strip.border_title == STRIP_TITLE
        assert "starting with the one shown above" in STRIP_TITLE
        await pilot.press("2")
        await pilot.pause()
        grid = screen.query_one(WeightGrid)
        shown = "1×" if grid.factor == 1 else "½×"
        other = "½×" if grid.factor == 1 else "1×"
        assert f"zoom {shown} (z: {other})" in grid.border_subtitle
        await pilot.press("z")
        assert f"zoom {other} (z: {shown})" in grid.border_subtitle


async def test_side_by_side_the_images_follow_the_matrix_cursor(model, guesses) -> None:
    """Back on the matrix after paging a cell (Esc), moving the cursor shows the new cell's
    images at once; they never keep showing a cell the cursor has left."""
    predicted, _ = guesses
    y = model.dataset.y_test
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        matrix = screen.query_one(ConfusionMatrix)
        viewer = screen.query_one(MistakeViewer)
        await pilot.press("w")  # the worst cell: its images take the keys
        await pilot.pause()
        assert screen.app.focused is viewer
        await pilot.press("escape")
        await pilot.pause()
        assert screen.app.focused is matrix
        true_class, guessed = matrix.cursor
        step = -1 if true_class == 9 else 1
        target = (true_class + step, guessed)
        await pilot.press("up" if step < 0 else "down")
        await pilot.pause()
        assert matrix.cursor == target and viewer.cell == target
        assert len(viewer.indices) == int(np.sum((y == target[0]) & (predicted == target[1])))


async def test_side_by_side_the_cursors_cell_images_show_from_the_start(model, guesses) -> None:
    predicted, _ = guesses
    y = model.dataset.y_test
    async with inspect_app(model).run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        matrix = screen.query_one(ConfusionMatrix)
        viewer = screen.query_one(MistakeViewer)
        assert viewer.cell == matrix.cursor  # before any key
        true_class, guessed = matrix.cursor
        assert len(viewer.indices) == int(np.sum((y == true_class) & (predicted == guessed)))
        assert "Enter" in str(screen.query_one("#matrix-info").render())


def test_weight_colours_are_the_same_in_256_colours() -> None:
    """Each level of the diverging palette is a colour of xterm's 256-colour cube: tmux's
    default shows the same 17 levels (a smooth ramp collapsed most weights to black)."""
    values = np.linspace(-1, 1, 81)
    colours = {diverging_color(v).get_truecolor() for v in values}
    assert len(colours) == 17
    for v in values:
        colour = diverging_color(v)
        assert colour.downgrade(ColorSystem.EIGHT_BIT).get_truecolor() == colour.get_truecolor()
    # rendered as tmux would: weak weights are not black
    console = Console(color_system="256", file=io.StringIO(), width=40, legacy_windows=False)
    with console.capture() as capture:
        console.print(Text("").join(render_diverging(np.array([[0.2, -0.2], [0.4, -0.4]]))))
    assert "38;5;16m" not in capture.get()  # 16 is black
