"""The app driven by keys through Textual's Pilot, on a 2,000-image MNIST subset."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from textual.widgets import Input, Select

from engine.config import FIELDS, parse_field
from engine.errors import ConfigError
from engine.training import Trainer
from nnfs_tui.screens import HelpScreen
from tests.tui.helpers import LONG, TIMEOUT, set_input, start_and_wait, trainer_of, wait_for


def text_of(widget) -> str:  # noqa: ANN001
    """What a widget shows, as plain text."""
    return str(widget.render())


async def test_form_filled_by_keys_trains_that_config(make_app) -> None:
    app = make_app(epochs=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await set_input(pilot, "hidden_sizes", "24,16")
        form = app.train_screen.form
        assert form.values["hidden_sizes"] == (24, 16)
        assert "784-24-16-10 · 19,410 params" in text_of(form.row("hidden_sizes")
                                                          .query_one(".hint"))
        # a Select by keys: open it, move down, choose
        optimizer = app.screen.query_one("#f-optimizer", Select)
        optimizer.focus()
        await pilot.press("enter")
        await pilot.pause()
        while optimizer.value != "momentum":
            await pilot.press("down", "enter")
            await pilot.pause()
            if optimizer.value != "momentum":
                await pilot.press("enter")
        assert app.screen.query_one("#row-momentum").display  # shown for momentum only
        assert not app.screen.query_one("#row-beta1").display
        await set_input(pilot, "learning_rate", "0.05")

        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run to complete")

        config = trainer_of(app).config
        assert config.hidden_sizes == (24, 16)
        assert config.optimizer == "momentum"
        assert config.learning_rate == 0.05
        screen = app.train_screen
        # plots received both epochs: per-epoch points and the smoothed batch curve
        assert [x for x, _ in screen.accuracy_plot.series["test"].points] == [1.0, 2.0]
        assert len(screen.accuracy_plot.series["val"]) == 2
        assert len(screen.loss_plot.series["train"]) == 2
        batch_points = screen.loss_plot.series["batch"].points
        assert len(batch_points) >= 16 and batch_points[-1][0] == 2.0
        history = trainer_of(app).history
        assert screen.accuracy_plot.series["test"].points[-1][1] == 100 * history[-1]["test_acc"]
        # progress line at the end; the log has the final test accuracy
        assert screen.progress.epoch_done == 2
        assert "Epoch 2/2" in text_of(screen.progress)
        assert "completed" in text_of(screen.progress)
        final = f"{100 * history[-1]['test_acc']:.1f}%"
        assert f"finished: 2 epochs, test accuracy {final}" in screen.log_view.text


async def test_progress_line_moves_and_plots_fill_while_training(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot)
        progress = app.train_screen.progress
        await wait_for(pilot, lambda: progress.last_batch is not None, "a progress report")
        first, first_epoch = progress.fraction, progress.epoch_done
        await wait_for(pilot, lambda: progress.epoch_done >= first_epoch + 2, "two more epochs")
        assert progress.fraction > first
        assert "Epoch " in text_of(progress) and f"/{LONG}" in text_of(progress)
        assert app.train_screen.accuracy_plot.has_data("test")
        assert app.train_screen.loss_plot.has_data("batch")
        app.action_stop()  # F7 itself is tested with pause and resume
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def test_digit_viewer_navigates_and_shows_predictions(make_app) -> None:
    app = make_app(epochs=1)
    async with app.run_test(size=(120, 40)) as pilot:
        digits = app.train_screen.digits
        await wait_for(pilot, lambda: digits.dataset is not None, "the test images")
        assert "guess -" in text_of_viewer(digits)  # no model yet
        await start_and_wait(pilot, "completed")
        await wait_for(pilot, lambda: digits.predicted is not None, "predictions")
        assert digits.epoch == 1

        await pilot.press("escape")  # leave the form: the viewer takes the keys
        assert app.focused is digits
        await pilot.press("n", "n", "right", "p")
        assert digits.index == 2
        await pilot.press("left", "left", "left")
        assert digits.index == len(digits.dataset.y_test) - 1  # wraps around
        await pilot.press("home", "r")
        assert digits.index != 0

        shown = text_of_viewer(digits)
        label = digits.dataset.class_names[int(digits.dataset.y_test[digits.index])]
        guess = digits.dataset.class_names[int(digits.predicted[digits.index])]
        assert f"label {label}" in shown and f"guess {guess}" in shown
        assert shown.count("%") == 10  # ten probability bars

        # only mistakes: every stop is a digit the model gets wrong
        wrong = np.flatnonzero(digits.predicted != digits.dataset.y_test)
        assert len(wrong) > 0
        await pilot.press("m")
        for _ in range(3):
            assert digits.index in wrong
            assert "✗" in text_of_viewer(digits)
            await pilot.press("n")
        await pilot.press("m", "home")
        assert digits.index == 0 and not digits.only_mistakes


def text_of_viewer(viewer) -> str:  # noqa: ANN001
    from rich.console import Console

    console = Console(width=60, record=True, color_system=None)
    with console.capture() as capture:
        console.print(viewer.render())
    return capture.get()


async def test_pause_resume_and_stop(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        trainer = trainer_of(app)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        assert app.train_screen.progress.has_class("-paused")
        step = trainer.state.step
        for _ in range(5):
            await pilot.pause(0.02)
        assert trainer.state.step == step  # nothing trains while paused
        assert "Paused after step" in app.train_screen.log_view.text

        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "training", "the resume")
        await wait_for(pilot, lambda: trainer.state.step > step, "training to go on")
        assert "Resumed at step" in app.train_screen.log_view.text

        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        assert trainer.state.status == "stopped"
        assert trainer.state.epoch < LONG
        assert not app.train_screen.form.locked
        assert "stopped after" in app.train_screen.log_view.text


async def test_live_learning_rate_change_reaches_the_engine(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        form = app.train_screen.form
        # architecture and friends are locked, live fields are not
        hidden = form.control("hidden_sizes")
        assert form.has_class("-locked") and hidden.is_disabled
        assert form.control("activation").is_disabled and form.control("seed").is_disabled
        assert not form.control("learning_rate").is_disabled
        assert not form.control("batch_size").is_disabled

        # typed while the run is paused (Pilot waits for an idle process after every key,
        # which a training thread never is), applied with Enter, taking effect on resume
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await set_input(pilot, "learning_rate", "0.0123")
        assert form.row("learning_rate").has_class("-pending")
        await pilot.press("enter", "f6")
        await wait_for(pilot, lambda: trainer_of(app).config.learning_rate == 0.0123,
                       "the new learning rate in the trainer")
        await wait_for(pilot, lambda: app.train_screen.loss_plot.marks, "the plot marker")
        assert "learning_rate = 0.0123" in app.train_screen.log_view.text
        assert not form.row("learning_rate").has_class("-pending")
        assert app.train_screen.accuracy_plot.marks == app.train_screen.loss_plot.marks

        # while it trains: leaving an edited live field applies it too
        batch_size = form.control("batch_size")
        batch_size.focus()
        batch_size.value = "64"
        await pilot.press("tab")
        await wait_for(pilot, lambda: "batch_size = 64" in app.train_screen.log_view.text,
                       "the change of batch_size in the log")
        assert trainer_of(app).config.batch_size == 64
        # a value the engine refuses mid-run shows its message and changes nothing
        batch_size.focus()
        batch_size.value = "5000"
        await pilot.press("enter")
        error = form.row("batch_size").query_one(".error")
        await wait_for(pilot, lambda: "batch_size: 5000 is not valid" in text_of(error),
                       "the engine's refusal under the field")
        assert trainer_of(app).config.batch_size == 64
        app.action_stop()  # F7 itself is tested with pause and resume
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        assert not hidden.is_disabled and not form.has_class("-locked")  # unlocked again


async def test_invalid_input_shows_the_engine_message_and_blocks_start(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await set_input(pilot, "learning_rate", "fast")
        try:
            parse_field("learning_rate", "fast")
        except ConfigError as exc:
            expected = str(exc)
        row = app.train_screen.form.row("learning_rate")
        assert row.has_class("-invalid")
        assert text_of(row.query_one(".error")) == expected
        assert expected == ("learning_rate: fast is not valid; expected "
                            + FIELDS["learning_rate"].allowed)

        await pilot.press("f5")
        await pilot.pause()
        assert app.controller.runs_started == 0 and app.run_state == "idle"
        assert f"Cannot start: {expected}" in app.train_screen.log_view.text
        assert app.focused is app.screen.query_one("#f-learning_rate", Input)

        await set_input(pilot, "learning_rate", "0.01")
        assert not row.has_class("-invalid")
        await set_input(pilot, "hidden_sizes", "64,0")
        assert "hidden_sizes: 64,0 is not valid" in text_of(
            app.train_screen.form.row("hidden_sizes").query_one(".error"))
        await pilot.press("f5")
        await pilot.pause()
        assert app.controller.runs_started == 0


async def test_a_second_start_during_a_run_is_refused(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot)
        first = trainer_of(app)
        await pilot.press("f5")
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await pilot.press("s", "f5")  # the letter key (outside a text field), and F5 paused
        await pilot.pause()
        assert app.controller.runs_started == 1 and trainer_of(app) is first
        assert "one run at a time" in app.train_screen.log_view.text
        running = [w for w in app.workers if w.group == "training" and w.is_running]
        assert len(running) == 1
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def test_start_over_stops_and_starts_a_fresh_run(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait(pilot)
        first = trainer_of(app)
        await pilot.press("f8")
        runs = app.controller
        await wait_for(pilot, lambda: runs.runs_started == 2 and runs.session.trainer is not None
                       and runs.session.trainer is not first
                       and runs.session.trainer.state.step > 0,
                       "the second run")
        assert first.state.status == "stopped"
        assert app.run_state in ("training", "loading")
        app.action_stop()  # F7 itself is tested with pause and resume
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")


async def quit_during(app, *keys: str, pause_first: bool = False) -> Trainer:  # noqa: ANN001
    """Start a long run, press ``keys`` to quit, return the run's Trainer once the app exited.

    Fails (instead of hanging) when the app does not exit within TIMEOUT seconds; a
    training thread left behind by a failure is stopped.
    """
    trainers: list[Trainer] = []

    async def session() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_and_wait(pilot)
            trainers.append(trainer_of(app))
            if pause_first:
                await pilot.press("f6")
                await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
            await pilot.press(*keys)

    try:
        await asyncio.wait_for(session(), TIMEOUT)
    finally:
        for trainer in trainers:
            stopped_by_app = trainer.stop_requested
            trainer.stop()  # never leave a training thread behind a failed test
            assert stopped_by_app, "quitting did not stop the training loop"
    return trainers[0]


async def wait_until_stopped(trainer: Trainer) -> None:
    deadline = time.monotonic() + TIMEOUT
    while trainer.state.status == "running":
        assert time.monotonic() < deadline, "the training loop did not end"
        await asyncio.sleep(0.01)


async def test_quitting_mid_run_stops_the_worker(make_app) -> None:
    trainer = await quit_during(make_app(epochs=LONG), "f10")
    await wait_until_stopped(trainer)
    assert trainer.state.status == "stopped"
    assert trainer.state.epoch < LONG


async def test_quitting_while_paused_does_not_hang(make_app) -> None:
    trainer = await quit_during(make_app(epochs=LONG), "ctrl+q", pause_first=True)
    await wait_until_stopped(trainer)
    assert trainer.state.status == "stopped"


async def test_divergence_is_reported_and_nothing_crashes(make_app) -> None:
    app = make_app(activation="leaky_relu", optimizer="sgd", learning_rate=1000.0, epochs=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot, "diverged")
        screen = app.train_screen
        log = screen.log_view.text
        assert "DIVERGED: loss became non-finite at epoch 1" in log
        assert "last finite loss" in log
        assert "DIVERGED" in text_of(screen.progress)
        for plot in (screen.loss_plot, screen.accuracy_plot):
            for series in plot.series.values():
                assert all(np.isfinite(series.ys))
        assert all(np.isfinite([y for _, y in screen.loss_plot.live]))
        svg = app.export_screenshot()  # the screen still renders after the divergence
        assert "DIVERGED" in svg
        # and the next run starts normally
        await set_input(pilot, "learning_rate", "0.01")
        await start_and_wait(pilot, "completed")


async def test_help_screen_lists_the_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys").render())
        for key in ("F1", "F5", "F6", "F7", "F8", "F10"):
            assert key in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_has_a_section_for_each_dialog_and_the_sweep_view(make_app) -> None:
    """F1 tells a newcomer the keys of the sweep view, the sweep dialog and the learning-rate
    finder, each under its own title."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        text = str(app.screen.query_one("#help-keys").render())
        for title in ("Sweep view", "Sweep dialog", "Learning-rate finder"):
            assert title in text, title
        sweep_view = text[text.index("Sweep view"):]
        assert "stop the sweep" in sweep_view and "trials" in sweep_view
        assert "suggested rate" in text[text.index("Learning-rate finder"):]


async def test_small_terminal_says_so_and_resizing_never_raises(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(60, 20)) as pilot:
        screen = app.train_screen
        assert screen.has_class("-too-small")
        assert "This terminal is 60x20" in text_of(screen.query_one("#too-small"))
        await start_and_wait(pilot)
        sizes = [(80, 24), (200, 60), (79, 24), (110, 34), (40, 10), (120, 40), (80, 24)]
        for size in sizes[:2]:  # while it trains
            await pilot.resize_terminal(*size)
            await pilot.pause()
        await pilot.press("f6")  # the rest paused: Pilot waits for an idle process per step
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        for size in sizes:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert screen.has_class("-too-small") == (size[0] < 80 or size[1] < 24)
            assert screen.has_class("-compact") == (size[0] < 110 or size[1] < 34)
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        await pilot.press("f3")
        assert screen.view == "accuracy"
        await pilot.press("f3", "f3", "f3")
        assert screen.view == "loss"


async def test_command_palette_starts_a_run(make_app) -> None:
    app = make_app(epochs=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Start run")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run from the palette")
        assert app.controller.runs_started == 1


async def test_the_form_starts_from_the_given_config(small_dataset) -> None:
    from engine.config import PRESETS
    from nnfs_tui.app import create_app

    config = PRESETS["default"].replace(val_fraction=0.1, epochs=3)
    app = create_app(config, preset="default", dataset=small_dataset, timing=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.train_screen.form
        assert form.config() == config
        assert form.control("val_fraction").value == "0.1"
        preset = app.screen.query_one("#preset", Select)
        assert preset.value is Select.NULL  # 3 epochs and a validation split: not "default"
        # choosing another preset fills the form with it (the dataset stays)
        preset.value = "seed"
        await pilot.pause()
        assert form.config() == PRESETS["seed"]
        assert not app.screen.query_one("#row-beta1").display  # momentum: no Adam betas


async def test_the_preset_shown_is_the_one_the_form_holds(small_dataset) -> None:
    """Edit a preset's field and the selector says (custom); edit it back, or load a config
    equal to a preset, and it names that preset again."""
    from engine.config import PRESETS
    from nnfs_tui.app import create_app

    app = create_app(PRESETS["fast"], preset="fast", dataset=small_dataset, timing=False)
    async with app.run_test(size=(120, 40)) as pilot:
        preset = app.screen.query_one("#preset", Select)
        form = app.train_screen.form
        assert preset.value == "fast"
        await set_input(pilot, "hidden_sizes", "100")
        assert preset.value is Select.NULL and "(custom)" in app.export_screenshot()
        await set_input(pilot, "hidden_sizes",
                        ",".join(map(str, PRESETS["fast"].hidden_sizes)))
        assert preset.value == "fast"
        form.set_config(PRESETS["seed"])
        await pilot.pause()
        assert preset.value == "seed" and form.config() == PRESETS["seed"]


async def test_momentum_is_offered_only_to_the_optimizers_that_use_it(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.train_screen.form
        for optimizer, shown in (("momentum", True), ("nesterov", True), ("rmsprop", False),
                                 ("adam", False), ("sgd", False)):
            form.control("optimizer").value = optimizer
            await pilot.pause()
            assert form.row("momentum").display == shown, optimizer
            assert form.row("alpha").display == (optimizer == "rmsprop")  # its own decay


async def test_brackets_typed_into_a_field_are_shown_as_typed(make_app) -> None:
    """Text that looks like markup ("[/]", "[b") is an invalid value, not a crash."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for text in ("[/]", "[b", "1[red]"):
            await set_input(pilot, "learning_rate", text)
            row = app.train_screen.form.row("learning_rate")
            assert text_of(row.query_one(".error")).startswith(
                f"learning_rate: {text} is not valid")
        await set_input(pilot, "hidden_sizes", "64,[/]")
        assert "hidden_sizes: 64,[/] is not valid" in text_of(
            app.train_screen.form.row("hidden_sizes").query_one(".error"))
        assert app.is_running


async def test_no_color_draws_digits_with_plain_half_blocks(make_app, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        digits = app.train_screen.digits
        await wait_for(pilot, lambda: digits.dataset is not None, "the test images")
        assert app.no_color
        shown = text_of_viewer(digits)
        assert "█" in shown and "label 7" in shown  # the first test digit, a 7, in blocks


async def test_a_run_the_engine_refuses_shows_its_message(make_app) -> None:
    app = make_app(batch_size=5000)  # valid alone, but the subset has 2,000 images
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot, "failed")
        message = "batch_size: 5000 is not valid; expected at most the training set size"
        assert message in app.train_screen.log_view.text
        row = app.train_screen.form.row("batch_size")
        assert row.has_class("-invalid") and message in text_of(row.query_one(".error"))
        assert not app.train_screen.form.locked
        await set_input(pilot, "batch_size", "100")
        await start_and_wait(pilot, "completed")
        assert not row.has_class("-invalid")


async def test_home_and_end_stay_within_the_mistakes_when_only_mistakes_is_on(make_app) -> None:
    app = make_app(epochs=1)
    async with app.run_test(size=(120, 40)) as pilot:
        digits = app.train_screen.digits
        await start_and_wait(pilot, "completed")
        await wait_for(pilot, lambda: digits.predicted is not None, "predictions")
        wrong = np.flatnonzero(digits.predicted != digits.dataset.y_test)
        assert len(wrong) > 2 and wrong[0] != 0
        assert wrong[-1] != len(digits.dataset.y_test) - 1
        await pilot.press("escape")  # the viewer takes the keys
        await pilot.press("end")
        assert digits.index == len(digits.dataset.y_test) - 1
        await pilot.press("m", "n", "n", "home")
        assert digits.index == wrong[0]
        assert "✗" in text_of_viewer(digits)
        await pilot.press("end")
        assert digits.index == wrong[-1]
        await pilot.press("n")  # and on from the last mistake wraps to the first
        assert digits.index == wrong[0]
        await pilot.press("m", "home")
        assert digits.index == 0


async def test_help_keeps_long_keys_apart_from_what_they_do(make_app) -> None:
    for size in ((80, 24), (120, 40)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await pilot.press("f1")
            await pilot.pause()
            keys = app.screen.query_one("#help-keys")
            shown = str(keys.render())
            lines = shown.splitlines()
            assert all(len(line) <= keys.content_size.width for line in lines)
            flat = " ".join(shown.split())
            for run_on in ("Endmove", "PageUpnext", "Shift+→move"):
                assert run_on not in flat, run_on
            # the preset's tip is for this app, not a command-line flag
            fields = str(app.screen.query_one("#help-fields").render())
            assert "--l_rate" not in fields and "learning_rate 4" in fields


async def test_plot_legends_wrap_between_entries_only(make_app) -> None:
    for size in ((80, 24), (120, 40)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            screen = app.train_screen
            for plot in (screen.loss_plot, screen.accuracy_plot):
                for name in plot.series:
                    plot.series[name].add(1, 0.5)
                plot.mark(0.5)  # a live change: its entry joins the legend
                plot.redraw()
            for view in ("loss", "accuracy"):
                screen.view = view
                await pilot.pause()
                plot = screen.loss_plot if view == "loss" else screen.accuracy_plot
                legend = plot.parent.query_one(".legend")
                width = legend.content_size.width
                assert width > 0
                lines = str(legend.render()).splitlines()
                entries = [e.strip() for line in lines for e in line.split("  ") if e.strip()]
                assert all(len(line.rstrip()) <= width for line in lines), lines
                assert "│ live change" in entries, lines
                assert entries[0] == plot.TITLE and len(entries) == len(plot.STYLES) + 2
