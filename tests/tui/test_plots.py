"""Plots of runs that go wrong: a loss spanning orders of magnitude on a log axis, short tick
labels, and a warning on the progress line and in the log for exploding loss or chance
accuracy (before any NaN)."""

from __future__ import annotations

import math

import pytest
from textual.app import App, ComposeResult

from engine import events as ev
from engine.metrics import training_warning
from nnfs_tui import messages as msg
from nnfs_tui.widgets.plots import LossPlot, compact_number, nice_ticks
from nnfs_tui.widgets.progress import ProgressLine
from tests.tui.helpers import LONG, start_and_wait


def epoch(n: int, loss: float, acc: float) -> ev.EpochEnded:
    """An epoch report with these training loss and accuracy."""
    return ev.EpochEnded(epoch=n, epochs=5, epoch_seconds=1.0, train_loss=loss, train_acc=acc,
                         val_loss=loss, val_acc=acc, test_loss=loss, test_acc=acc, lr=0.1)


def test_compact_labels_are_short() -> None:
    assert compact_number(596271660064.9) == "6.0e11"
    assert compact_number(1e-5) == "1.0e-5"
    assert compact_number(0.25) == "0.25"
    assert compact_number(0.1, step=0.01) == "0.10"
    assert all(len(compact_number(10.0 ** p)) <= 6 for p in range(-9, 15))


def test_nice_ticks_are_round_and_inside_the_range() -> None:
    assert nice_ticks(0, 100) == [0, 50, 100]
    ticks = nice_ticks(1.98e11, 6.2e11)
    assert [compact_number(t) for t in ticks] == ["2.0e11", "4.0e11", "6.0e11"]
    assert all(1.98e11 <= t <= 6.2e11 for t in ticks)


class PlotApp(App[None]):
    """A loss plot alone."""

    def compose(self) -> ComposeResult:
        yield LossPlot(id="plot")


async def test_exploding_loss_goes_on_a_log_axis_with_compact_labels() -> None:
    app = PlotApp()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one(LossPlot)
        plot.reset(5)
        losses = [2.3, 40.0, 9e5, 6e8, 596271660064.9]
        plot.add_epochs([epoch(i + 1, loss, 0.1) for i, loss in enumerate(losses)],
                        [(i + 1.0, loss) for i, loss in enumerate(losses)])
        plot.refresh()
        await pilot.pause()
        text = plot.render().plain if hasattr(plot.render(), "plain") else str(plot.render())
        assert plot.log_axis
        assert "(log)" in text and "1.0e9" in text
        assert "596271660064" not in text and "e+" not in text
        # an ordinary loss stays on a linear axis
        plot.reset(5)
        plot.add_epochs([epoch(i + 1, 2.3 - 0.3 * i, 0.9) for i in range(5)], ())
        plot.render()
        assert not plot.log_axis


def test_training_warning_names_exploding_loss_and_chance_accuracy() -> None:
    assert training_warning(0.3, 0.92, 10) is None
    assert training_warning(2.31, 0.11, 10).short == "accuracy at chance"
    assert training_warning(5e11, 0.10, 10).short == "loss exploding"
    assert training_warning(math.inf, 0.10, 10).short == "loss exploding"
    assert "learning_rate" in training_warning(5e11, 0.1, 10).detail


class ProgressApp(App[None]):
    """A progress line alone, 80 columns wide."""

    def compose(self) -> ComposeResult:
        yield ProgressLine()


async def test_progress_line_warns_of_a_run_at_chance() -> None:
    app = ProgressApp()
    async with app.run_test(size=(80, 10)) as pilot:
        line = app.query_one(ProgressLine)
        line.timing = False
        line.reset(5)
        line.status = "training"
        line.update_epoch(epoch(1, 2.30, 0.10))
        await pilot.pause()
        assert "⚠ accuracy at chance" in str(line.render())
        line.update_epoch(epoch(2, 0.4, 0.88))
        await pilot.pause()
        assert "⚠" not in str(line.render())


async def test_the_log_warns_once_when_a_run_explodes(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        await pilot.press("f6")
        await start_and_wait(pilot, "paused")
        screen = app.train_screen
        run = app.controller.run
        for n in (1, 2):
            screen.on_epochs_ended(msg.EpochsEnded(run=run, events=(epoch(n, 6e11, 0.1),),
                                                   loss_points=()))
        await pilot.pause()
        warnings = [line for line in screen.log_view.text.splitlines() if "Warning" in line]
        assert len(warnings) == 1 and "loss exploding" in warnings[0]
        assert "⚠ loss exploding" in str(screen.progress.render())
        await pilot.press("f7")


async def test_the_progress_line_fits_two_lines_at_80_columns_and_keeps_the_best() -> None:
    app = ProgressApp()
    async with app.run_test(size=(46, 10)) as pilot:  # the right side of an 80x24 screen
        line = app.query_one(ProgressLine)
        line.timing = False
        line.reset(5)
        line.status = "training"
        line.update_batch(ev.BatchEnded(epoch=2, batch=3, batches_per_epoch=79, step=82,
                                        loss=2.3, accuracy=0.1, lr=0.1, elapsed=1.0,
                                        samples_per_second=1e5))
        line.update_epoch(epoch(1, 2.30, 0.11))
        await pilot.pause()
        lines = str(line.render()).splitlines()
        assert len(lines) == 2 and line.size.height == 2
        assert "best val 11.0%" in lines[1] and "⚠ accuracy at chance" in lines[1]
        assert all(len(text) <= 46 for text in lines)


async def test_the_log_is_readable_beside_the_digits_at_110_and_120_columns(make_app) -> None:
    for size, least in (((110, 34), 26), ((120, 40), 36)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            assert app.train_screen.log_view.size.width >= least, size


def _rendered(plot: LossPlot) -> str:
    """The plot as drawn, as plain text."""
    plot.refresh()
    drawn = plot.render()
    return drawn.plain if hasattr(drawn, "plain") else str(drawn)


def _y_labels(text: str) -> list[str]:
    """The y axis's tick labels: the text left of the axis line on each row."""
    labels = []
    for line in text.splitlines():
        left, bar, _ = line.partition("┤")
        if bar and left.strip():
            labels.append(left.split()[-1])
    return labels


@pytest.mark.parametrize("size", [(80, 20), (110, 34), (120, 40)])
async def test_a_linear_plot_after_a_log_plot_has_its_own_y_labels(size) -> None:
    """Once a run's loss went on a log axis, the next run's linear axis still has numbers
    (and no log label is left over anywhere)."""
    app = PlotApp()
    async with app.run_test(size=size) as pilot:
        plot = app.query_one(LossPlot)
        plot.reset(5)
        losses = [2.3, 40.0, 9e5, 6e8, 596271660064.9]
        plot.add_epochs([epoch(i + 1, loss, 0.1) for i, loss in enumerate(losses)],
                        [(i + 1.0, loss) for i, loss in enumerate(losses)])
        await pilot.pause()
        assert plot.log_axis and "1.0e9" in _rendered(plot)
        plot.reset(5)
        linear = [2.3, 1.2, 0.8, 0.6, 0.5]
        plot.add_epochs([epoch(i + 1, loss, 0.9) for i, loss in enumerate(linear)],
                        [(i + 1.0, loss) for i, loss in enumerate(linear)])
        await pilot.pause()
        text = _rendered(plot)
        assert not plot.log_axis
        labels = [float(label) for label in _y_labels(text)]
        assert len(labels) >= 3, text
        assert min(labels) < 0.8 and max(labels) > 1.8, labels
        assert "e" not in "".join(_y_labels(text))
        assert "10.0" not in text and "e9" not in text and "(log)" not in text
