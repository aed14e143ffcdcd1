"""Screens switch, they do not stack; every screen has a header saying where you are and
what the run is doing; footers show a screen's own keys first and only keys that act."""

from __future__ import annotations

import re

from nnfs_tui.screens import HelpScreen
from nnfs_tui.screens.draw import DrawScreen
from nnfs_tui.screens.inspect import InspectScreen
from nnfs_tui.screens.runs import RunsScreen
from nnfs_tui.screens.train import TrainScreen
from nnfs_tui.widgets.header import ScreenHeader
from tests.tui.helpers import start_and_wait, wait_for


def header_text(app) -> str:  # noqa: ANN001
    """The header line of the screen on top, as drawn."""
    return str(app.screen.query_one(ScreenHeader).render())


def footer_keys(app) -> list[str]:  # noqa: ANN001
    """The keys the footer of the screen on top shows, in order."""
    return [key.key for key in app.screen.query("FooterKey")]


async def test_f_keys_switch_screens_without_stacking(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.controller.model_and_data()[1] is not None,
                       "the test images")
        for key, kind, name in (("f2", RunsScreen, "Runs"), ("f4", InspectScreen, "Inspect"),
                                ("f9", DrawScreen, "Draw"), ("f2", RunsScreen, "Runs")):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, kind)
            assert len(app.screen_stack) == 2  # the train screen and this one, never more
            assert f"nnfs-tui › {name}" in header_text(app)
        await pilot.press("escape")  # one Esc goes back to the train screen
        await pilot.pause()
        assert isinstance(app.screen, TrainScreen) and len(app.screen_stack) == 1
        assert "nnfs-tui › Train" in header_text(app)
        await pilot.press("f4", "f4")  # the screen's key again: back as well
        await pilot.pause()
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("f9", "f1")  # help switches too; F2 from there switches on
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and len(app.screen_stack) == 2
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and len(app.screen_stack) == 2
        await pilot.press("ctrl+t")  # the train screen from anywhere
        await pilot.pause()
        assert isinstance(app.screen, TrainScreen)


async def test_every_header_says_what_the_run_is_doing(make_app) -> None:
    app = make_app(epochs=10_000)
    async with app.run_test(size=(120, 40)) as pilot:
        assert header_text(app).endswith("idle")
        await start_and_wait(pilot)
        await wait_for(pilot, lambda: re.search(r"training epoch \d+/10000$", header_text(app)),
                       "the epoch in the header")
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await pilot.press("f2")
        await pilot.pause()
        assert "nnfs-tui › Runs" in header_text(app)
        assert re.search(r"paused at epoch \d+/10000$", header_text(app))
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        assert "stopped at epoch" in header_text(app)


async def test_footers_show_their_own_keys_first_and_fit_80_columns(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = footer_keys(app)
        assert keys[:3] == ["f5", "f8", "f12"]  # idle: no Pause, no Stop (they would not act)
        assert "ctrl+s" in keys and "ctrl+o" in keys
        assert "f6" not in keys and "f7" not in keys
        await pilot.press("f2")
        await pilot.pause()
        await pilot.pause()
        keys = footer_keys(app)
        assert keys[:5] == ["slash", "x", "e", "o", "escape"]
        assert "f3" not in keys  # the views are the train screen's
        footer = app.screen.query_one("FittedFooter")
        assert sum(key.outer_size.width for key in footer.query("FooterKey")) <= 80


async def test_after_f5_focus_is_on_the_first_live_field(make_app) -> None:
    app = make_app(epochs=10_000)
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.train_screen.form
        form.control("hidden_sizes").focus()  # locked once the run starts
        await pilot.pause()
        await start_and_wait(pilot)
        await wait_for(pilot, lambda: app.focused is form.control("learning_rate"),
                       "the focus on learning_rate")
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


#: The screens Help is reached from, and the key that switches to each.
SWITCHED_BY_KEY = (("ctrl+t", TrainScreen), ("f2", RunsScreen), ("f4", InspectScreen),
                   ("f9", DrawScreen))


async def test_help_is_a_switched_screen_reachable_from_every_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.controller.model_and_data()[1] is not None,
                       "the test images")
        for key, kind in SWITCHED_BY_KEY:
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, kind)
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            assert len(app.screen_stack) == 2  # in place of the screen it came from
            assert "nnfs-tui › Help" in header_text(app)
            keys = footer_keys(app)
            assert keys[0] == "escape"  # its own key first
            assert "f3" not in keys  # the views are the train screen's
            await pilot.press("escape")  # one Esc: the train screen
            await pilot.pause()
            assert isinstance(app.screen, TrainScreen) and len(app.screen_stack) == 1
        await pilot.press("f1", "f1")  # its key again goes back as well
        await pilot.pause()
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("f1", "pagedown")  # the arrows and PageDown scroll it at once
        await pilot.pause()
        assert app.screen.query_one("#help-body").scroll_y > 0


async def test_every_footer_shows_f1_help_at_80_columns(make_app) -> None:
    """A newcomer finds Help on every screen, however many keys the screen has of its own."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.controller.model_and_data()[1] is not None,
                       "the test images")
        for key, kind in SWITCHED_BY_KEY:
            await pilot.press(key)
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, kind)
            footer = app.screen.query_one("FittedFooter")
            keys = list(footer.query("FooterKey"))
            assert "f1" in [k.key for k in keys], (kind.__name__, [k.key for k in keys])
            assert all(k.region.right <= footer.region.right for k in keys), kind.__name__
