"""What the train screen says about its run: the header and the progress line agree on the
epoch and say which score they show, a sweep's end leaves the form run's line alone, and F5
on a form with an error says which field and why."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Input

from engine.data import Dataset
from nnfs_tui.screens.sweep import SweepScreen
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.progress import format_percent
from tests.tui.helpers import (
    LONG,
    set_input,
    start_and_wait,
    start_paused,
    toasts,
    trainer_of,
    wait_for,
)
from tests.tui.test_keys import burst, typing
from tests.tui.test_sweep import make, open_dialog, sweep_ended, type_into


def header_text(app) -> str:  # noqa: ANN001
    return str(app.screen.query_one(ScreenHeader).render())


def progress_text(app) -> str:  # noqa: ANN001
    return str(app.train_screen.progress.render())


async def test_header_and_progress_line_count_the_same_epoch_at_an_epoch_end(make_app) -> None:
    """One batch per epoch: every pause falls at the end of an epoch, where the header said
    the next epoch while the progress line still showed the one that just ended."""
    app = make_app(epochs=LONG, batch_size=2000)  # all 2,000 training images
    async with app.run_test(size=(80, 24)) as pilot:
        await start_paused(pilot)
        progress = app.train_screen.progress
        await wait_for(pilot, lambda: progress.last_batch is not None
                       and progress.epoch_done == progress.last_batch.epoch >= 1,
                       "the paused epoch's end on the progress line")
        await pilot.pause()
        shown = re.search(r"Epoch (\d+)/10000 .* 1/1", progress_text(app))
        said = re.search(r"paused at epoch (\d+)/10000", header_text(app))
        assert shown and said, (progress_text(app), header_text(app))
        assert said[1] == shown[1]
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        stopped = re.search(r"stopped at epoch (\d+)/10000", header_text(app))
        assert stopped[1] == re.search(r"Epoch (\d+)/10000", progress_text(app))[1]


async def test_the_header_of_a_finished_run_names_its_score_best_val(make_app) -> None:
    """The header's number is the best validation accuracy, not the test accuracy the
    notice gives: it says so."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot, "completed")
        best = format_percent(app.train_screen.progress.best_val)
        assert header_text(app).endswith(f"finished · best val {best}")
        assert f"best val {best}" in progress_text(app)


async def test_stopping_a_sweep_leaves_the_form_runs_progress_line_as_it_ended(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot, "completed")
        line = progress_text(app)
        assert "completed" in line
        await set_input(pilot, "epochs", str(LONG))
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "learning_rate: 0.005 0.01")
        await type_into(pilot, dialog, "workers", "1")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
        view = app.screen
        await wait_for(pilot, lambda: any(r.epoch >= 1 for r in view.rows.values()),
                       "a trial's first epoch")
        await pilot.press("f7")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to stop")
        await pilot.pause(0.1)
        assert view.sweep_state == "stopped"
        assert app.train_screen.progress.status == "completed"
        assert progress_text(app) == line


async def test_f5_with_an_invalid_field_names_it_in_a_notice_and_focuses_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await set_input(pilot, "batch_size", "0")
        form = app.train_screen.form
        form.control("hidden_sizes").focus()
        await pilot.pause()
        await burst(pilot, "f5")
        await pilot.pause(0.2)
        assert trainer_of(app) is None and app.run_state == "idle"
        await wait_for(pilot, lambda: toasts(app), "the notice")
        notices = toasts(app)
        assert any("batch_size" in text and "whole number from 1" in text
                   for text in notices), notices
        field = form.control("batch_size")
        assert app.focused is field
        assert isinstance(field, Input)
        await burst(pilot, *typing("64"))  # selected: typing replaces the bad value
        assert field.value == "64"


async def test_header_and_progress_line_count_the_same_epoch_while_it_trains(make_app) -> None:
    """Mid-epoch too: once the next epoch's first batch is on the progress line, the header
    says that epoch (it used to wait for the epoch's end)."""
    # epochs longer than the relay's interval, so batches of an epoch reach the screen alone
    app = make_app(epochs=LONG, batch_size=4, hidden_sizes=(1024,))
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot)
        progress = app.train_screen.progress
        await wait_for(pilot, lambda: progress.epoch_done >= 1, "the first epoch's end")
        checked = 0
        while checked < 20:
            await pilot.pause(0.01)
            shown = re.search(r"Epoch (\d+)/10000", progress_text(app))
            said = re.search(r"training epoch (\d+)/10000", header_text(app))
            if shown and said:
                assert said[1] == shown[1], (progress_text(app), header_text(app))
                checked += 1
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
