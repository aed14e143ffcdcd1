"""Keys that arrive together (one read over SSH) take effect in the order they were typed,
in every text field of the app; entering a text field selects its value."""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from nnfs_tui.widgets.text_field import TextField
from tests.tui.helpers import LONG, set_input, start_and_wait, trainer_of, wait_for

#: Characters of the keys that have one (the others are named keys: backspace, enter, ...).
CHARACTERS = {"space": " ", "full_stop": "."}


def key_event(key: str) -> events.Key:
    """The Key event a terminal driver posts for ``key``."""
    character = key if len(key) == 1 else CHARACTERS.get(key)
    return events.Key(key, character)


async def burst(pilot: Pilot, *keys: str) -> None:
    """Post ``keys`` to the app at once, as a driver does with one read of several keys,
    then let the app handle them."""
    for key in keys:
        pilot.app.post_message(key_event(key))
    await pilot.pause()
    await pilot.pause()


async def test_a_burst_in_a_paused_live_field_applies_the_typed_value(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await set_input(pilot, "learning_rate", "0.00089")
        await burst(pilot, "backspace", "backspace", "5", "enter")
        field = app.train_screen.form.control("learning_rate")
        assert field.value == "0.0005"
        assert "learning_rate → 0.0005" in app.train_screen.log_view.text
        await pilot.press("f6")
        await wait_for(pilot, lambda: trainer_of(app).config.learning_rate == 0.0005,
                       "the new learning rate in the trainer")
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


class OneField(App[None]):
    """A text field and a second one to Tab to."""

    def compose(self):  # noqa: ANN201
        yield TextField("", id="a")
        yield TextField("", id="b")


async def test_editing_keys_in_a_burst_keep_their_order() -> None:
    app = OneField()
    async with app.run_test() as pilot:
        a = app.query_one("#a", Input)
        await burst(pilot, "1", "2", "3", "left", "left", "x", "end", "backspace", "9")
        assert a.value == "1x29"
        await burst(pilot, "ctrl+u", "4", "2", "home", "full_stop")
        assert a.value == ".42"


async def test_keys_after_a_tab_in_the_same_burst_go_to_the_next_field() -> None:
    app = OneField()
    async with app.run_test() as pilot:
        await burst(pilot, "1", "tab", "2", "3")
        assert app.query_one("#a", Input).value == "1"
        assert app.query_one("#b", Input).value == "23"


async def test_every_text_field_of_the_app_keeps_key_order(make_app) -> None:
    """The form, the Runs filter and the path dialogs use TextField, not a bare Input."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        inputs = list(app.screen.query(Input))
        await pilot.press("f2")
        await pilot.pause()
        inputs += list(app.screen.query(Input))
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+o")
        await pilot.pause()
        inputs += list(app.screen.query(Input))
        assert len(inputs) > 10
        assert all(isinstance(field, TextField) for field in inputs), [
            field.id for field in inputs if not isinstance(field, TextField)]


async def test_tab_into_a_field_selects_its_value_so_typing_replaces_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.train_screen.form
        form.control("optimizer").focus()
        await pilot.pause()
        await pilot.press("tab", *"0.0005")
        field = form.control("learning_rate")
        assert app.focused is field
        assert field.value == "0.0005"


async def test_enter_again_on_an_unchanged_paused_field_sends_nothing(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await set_input(pilot, "learning_rate", "0.0007")
        await pilot.press("enter", "enter", "tab")
        log = app.train_screen.log_view.text
        assert log.count("learning_rate → 0.0007") == 1, log
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
