"""The app's explore features wired together: every run recorded, the Runs screen's rerun,
Inspect and Draw on the live model, save mid-run, and load-then-continue."""

from __future__ import annotations

import numpy as np
import pytest

from engine.checkpoint import load_checkpoint
from engine.runs import RunStore
from engine.schedules import lr_factor
from nnfs_tui.app import create_app
from nnfs_tui.dialogs import LoadCheckpointDialog, SaveModelDialog
from nnfs_tui.dialogs.checkpoint import RestartScheduleDialog
from nnfs_tui.screens.draw import DrawScreen
from nnfs_tui.screens.inspect import InspectScreen
from nnfs_tui.screens.runs import RunsScreen
from tests.tui.helpers import LONG, SMALL, set_input, toasts, trainer_of, wait_for


def app_with_store(small_dataset, tmp_path, **changes):
    return create_app(SMALL.replace(**changes), dataset=small_dataset, timing=False,
                      runs_dir=tmp_path / "runs")


async def test_each_run_is_recorded_and_a_rerun_repeats_it(small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the first run")
        first_acc = trainer_of(app).history[-1]["test_acc"]
        runs = RunStore(tmp_path / "runs").list()
        assert [r.status for r in runs] == ["completed"]
        assert runs[0].config == SMALL and len(runs[0].metrics()) == 2

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded,
                       "the Runs screen to read the store")
        await pilot.press("r")  # rerun the highlighted (only) run
        await wait_for(pilot, lambda: app.controller.runs_started == 2
                       and app.run_state == "completed",
                       "the rerun")
        assert trainer_of(app).history[-1]["test_acc"] == first_acc
        assert len(RunStore(tmp_path / "runs").list()) == 2


async def test_inspect_and_draw_open_on_the_trained_model(small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run")
        assert [s.epoch for s in app.controller.layer_history] == [1, 2]
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen), "Inspect")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, InspectScreen), "closing")
        app.train_screen.digits.focus()
        await pilot.press("d")  # the letter works outside text fields
        await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen), "Draw")


async def test_save_mid_run_then_load_and_continue(small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path, epochs=LONG)
    saved = tmp_path / "mid.npz"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: trainer_of(app) is not None
                       and trainer_of(app).state.epoch >= 1, "an epoch")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveModelDialog), "the dialog")
        dialog = app.screen
        dialog.query_one("Input").value = str(saved)
        await pilot.press("enter")
        await wait_for(pilot, saved.exists, "the checkpoint to be written")
        assert app.controller.active  # saving did not stop training
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")

        ckpt = load_checkpoint(saved)
        assert ckpt.loop["epoch"] >= 1 and ckpt.config.epochs == LONG

        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadCheckpointDialog), "Load")
        app.screen.query_one("Input").value = str(saved)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.controller.loaded is not None, "the checkpoint to open")
        loaded = app.controller.loaded
        np.testing.assert_array_equal(loaded.network.params["W1"], ckpt.params["W1"])
        start_step = loaded.summary.step
        assert start_step == ckpt.loop["step"]

        await pilot.press("f5")  # continue it
        await wait_for(pilot, lambda: app.controller.session is not None
                       and app.controller.session.checkpoint is loaded.checkpoint
                       and trainer_of(app) is not None
                       and trainer_of(app).state.step > start_step,
                       "training to continue from the checkpoint")
        assert trainer_of(app).state.epoch >= ckpt.loop["epoch"]
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the second stop")


async def test_a_failed_save_is_reported_keeps_the_model_and_can_be_retried(
        small_dataset, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import errno
    import os

    app = app_with_store(small_dataset, tmp_path)
    target = tmp_path / "model.npz"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run")
        weights = trainer_of(app).network.params["W1"].copy()

        def disk_full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(np, "savez", disk_full)
        for attempt in ("full disk", "retry"):
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, SaveModelDialog), "dialog")
            app.screen.query_one("Input").value = str(target)
            await pilot.press("enter")
            if attempt == "full disk":
                await wait_for(pilot, lambda: "Save failed" in app.train_screen.log_view.text,
                               "the error in the log")
                assert "No space left on device" in app.train_screen.log_view.text
                assert not target.exists() and not list(tmp_path.glob(".*.tmp"))
                np.testing.assert_array_equal(
                    trainer_of(app).network.params["W1"], weights)
                monkeypatch.undo()
            else:
                await wait_for(pilot, target.exists, "the retried save")
        np.testing.assert_array_equal(load_checkpoint(target).params["W1"], weights)


async def test_paths_with_brackets_are_saved_and_shown_as_typed(small_dataset, tmp_path) -> None:
    """A toast or message that names a path like ``ux[a=1, b=2].npz`` is plain text: the
    save works and the app goes on (it used to stop on a markup error)."""
    app = app_with_store(small_dataset, tmp_path)
    target = tmp_path / "ux[a=1, b=2] [x].npz"
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveModelDialog), "the dialog")
        app.screen.query_one("Input").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists, "the save")
        await pilot.pause(0.2)
        assert app.is_running
        shown = toasts(app)
        assert any(str(target) in text for text in shown), shown
        load_checkpoint(target)


async def test_a_rerun_replays_the_changes_made_while_training(small_dataset, tmp_path) -> None:
    """Paused mid-run and given a new learning rate by hand: the rerun (F2, r) makes the
    same change at the same step and ends with the same weights."""
    app = app_with_store(small_dataset, tmp_path, epochs=3)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_start()  # F5 then F6 at once: paused at its first batch boundary (the
        app.action_pause()  # whole run takes less time than Pilot waits between two keys)
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await set_input(pilot, "learning_rate", "0.0007")
        await pilot.press("enter")
        await pilot.pause()
        assert ("Live change learning_rate → 0.0007: applied when training resumes (F6)."
                in app.train_screen.log_view.text)
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.run_state == "completed", "the first run")
        first = {k: v.copy() for k, v in trainer_of(app).network.params.items()}
        recorded = RunStore(tmp_path / "runs").list()[0]
        assert [(c.field, c.value) for c in recorded.live_changes] == [("learning_rate", 0.0007)]

        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded,
                       "the Runs screen to read the store")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.controller.runs_started == 2
                       and app.run_state == "completed",
                       "the rerun")
        assert "replaying its 1 live change" in app.train_screen.log_view.text
        for key, value in first.items():
            np.testing.assert_array_equal(trainer_of(app).network.params[key], value,
                                          err_msg=key)
    rerun = next(r for r in RunStore(tmp_path / "runs").list() if r.name != recorded.name)
    assert rerun.live_changes == recorded.live_changes


async def test_f5_on_a_checkpoint_that_finished_its_epochs_asks_for_more(
        small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the run")
        final = RunStore(tmp_path / "runs").list()[0].path / "final.npz"
        app.controller.files.open_checkpoint(final)
        await wait_for(pilot, lambda: app.controller.loaded is not None, "the checkpoint to open")
        loaded_line = app.train_screen.log_view.text.splitlines()[-1]
        # the log and F5 agree: a finished run needs more epochs
        assert "raise epochs above 2, then F5" in app.train_screen.log_view.text
        assert "F5 continues training it" not in loaded_line
        opened = app.controller.runs_started
        await pilot.press("f5")
        await pilot.pause(0.2)
        assert app.controller.runs_started == opened
        assert len(RunStore(tmp_path / "runs").list()) == 1
        assert "already trained 2/2 epochs: raise epochs" in app.train_screen.log_view.text
        await set_input(pilot, "epochs", "3")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.controller.runs_started == opened + 1
                       and app.run_state == "completed", "the continued run")
        assert trainer_of(app).state.epoch == 3


async def test_opening_a_checkpoint_shows_its_progress_not_the_last_runs(
        small_dataset, tmp_path) -> None:
    """After a 3-epoch run, opening a 2-epoch checkpoint shows its epochs, best score and
    what F5 will do; none of the 3-epoch run's loss, learning rate or speed stays."""
    app = app_with_store(small_dataset, tmp_path, epochs=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the 2-epoch run")
        best_val = max(row["val_acc"] for row in trainer_of(app).history)
        first = RunStore(tmp_path / "runs").list()[0].path / "final.npz"
        await set_input(pilot, "epochs", "3")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.controller.runs_started == 2
                       and app.run_state == "completed", "the 3-epoch run")
        progress = app.train_screen.progress
        assert "Epoch 3/3" in str(progress.render()) and "lr 5.00e-03" in str(progress.render())

        app.controller.files.open_checkpoint(first)
        await wait_for(pilot, lambda: app.run_state == "loaded", "the checkpoint to open")
        shown = str(progress.render())
        assert "Epoch 2/2" in shown and "loss -" in shown and "lr -" in shown
        assert f"best val {100 * best_val:.1f}%" in shown
        assert "loaded: raise epochs for F5" in shown
        await set_input(pilot, "epochs", "4")
        shown = str(progress.render())
        assert "Epoch 2/4" in shown and "loaded: F5 continues it" in shown
        await set_input(pilot, "hidden_sizes", "8")  # not the checkpoint's network any more
        assert app.run_state == "idle" and "ready: F5 starts a run" in str(progress.render())


async def test_a_dataset_the_form_cannot_use_is_refused_as_typed(small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path)
    half = tmp_path / "half"
    half.mkdir()
    (half / "train-images-idx3-ubyte").write_bytes(b"")
    async with app.run_test(size=(120, 40)) as pilot:
        row = app.train_screen.form.row("dataset")
        for text, expected in (
                ("foo", "dataset: foo is not valid; expected 'mnist', 'fashion-mnist' or a "
                        "directory of IDX files"),
                (str(half), "file not found (looked for train-labels-idx1-ubyte")):
            await set_input(pilot, "dataset", text)
            assert row.has_class("-invalid") and expected in str(row.query_one(".error").render())
            await pilot.press("f5")
            await pilot.pause()
            assert app.controller.runs_started == 0
        await set_input(pilot, "dataset", "mnist")
        assert not row.has_class("-invalid")


async def test_a_run_whose_data_cannot_load_leaves_no_record_and_keeps_the_keys_in_the_form(
        small_dataset, tmp_path) -> None:
    """Four files with the right names but no IDX inside: the run fails to start, its record
    is removed (not left "running" for ever), and focus goes back to the dataset field."""
    broken = tmp_path / "broken"
    broken.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (broken / stem).write_bytes(b"not an IDX file")
    # no dataset handed in: the app loads what the form names, as it does for people
    app = create_app(SMALL, timing=False, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await set_input(pilot, "dataset", str(broken))
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "failed", "the refusal")
        assert RunStore(tmp_path / "runs").list() == []
        assert app.focused is app.train_screen.form.control("dataset")


async def test_a_run_that_continued_a_checkpoint_is_marked_and_not_rerun_from_scratch(
        small_dataset, tmp_path) -> None:
    """Continued from a checkpoint, a run holds only its own epochs: its record says where
    it started, and `r` says why it cannot repeat it instead of training something else."""
    app = app_with_store(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the first run")
        first = RunStore(tmp_path / "runs").list()[0]
        app.controller.files.open_checkpoint(first.path / "final.npz")
        await wait_for(pilot, lambda: app.run_state == "loaded", "the checkpoint to open")
        await set_input(pilot, "epochs", "3")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed"
                       and trainer_of(app).state.epoch == 3, "the continued run")
        runs = RunStore(tmp_path / "runs").list()
        continued = next(r for r in runs if r.name != first.name)
        assert first.continued_from is None
        steps_per_epoch = -(-SMALL.subset // SMALL.batch_size)
        assert continued.continued_from == 2 * steps_per_epoch == 32
        started = app.controller.runs_started
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.loaded,
                       "the Runs screen to read the store")
        screen = app.screen
        screen.table.move_cursor(row=[r.name for r in screen.shown_runs].index(continued.name))
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.screen is screen and app.controller.runs_started == started
        assert any("continued a checkpoint from step 32" in t for t in toasts(app))


@pytest.mark.parametrize(("key", "restart"), [("enter", 2.0), ("k", 0.0), ("escape", None)])
async def test_continuing_a_finished_cosine_run_offers_to_restart_its_schedule(
        small_dataset, tmp_path, key, restart) -> None:
    """Enter (or r) restarts the schedule for the added epochs, k keeps it over all 4 epochs
    (the next epoch starts halfway down the cosine), Esc starts nothing."""
    app = app_with_store(small_dataset, tmp_path, schedule="cosine")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the first run")
        final = RunStore(tmp_path / "runs").list()[0].path / "final.npz"
        app.controller.files.open_checkpoint(final)
        await wait_for(pilot, lambda: app.run_state == "loaded", "the checkpoint to open")
        opened = app.controller.runs_started
        await set_input(pilot, "epochs", "4")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, RestartScheduleDialog),
                       "the offer")
        assert "restart its cosine schedule?" in app.screen.query_one(".dialog").border_title
        assert "for the 2 added epochs (from 0.005 down again)" in app.screen.body
        assert "over all 4 epochs (training goes on at 0.0025)" in app.screen.body
        await pilot.press(key)
        if restart is None:
            await pilot.pause()
            assert app.controller.runs_started == opened and app.run_state == "loaded"
            return
        await wait_for(pilot, lambda: app.controller.runs_started == opened + 1
                       and app.run_state == "completed", "the continued run")
        trainer = trainer_of(app)
        assert trainer.config.lr_restart == restart and trainer.state.epoch == 4
        # the rate of epoch 3's last batch (the 16th of 128 of the 2,000 images)
        progress = 2 + 15 * 128 / 2000
        assert trainer.history[2]["lr"] == pytest.approx(
            0.005 * lr_factor("cosine", progress, 4, restart=restart), rel=1e-6)
        assert (trainer.history[2]["lr"] > 0.002) == bool(restart)  # else about 0.0008
        # the restart belongs to the continued run: the form keeps 0, and says so in the log
        assert app.train_screen.form.control("lr_restart").value == "0"
        log = app.train_screen.log_view.text
        assert ("cosine schedule restarted" in log) == bool(restart)
        assert ("lr_restart 2 for this run only" in log) == bool(restart)


async def test_a_fresh_run_after_a_restarted_continuation_does_not_inherit_the_restart(
        small_dataset, tmp_path) -> None:
    app = app_with_store(small_dataset, tmp_path, schedule="cosine")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "completed", "the first run")
        final = RunStore(tmp_path / "runs").list()[0].path / "final.npz"
        app.controller.files.open_checkpoint(final)
        await wait_for(pilot, lambda: app.run_state == "loaded", "the checkpoint to open")
        await set_input(pilot, "epochs", "4")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, RestartScheduleDialog),
                       "the offer")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.run_state == "completed"
                       and trainer_of(app).state.epoch == 4, "the continued run")
        assert trainer_of(app).config.lr_restart == 2.0
        await set_input(pilot, "seed", "5")  # another run: starts afresh
        started = app.controller.runs_started
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.controller.runs_started == started + 1
                       and app.run_state == "completed", "the fresh run")
        assert trainer_of(app).config.seed == 5
        assert trainer_of(app).config.lr_restart == 0.0
