"""The learning-rate finder in the app: Ctrl+L in the form, its curve, Enter fills the form."""

from __future__ import annotations

import numpy as np
import pytest
from textual.pilot import Pilot

from engine.config import parse_field
from nnfs_tui.dialogs.lr_find import LRFindDialog
from nnfs_tui.widgets.lr_plot import LRFindPlot
from tests.tui.helpers import LONG, set_input, start_paused, trainer_of, wait_for
from tests.tui.test_keys import burst, typing


async def finder_done(pilot: Pilot) -> LRFindDialog:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, LRFindDialog), "the finder")
    dialog = app.screen
    assert isinstance(dialog, LRFindDialog)
    await wait_for(pilot, lambda: dialog.result is not None, "the range test")
    await pilot.pause()
    return dialog


async def test_ctrl_l_in_a_text_field_finds_and_enter_fills_the_form(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await set_input(pilot, "batch_size", "64")  # a text field has the focus
        await pilot.press("ctrl+l")
        dialog = await finder_done(pilot)
        result = dialog.result
        assert result is not None and result.suggestion is not None
        assert dialog.config.batch_size == 64  # the form's model, as edited
        plot = dialog.query_one(LRFindPlot)
        assert len(plot.lrs) == len(result.lrs) > 10 and plot.suggestion == result.suggestion
        assert "Suggested learning_rate" in str(dialog.query_one("#lr-find-status").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LRFindDialog), "closing")
        value = app.train_screen.form.control("learning_rate").value
        assert parse_field("learning_rate", value) == pytest.approx(result.suggestion, rel=0.01)
        assert app.train_screen.form.config().learning_rate == pytest.approx(
            result.suggestion, rel=0.01)


async def test_esc_leaves_the_form_as_it_was(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.train_screen.form.control("learning_rate").value
        await pilot.press("ctrl+l")
        await finder_done(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LRFindDialog), "closing")
        assert app.train_screen.form.control("learning_rate").value == before


async def test_the_model_being_trained_is_untouched(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_paused(pilot)
        trainer = trainer_of(app)
        assert trainer is not None
        before = {k: v.copy() for k, v in trainer.network.params.items()}
        step = trainer.state.step
        await pilot.press("ctrl+l")
        await finder_done(pilot)
        assert trainer.state.step == step
        for key, value in trainer.network.params.items():
            assert np.array_equal(value, before[key]), key
        await pilot.press("escape")
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def finder_shown(pilot: Pilot) -> None:
    """Ctrl+L on the seeded small data, the curve drawn, notifications cleared."""
    await pilot.pause()
    await pilot.press("ctrl+l")
    await finder_done(pilot)
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"),
                                  pytest.param((120, 40), id="120x40")])
def test_lr_finder_snapshot(snap_compare, make_app, size) -> None:  # noqa: ANN001
    """The curve of a seeded range test, the suggestion marked (timing off)."""
    assert snap_compare(make_app(), terminal_size=size, run_before=finder_shown)


@pytest.mark.parametrize("start", ["batch_size", "learning_rate"])
async def test_typing_after_enter_replaces_the_suggestion(make_app, start) -> None:
    """Enter fills learning_rate and selects it, whether the focus moves there or was there
    already with the cursor mid-value: a digit typed next replaces the suggestion."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_input(pilot, start, "0.005" if start == "learning_rate" else "64")
        await pilot.press("left", "left")  # the cursor mid-value
        await pilot.press("ctrl+l")
        await finder_done(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, LRFindDialog), "closing")
        await burst(pilot, *typing("0.002"))
        field = app.train_screen.form.control("learning_rate")
        assert app.focused is field
        assert field.value == "0.002"
