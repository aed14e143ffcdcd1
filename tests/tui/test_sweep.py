"""Sweeps from the app (F12): the dialog checks the text with the engine, and the trials run
one after another as normal recorded runs, so the Runs table is the leaderboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from engine.config import parse_field
from engine.data import Dataset
from engine.errors import ConfigError
from engine.runs import RunStore
from engine.sweep import MAX_TRIALS, parse_sample
from nnfs_tui.app import NNFSApp, create_app
from nnfs_tui.dialogs.sweep import SweepDialog, plan_sweep
from tests.tui.helpers import LONG, SMALL, toasts, trainer_of, wait_for


def engine_message(call, *args) -> str:  # noqa: ANN001
    with pytest.raises(ConfigError) as info:
        call(*args)
    return str(info.value)


def test_plan_sweep_reads_grid_lines_and_samples() -> None:
    trials = plan_sweep(SMALL, ["learning_rate: 1e-3 3e-3", "", "hidden_sizes 64 128,64"])
    assert [t.varied for t in trials] == [
        {"learning_rate": 1e-3, "hidden_sizes": (64,)},
        {"learning_rate": 1e-3, "hidden_sizes": (128, 64)},
        {"learning_rate": 3e-3, "hidden_sizes": (64,)},
        {"learning_rate": 3e-3, "hidden_sizes": (128, 64)},
    ]
    assert trials[3].config == SMALL.replace(learning_rate=3e-3, hidden_sizes=(128, 64))
    drawn = plan_sweep(SMALL, ["batch_size: 64 256"], "learning_rate=log:1e-4:1e-1", "3", "7")
    assert len(drawn) == 6
    assert all(1e-4 <= t.config.learning_rate <= 1e-1 for t in drawn)
    assert len({t.config.learning_rate for t in drawn}) == 6
    again = plan_sweep(SMALL, ["batch_size: 64 256"], "learning_rate=log:1e-4:1e-1", "3", "7")
    assert again == drawn  # same seed, same trials
    for bad, why in [
        ((["learning_rate: 1e-3", "learning_rate: 1e-2"],), "each field on one line only"),
        ((["learning_rate:"],), "FIELD: VALUE"),
        (([""],), "at least one field"),
        ((["learning_rate: 1e-3"], "learning_rate=log:1e-4:1e-1"), "not varied already"),
        ((["batch_size: 1 2"], "learning_rate=log:1e-4:1e-1", str(MAX_TRIALS)),
         f"at most {MAX_TRIALS}"),
        ((["seed: 1"], "", "0"), "trials: 0 is not valid"),
    ]:
        with pytest.raises(ConfigError, match=why):
            plan_sweep(SMALL, *bad)


def make(small_dataset: Dataset, runs_dir: Path, **changes: object) -> NNFSApp:
    return create_app(SMALL.replace(**changes), dataset=small_dataset, timing=False,
                      runs_dir=runs_dir)


async def open_dialog(pilot: Pilot) -> SweepDialog:
    await pilot.press("f12")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SweepDialog), "the dialog")
    return pilot.app.screen  # type: ignore[return-value]


async def type_into(pilot: Pilot, dialog: SweepDialog, field: str, text: str) -> None:
    """Focus a field of the dialog, clear it and type ``text`` key by key."""
    dialog.query_one(f"#{field}", Input).focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *("space" if c == " " else c for c in text))
    await pilot.pause()
    assert dialog.query_one(f"#{field}", Input).value == text


async def start_by_keys(pilot: Pilot, dialog: SweepDialog) -> int:
    """Press Enter until the dialog closes (field by field, then the Start button); returns
    how many presses it took."""
    for presses in range(1, 16):
        await pilot.press("enter")
        await pilot.pause()
        if pilot.app.screen is not dialog:
            return presses
    raise AssertionError("Enter never reached the Start button")


async def test_the_dialog_refuses_a_bad_spec_with_the_engines_message(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        assert "Sweep" in [c.title for c in app.get_system_commands(app.screen)]
        dialog = await open_dialog(pilot)
        # prefilled from the form: its own values, one trial
        assert dialog.query_one("#vary-0", Input).value == "learning_rate: 0.005"
        assert dialog.query_one("#vary-1", Input).value == "hidden_sizes: 32"
        assert dialog.summary.startswith("1 trial of 2 epochs") and dialog.error == ""

        await type_into(pilot, dialog, "vary-0", "learning_rate: 1e-3 abc")
        assert dialog.error == engine_message(parse_field, "learning_rate", "abc")
        await pilot.press("enter")  # refused: the dialog stays, nothing starts
        assert app.screen is dialog and app.controller.runs_started == 0

        await type_into(pilot, dialog, "vary-0", "learning_rate: 1e-3 3e-3")
        assert dialog.error == "" and dialog.summary.startswith("2 trials")
        await type_into(pilot, dialog, "sample", "dropout=log:0:0.5")
        assert dialog.error == engine_message(parse_sample, "dropout=log:0:0.5")
        await type_into(pilot, dialog, "sample", "dropout=uniform:0:0.5")
        await type_into(pilot, dialog, "trials", "3")
        assert dialog.error == "" and dialog.summary.startswith("6 trials")
        await type_into(pilot, dialog, "vary-2", "optimiser: sgd")
        assert dialog.error.startswith("sweep field: optimiser is not valid; expected one of")
        await pilot.press("enter")
        assert app.screen is dialog

        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SweepDialog),
                       "the dialog to close")
        assert app.controller.runs_started == 0 and app.controller.sweeps.progress is None
        assert app.run_state == "idle"
    assert RunStore(tmp_path).list() == []


async def test_a_two_by_one_grid_runs_two_recorded_trials_back_to_back(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "learning_rate: 0.005 0.01")
        await type_into(pilot, dialog, "vary-1", "hidden_sizes: 16")
        assert dialog.summary.startswith("2 trials of 2 epochs")
        # Enter walks the fields (vary-2, samples, draws, seed, Start) before it starts
        assert await start_by_keys(pilot, dialog) == 6
        await wait_for(pilot, lambda: app.controller.sweeps.progress is None
                       and not app.controller.active, "the sweep to end")
        log = app.train_screen.log_view.text
        assert app.controller.runs_started == 2 and app.run_state == "completed"
        assert "trial 1/2 [learning_rate=0.005, hidden_sizes=16]" in log
        assert "trial 2/2 [learning_rate=0.01, hidden_sizes=16]" in log
        assert "Sweep done: 2 trials. Best: trial " in log
        assert log.count("finished: 2 epochs") == 2
        # the form is the one the sweep started from again
        assert app.train_screen.form.config() == SMALL
    runs = RunStore(tmp_path).list()
    assert sorted((r.config.learning_rate, r.status) for r in runs) == [
        (0.005, "completed"), (0.01, "completed")]
    for run in runs:
        assert run.name.startswith("sweep-")
        assert run.config == SMALL.replace(learning_rate=run.config.learning_rate,
                                           hidden_sizes=(16,))
        assert run.epochs_completed == 2 and run.test_acc is not None


async def test_f7_stops_the_trial_and_cancels_the_rest_of_the_sweep(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path, epochs=LONG)
    async with app.run_test(size=(100, 32)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "learning_rate: 0.005 0.01 0.02")
        await start_by_keys(pilot, dialog)
        await wait_for(pilot, lambda: trainer_of(app) is not None
                       and trainer_of(app).state.step > 0,
                       "the first trial's first step")
        sweep = app.controller.sweeps.progress
        assert sweep is not None and sweep.index == 0
        await pilot.press("f12")  # one run at a time: no second sweep meanwhile
        assert not isinstance(app.screen, SweepDialog)
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the trial to stop")
        await pilot.pause(0.3)
        assert app.controller.sweeps.progress is None and not app.controller.active
        assert app.controller.runs_started == 1
        assert ("Sweep ended at trial 1/3 [learning_rate=0.005, hidden_sizes=32] (stopped): "
                "2 trials not run.") in app.train_screen.log_view.text
        assert app.train_screen.form.config() == SMALL.replace(epochs=LONG)
    runs = RunStore(tmp_path).list()
    assert [(r.config.learning_rate, r.status) for r in runs] == [(0.005, "stopped")]


async def test_a_diverged_trial_is_recorded_and_the_next_one_runs(
        small_dataset: Dataset, tmp_path: Path) -> None:
    base = SMALL.replace(hidden_sizes=(8,), optimizer="sgd", activation="leaky_relu", epochs=1)
    app = create_app(base, dataset=small_dataset, timing=False, runs_dir=tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(plan_sweep(base, ["learning_rate: 1000 0.05"]), base)
        await wait_for(pilot, lambda: app.controller.sweeps.progress is None
                       and not app.controller.active, "the sweep to end")
        assert app.controller.runs_started == 2 and app.run_state == "completed"
        assert "Sweep done: 2 trials." in app.train_screen.log_view.text
    runs = RunStore(tmp_path).list()
    assert sorted((r.config.learning_rate, r.status) for r in runs) == [
        (0.05, "completed"), (1000.0, "diverged")]


async def test_a_sweep_over_two_fields_ends_with_its_labels_shown_as_typed(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """The end-of-sweep toast names trials like ``[hidden_sizes=16, epochs=1]``: plain text,
    not markup (it used to stop the app with a MarkupError)."""
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.controller.sweeps.start(plan_sweep(SMALL, ["hidden_sizes: 16", "epochs: 1 2"]), SMALL)
        await wait_for(pilot, lambda: app.controller.sweeps.progress is None
                       and not app.controller.active, "the sweep to end")
        await pilot.pause(0.2)
        assert app.is_running and app.controller.runs_started == 2
        shown = toasts(app)
        assert any("Best: trial " in t and "[hidden_sizes=16, epochs=" in t for t in shown), shown


async def test_enter_in_the_grid_moves_on_and_adds_lines_instead_of_starting(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-2", "batch_size: 64 128")
        await pilot.press("enter")  # on the last line, filled in: a fourth line
        await pilot.pause()
        assert app.screen is dialog and app.controller.runs_started == 0
        assert [line.id for line in dialog.vary_lines] == ["vary-0", "vary-1", "vary-2",
                                                          "vary-3"]
        assert app.focused is dialog.query_one("#vary-3", Input)
        await type_into(pilot, dialog, "vary-3", "epochs: 1 3")
        assert dialog.summary.startswith("4 trials of 1 to 3 epochs (8 epochs in all)")
        assert len(dialog.trials) == 4
        assert {(t.config.batch_size, t.config.epochs) for t in dialog.trials} == {
            (64, 1), (64, 3), (128, 1), (128, 3)}
        await pilot.press("enter")  # filled in: a fifth line; Enter on it, empty: samples
        await pilot.pause()
        assert app.focused is dialog.query_one("#vary-4", Input)
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is dialog.query_one("#sample", Input) and app.screen is dialog
        assert app.controller.runs_started == 0 and len(dialog.trials) == 4
