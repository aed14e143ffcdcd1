"""Keys that arrive together (one read over SSH) take effect in the order they were typed,
in every text field of the app; entering a text field selects its value."""

from __future__ import annotations

import re

import pytest
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from engine.config import format_field
from nnfs_tui.key_order import HOLD_LIMIT, KeysInOrder
from nnfs_tui.widgets.text_field import TextField
from tests.tui.helpers import LONG, set_input, start_paused, trainer_of, wait_for

#: Characters of the keys that have one (the others are named keys: backspace, enter, ...).
CHARACTERS = {"space": " ", "full_stop": ".", "slash": "/"}


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


async def press_at_once(pilot: Pilot, how: str, *keys: str) -> None:
    """``keys`` as one read over SSH ("post": every Key posted before the app handles any)
    or as one ``pilot.press`` call ("press")."""
    if how == "post":
        await burst(pilot, *keys)
    else:
        await pilot.press(*keys)
        await pilot.pause()


def typing(text: str) -> list[str]:
    """The key names of typing ``text``."""
    return [{".": "full_stop", "/": "slash"}.get(c, c) for c in text]


async def tab_into_learning_rate(pilot: Pilot) -> None:
    """Focus the field before learning_rate (the optimizer's choice list)."""
    pilot.app.train_screen.form.control("optimizer").focus()
    await pilot.pause()


BOTH = pytest.mark.parametrize("how", ["post", "press"])


@BOTH
async def test_tab_typing_and_f5_in_one_burst_start_the_run_with_the_typed_value(
        make_app, how) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await tab_into_learning_rate(pilot)
        await press_at_once(pilot, how, "tab", *typing("0.0005"), "f5")
        await wait_for(pilot, lambda: trainer_of(app) is not None, "the run")
        assert trainer_of(app).config.learning_rate == 0.0005
        assert "lr 0.0005" in app.train_screen.log_view.text
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


@BOTH
async def test_keys_after_f5_in_the_same_burst_are_not_part_of_the_run(make_app, how) -> None:
    """F5 starts the run with the form as the keys before it left it; the digit typed after
    it lands in the live field afterwards (pending, not sent)."""
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await tab_into_learning_rate(pilot)
        await press_at_once(pilot, how, "tab", *typing("0.0005"), "f5", "9")
        await wait_for(pilot, lambda: trainer_of(app) is not None, "the run")
        assert trainer_of(app).config.learning_rate == 0.0005
        assert app.train_screen.form.control("learning_rate").value == "0.00059"
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


@BOTH
@pytest.mark.parametrize("key", ["f8", "f12", "ctrl+l"])
async def test_every_form_action_sees_the_keys_typed_before_it(make_app, how, key) -> None:
    """F8 (start over, here a start), F12 (the sweep's base) and Ctrl+L (the finder's
    model) read the form as the keys before them left it."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await tab_into_learning_rate(pilot)
        await press_at_once(pilot, how, "tab", *typing("0.0005"), key)
        if key == "f8":
            await wait_for(pilot, lambda: trainer_of(app) is not None, "the run")
            assert trainer_of(app).config.learning_rate == 0.0005
            await wait_for(pilot, lambda: not app.controller.active, "the end of the run")
        else:
            await wait_for(pilot, lambda: len(app.screen_stack) > 1, "the dialog")
            dialog = app.screen
            config = dialog.config if key == "ctrl+l" else dialog.base
            assert config.learning_rate == 0.0005


@BOTH
async def test_a_burst_ending_in_enter_and_f6_applies_the_change_before_resuming(
        make_app, how) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_paused(pilot)
        await set_input(pilot, "learning_rate", "0.00089")
        await press_at_once(pilot, how, "backspace", "backspace", "5", "enter", "f6")
        await wait_for(pilot, lambda: "Live change at" in app.train_screen.log_view.text,
                       "the change in the log")
        log = app.train_screen.log_view.text
        paused = int(re.search(r"Paused after step (\d+)", log)[1])
        applied = re.search(r"Live change at epoch [\d.]+ \(step (\d+)\): (.*)", log)
        assert applied[2] == "learning_rate = 0.0005"
        assert int(applied[1]) == paused + 1  # the first update after the pause used it
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def test_ctrl_o_a_path_and_enter_in_one_burst_load_the_typed_path(
        make_app, tmp_path) -> None:
    """The path goes into the dialog Ctrl+O opens (not the form behind it), and Enter reads
    the whole of it."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(pilot, "ctrl+o", *typing("/no/such.npz"), "enter")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, "the dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.error, "the dialog's answer")
        assert dialog.query_one(Input).value == "/no/such.npz"
        assert "/no/such.npz" in dialog.error  # the file it could not read
        assert app.train_screen.form.control("hidden_sizes").value == "32"


async def test_a_burst_in_a_paused_live_field_applies_the_typed_value(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_paused(pilot)
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
        await start_paused(pilot)
        await set_input(pilot, "learning_rate", "0.0007")
        await pilot.press("enter", "enter", "tab")
        log = app.train_screen.log_view.text
        assert log.count("learning_rate → 0.0007") == 1, log
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def test_a_key_after_one_that_closes_a_dialog_still_acts(make_app) -> None:
    """Esc closes the load dialog and F2 in the same read opens Runs: the F-key, queued
    behind Esc at the dialog's field, is not lost with the dialog."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: len(app.screen_stack) == 2, "the dialog")
        await burst(pilot, "escape", "f2")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunsScreen", "Runs")
        await burst(pilot, "escape", "x")  # and the keyboard still answers afterwards
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the train screen")


class Swallower(Widget, can_focus=True):
    """A widget that stops every key event it is sent, of any kind (as a hostile third-party
    one might)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            event.stop()
            self.keys.append(event.key)
            return
        await super().on_event(event)


class SwallowingApp(KeysInOrder, App[None]):
    """The app's key order around a widget that never lets a key come back up."""

    BINDINGS = [Binding("f5", "hit", "Hit", priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.hits = 0

    def compose(self):  # noqa: ANN201
        yield Swallower()

    def action_hit(self) -> None:
        self.hits += 1


async def test_a_widget_that_swallows_a_held_key_does_not_freeze_the_keyboard() -> None:
    """F5 (a priority binding) still acts, HOLD_LIMIT late, and the keys after it go on."""
    app = SwallowingApp()
    async with app.run_test() as pilot:
        widget = app.query_one(Swallower)
        widget.focus()
        await pilot.pause()
        await burst(pilot, "f5", "x")
        assert (app.hits, widget.keys) == (0, ["f5"])  # held: x waits behind it
        await wait_for(pilot, lambda: app.hits == 1, "F5 to act", timeout=HOLD_LIMIT + 5)
        await wait_for(pilot, lambda: widget.keys == ["f5", "x"], "x to go on")
        await burst(pilot, "y")
        await wait_for(pilot, lambda: widget.keys[-1] == "y", "the next key")


#: A valid value, other than SMALL's, to type into each text field of the form (adam,
#: constant schedule: the fields shown).
TYPED = {"hidden_sizes": "24", "learning_rate": "0.004", "beta1": "0.8", "beta2": "0.99",
         "eps": "1e-07", "weight_decay": "0.001", "dropout": "0.1", "batch_size": "64",
         "epochs": "9999", "seed": "7", "subset": "1500", "val_fraction": "0.2"}


def focus_order(app: App) -> list[Widget]:
    """The form's controls a Tab walks through, in order (hidden rows left out)."""
    return [widget for widget in app.screen.focus_chain
            if widget.id == "preset" or (widget.id or "").startswith("f-")]


@pytest.mark.parametrize("name", sorted(TYPED))
async def test_tab_from_the_previous_control_typing_and_f5_in_one_read(make_app, name) -> None:
    """Whatever the control before a text field is (a choice list, another text field, the
    hidden sizes with their summary line), Tab, the value and F5 in one read start the run
    with the typed value."""
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        order = focus_order(app)
        field = app.train_screen.form.control(name)
        order[order.index(field) - 1].focus()
        await pilot.pause()
        await burst(pilot, "tab", *typing(TYPED[name]), "f5")
        await wait_for(pilot, lambda: trainer_of(app) is not None, "the run")
        config = trainer_of(app).config
        assert format_field(name, getattr(config, name)) == TYPED[name]
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


@pytest.mark.parametrize(("start", "tabs"), [("preset", 5), ("hidden_sizes", 4)])
async def test_several_tabs_across_choice_lists_then_typing_in_one_read(
        make_app, start, tabs) -> None:
    """From the preset (or the hidden sizes) five (four) Tabs reach learning_rate over the
    three choice lists; the digits and F5 of the same read land there."""
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.train_screen.form
        (app.screen.query_one("#preset") if start == "preset" else form.control(start)).focus()
        await pilot.pause()
        await burst(pilot, *["tab"] * tabs, *typing("0.004"), "f5")
        await wait_for(pilot, lambda: trainer_of(app) is not None, "the run")
        assert app.focused is form.control("learning_rate")
        assert form.control("learning_rate").value == "0.004"
        assert trainer_of(app).config.learning_rate == 0.004
        app.action_stop()
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


@pytest.mark.parametrize("key", ["f12", "ctrl+o"])
async def test_a_field_focused_again_after_a_dialog_closes_has_its_value_selected(
        make_app, key) -> None:
    """Esc from a dialog gives the focus back to the field it left, its value selected: the
    value typed next replaces it (the cursor was mid-value before)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_input(pilot, "learning_rate", "0.005")
        await pilot.press("left", "left")
        await pilot.press(key)
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, "the dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the train screen")
        await burst(pilot, *typing("0.002"))
        field = app.train_screen.form.control("learning_rate")
        assert app.focused is field
        assert field.value == "0.002"


async def test_a_value_set_while_the_field_has_the_focus_is_selected(make_app) -> None:
    """A value the app puts into the focused field (a preset, a loaded model) is selected:
    typing replaces it rather than landing at the old cursor offset."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_input(pilot, "learning_rate", "0.005")
        await pilot.press("left", "left")
        form = app.train_screen.form
        form.set_config(form.config().replace(learning_rate=0.0211))
        await pilot.pause()
        await burst(pilot, "9")
        assert form.control("learning_rate").value == "9"
