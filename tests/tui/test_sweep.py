"""Sweeps from the app (F12): the dialog checks every field with the engine; the engine's
sweep driver runs in a thread worker (trials on local worker processes, or in-process for one
worker) while the sweep view shows every trial; each trial is a normal recorded run, so the
Runs table is the leaderboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from engine.checkpoint import load_checkpoint
from engine.config import TrainConfig, parse_field
from engine.data import Dataset
from engine.errors import ConfigError, NNFSError
from engine.events import EpochEnded
from engine.runs import RunStore, read_metrics
from engine.sweep import (
    DASK_ENV,
    MAX_TRIALS,
    Search,
    Sweep,
    SweepError,
    Trial,
    TrialUpdate,
    parse_sample,
    resolve_workers,
    sweep_record,
)
from engine.sweep.around import sweep_around
from nnfs_tui import messages as msg
from nnfs_tui.app import NNFSApp, create_app
from nnfs_tui.dialogs.sweep import SweepDialog, check_sweep, plan_sweep
from nnfs_tui.screens.runs import RunsScreen
from nnfs_tui.screens.sweep import SweepScreen
from nnfs_tui.sweeps import TrialRelay
from nnfs_tui.widgets.header import ScreenHeader
from tests.tui.helpers import LONG, SMALL, toasts, wait_for


def engine_message(call, *args, **kwargs) -> str:  # noqa: ANN001
    with pytest.raises((ConfigError, NNFSError)) as info:
        call(*args, **kwargs)
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


def sweep_ended(app: NNFSApp) -> bool:
    """The sweep's driver returned and the app has shown its end."""
    return not app.controller.sweeps.running and app.controller.sweeps.done.is_set()


def statuses(app: NNFSApp) -> list[str]:
    """The status cell of every row of the sweep view's table, top to bottom."""
    table = app.controller.sweeps.view.table
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


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
        assert app.controller.runs_started == 0 and not app.controller.sweeps.running
        assert app.run_state == "idle"
    assert RunStore(tmp_path).list() == []


async def test_the_dialogs_scale_out_fields_are_checked_by_the_engine(
        small_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers, cluster, search, budget and pruning: each bad value gets the engine's words
    (those of ``nnfs-train sweep``); the cluster field starts from NNFS_DASK_SCHEDULER."""
    monkeypatch.setenv(DASK_ENV, "tcp://127.0.0.1:8786")
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#cluster", Input).value == "tcp://127.0.0.1:8786"
        assert dialog.query_one("#workers", Input).value == "auto"
        assert "on the Dask cluster at tcp://127.0.0.1:8786" in dialog.summary
        await type_into(pilot, dialog, "workers", "0")
        assert dialog.error == "workers: 0 is not valid; expected 'auto' or a whole number ≥ 1"
        await type_into(pilot, dialog, "workers", "64")  # a cluster may have many
        assert dialog.error == ""
        await type_into(pilot, dialog, "cluster", "")  # this machine: at most its cores
        assert dialog.error == engine_message(resolve_workers, "64")
        await type_into(pilot, dialog, "workers", "2")
        assert dialog.error == "" and "2 at once" in dialog.summary

        await type_into(pilot, dialog, "search", "bayes")
        assert dialog.error == engine_message(Search, SMALL, search="bayes")
        await type_into(pilot, dialog, "search", "tpe")  # no budget yet
        assert dialog.error == engine_message(Search, SMALL, {"learning_rate": [0.005]},
                                              search="tpe")
        await type_into(pilot, dialog, "budget", "x")
        assert dialog.error == "budget: x is not valid; expected a whole number"
        await type_into(pilot, dialog, "budget", "6")
        assert dialog.error == "" and dialog.summary.startswith(
            "6 trials chosen by tpe search (seed 0) over learning_rate, hidden_sizes, 2 at once")
        await type_into(pilot, dialog, "prune", "hyperband")
        assert dialog.error == "prune: hyperband is not valid; expected one of asha, median, none"
        await type_into(pilot, dialog, "prune", "asha")
        assert dialog.error == "" and "pruned by asha" in dialog.summary
        settings = dialog.settings
        assert settings is not None and (settings.search, settings.budget, settings.prune,
                                         settings.workers, settings.cluster) == (
            "tpe", 6, "asha", "2", "")
        await pilot.press("escape")
    assert RunStore(tmp_path).list() == []


async def test_a_two_worker_sweep_shows_every_trial_in_the_view_and_records_them(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "learning_rate: 0.005 0.01 0.02")
        await type_into(pilot, dialog, "vary-1", "hidden_sizes: 16")
        await type_into(pilot, dialog, "workers", "2")
        assert dialog.summary.startswith("3 trials of 2 epochs, 2 at once")
        await type_into(pilot, dialog, "vary-1", "hidden_sizes: 16")  # Enter from here on
        # Enter walks the fields (vary-2, samples, draws, seed, workers, cluster, search,
        # budget, pruning, Start) before it starts
        assert await start_by_keys(pilot, dialog) == 11
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
        view = app.screen
        assert len(statuses(app)) == 3  # a grid: every planned trial is shown
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert app.run_state == "completed" and app.screen is view
        assert statuses(app) == ["completed"] * 3
        assert view.sweep_state == "completed" and view.finished == 3
        assert view.has_class("-ended")
        assert all(row.score is not None and row.epoch == 2 for row in view.rows.values())
        assert len(view.ranked()) == 3 and view.plot.labels  # the leaders' curves
        leaders = str(view.query_one("#sweep-leaders").render())
        assert leaders.startswith("Leaderboard\n1. ")
        log = app.train_screen.log_view.text
        assert "3 trials (grid search, pruning none) on 2 workers" in log
        assert f"Sweep {view.sweep_name} done: 3 trials (3 completed). Best: " in log
        assert app.train_screen.form.config() == SMALL  # the form never changed
        assert app.controller.runs_started == 0  # the app itself trained nothing

        await pilot.press("escape")  # back to the form; F2 ranks the trials
        await wait_for(pilot, lambda: app.screen is app.train_screen, "the train screen")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the Runs screen")
    runs = RunStore(tmp_path).list()
    assert sorted((r.config.learning_rate, r.status) for r in runs) == [
        (0.005, "completed"), (0.01, "completed"), (0.02, "completed")]
    for run in runs:
        assert run.name.startswith(view.sweep_name + "-")
        assert run.config == SMALL.replace(learning_rate=run.config.learning_rate,
                                           hidden_sizes=(16,))
        assert run.epochs_completed == 2 and run.test_acc is not None
    doc = sweep_record(RunStore(tmp_path), view.sweep_name)
    assert doc["status"] == "completed" and doc["where"] == "2 local processes"
    assert [t["status"] for t in doc["trials_run"]] == ["completed"] * 3


async def test_f7_stops_the_whole_sweep_and_f12_toggles_its_view(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path, epochs=LONG)
    async with app.run_test(size=(100, 32)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "learning_rate: 0.005 0.01 0.02")
        await type_into(pilot, dialog, "workers", "2")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen), "the sweep view")
        view = app.screen
        await wait_for(pilot, lambda: sum(r.epoch >= 1 for r in view.rows.values()) == 2,
                       "both workers' first epochs")
        assert statuses(app).count("running") == 2 and statuses(app)[2] == "queued"
        assert len(view.plot.labels) == 2  # the two running trials' curves
        # every header says it is a sweep, not a single run
        assert app.run_status.startswith("sweep trial 2/3 · ")
        assert "sweep trial 2/3" in str(view.query_one(ScreenHeader).render())
        await pilot.press("f6")  # trials do not pause: one line says so
        await pilot.pause()
        log = app.train_screen.log_view.text
        assert log.count("F6 does nothing during a sweep") == 1
        assert statuses(app).count("running") == 2
        await pilot.press("f12")  # hides the view; the sweep goes on
        await wait_for(pilot, lambda: app.screen is app.train_screen, "the train screen")
        await pilot.press("f12")  # shows it again, up to date
        await wait_for(pilot, lambda: app.screen is view, "the view again")
        await pilot.press("f7")
        assert app.run_state in ("stopping", "stopped")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to stop")
        await pilot.pause(0.1)
        assert app.run_state == "stopped" and view.sweep_state == "stopped"
        assert "stopped" in str(view.query_one("#sweep-header").render())
        log = app.train_screen.log_view.text
        assert f"Stopping sweep {view.sweep_name}: running trials stop at their next batch" in log
        assert ("continue with Resume sweep (Ctrl+P) or: nnfs-train sweep --resume "
                f"{view.sweep_name}") in log
        assert statuses(app) == ["interrupted", "interrupted", "queued"]
    doc = sweep_record(RunStore(tmp_path), view.sweep_name)
    assert doc["status"] == "stopped"
    assert [t["status"] for t in doc["trials_run"]] == ["interrupted", "interrupted"]
    assert sorted(r.status for r in RunStore(tmp_path).list()) == ["stopped", "stopped"]


async def test_a_pruned_trial_is_shown_and_recorded_as_pruned(
        small_dataset: Dataset, tmp_path: Path) -> None:
    base = TrainConfig(hidden_sizes=(16,), epochs=3, batch_size=100, seed=0, subset=1500,
                       learning_rate=0.05, optimizer="sgd", val_fraction=500 / 60000)
    app = create_app(base, dataset=small_dataset, timing=False, runs_dir=tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(check_sweep(base, ["learning_rate: 0.1 0.2 1e-05"],
                                                prune="asha", workers="1"), "asha")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert statuses(app) == ["completed", "completed", "pruned"]
        pruned = app.controller.sweeps.view.rows[2]
        assert 1 <= pruned.epoch < 3 and pruned.score is not None
        assert app.run_state == "completed"
    assert RunStore(tmp_path).load("asha-002").status == "pruned"


async def test_a_diverged_trial_is_recorded_and_the_next_one_runs(
        small_dataset: Dataset, tmp_path: Path) -> None:
    base = SMALL.replace(hidden_sizes=(8,), optimizer="sgd", activation="leaky_relu", epochs=1)
    app = create_app(base, dataset=small_dataset, timing=False, runs_dir=tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(check_sweep(base, ["learning_rate: 1000 0.05"],
                                                workers="1"))
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert statuses(app) == ["diverged", "completed"] and app.run_state == "completed"
        assert "done: 2 trials (1 completed, 1 diverged)." in app.train_screen.log_view.text
    runs = RunStore(tmp_path).list()
    assert sorted((r.config.learning_rate, r.status) for r in runs) == [
        (0.05, "completed"), (1000.0, "diverged")]


async def test_a_sweep_over_two_fields_ends_with_its_labels_shown_as_typed(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """The end-of-sweep toast names the best trial like ``[hidden_sizes=16, epochs=1]``:
    plain text, not markup (it used to stop the app with a MarkupError)."""
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.controller.sweeps.start(check_sweep(SMALL, ["hidden_sizes: 16", "epochs: 1 2"],
                                                workers="1"))
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.2)
        assert app.is_running and app.run_state == "completed"
        shown = toasts(app)
        assert any("Best: " in t and "[hidden_sizes=16, epochs=" in t for t in shown), shown


async def test_a_sweep_that_cannot_start_says_why_and_leaves_the_app_idle(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """Nothing listens at the cluster's address: one clear line, and the app can run again."""
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        settings = check_sweep(SMALL, ["learning_rate: 0.005 0.01"], workers="1")
        app.controller.sweeps.executor_for = _unreachable
        app.controller.sweeps.start(settings)
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert app.run_state == "failed"
        assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in (
            app.train_screen.log_view.text)
        assert not app.controller.active  # F5 may start a run again


def _unreachable(settings):  # noqa: ANN001, ANN202
    raise SweepError("cannot reach the Dask scheduler at tcp://127.0.0.1:9: refused")


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


async def _finished_sweep(pilot: Pilot) -> None:
    """A seeded two-trial sweep trained in this process, ended, its view settled."""
    app = pilot.app
    await wait_for(pilot, lambda: app.train_screen.query("DigitViewer"), "the screen")
    await wait_for(pilot, lambda: app.train_screen.digits.dataset is not None, "the images")
    app.controller.sweeps.start(check_sweep(SMALL, ["learning_rate: 0.005 0.02",
                                                   "hidden_sizes: 16"], workers="1"),
                                "sweep-demo")
    await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
    await pilot.pause(0.2)  # the end's toast is posted, then cleared
    app.clear_notifications()
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"),
                                  pytest.param((120, 40), id="120x40")])
def test_sweep_view_snapshot(snap_compare, small_dataset: Dataset, tmp_path: Path,  # noqa: ANN001
                             size: tuple[int, int]) -> None:
    """The sweep view after a seeded sweep: trials, leaderboard, the leaders' curves."""
    assert snap_compare(make(small_dataset, tmp_path), terminal_size=size,
                        run_before=_finished_sweep)


def test_the_relay_throttles_epochs_per_trial_and_never_drops_the_last() -> None:
    """Epoch messages of a trial come at most once per interval; the newest waits and goes
    out before the trial's end; each carries the whole curve so far (so one may replace an
    older one still queued)."""
    posted: list[object] = []
    relay = TrialRelay("s", posted.append, interval=3600.0)
    trial = Trial(0, SMALL.replace(epochs=3), {"learning_rate": 0.01})

    def epoch(n: int) -> EpochEnded:
        return EpochEnded(epoch=n, epochs=3, epoch_seconds=0.1, train_loss=1.0, train_acc=0.5,
                          val_loss=1.0, val_acc=0.5 + n / 10, test_loss=1.0, test_acc=0.4,
                          lr=0.01)

    relay(TrialUpdate(trial, "queued", "s-000"))
    relay(TrialUpdate(trial, "running", "s-000"))
    for n in (1, 2, 3):
        relay(TrialUpdate(trial, "running", "s-000", event=epoch(n)))
    relay(TrialUpdate(trial, "completed", "s-000"))
    kinds = [type(m).__name__ for m in posted]
    assert kinds == ["TrialQueued", "TrialStarted", "TrialEpoch", "TrialEpoch", "TrialEnded"]
    first, last = posted[2], posted[3]
    assert isinstance(first, msg.TrialEpoch) and isinstance(last, msg.TrialEpoch)
    assert first.epoch == 1 and last.epoch == 3  # epoch 2 was coalesced into epoch 3's
    assert last.curve == ((1.0, 60.0), (2.0, 70.0), (3.0, 80.0))
    assert last.can_replace(first) and not last.can_replace(
        msg.TrialEpoch("s", "s-001", 1, 3, 0.5, ()))
    assert posted[0].varied == (("learning_rate", "0.01"),)


async def test_quitting_during_a_sweep_stops_it_and_leaves_it_resumable(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path, epochs=LONG)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(check_sweep(app.initial_config,
                                                ["learning_rate: 0.005 0.01"], workers="2"),
                                    "quit")
        view = app.controller.sweeps.view
        await wait_for(pilot, lambda: all(r.epoch >= 1 for r in view.rows.values()),
                       "both trials' first epochs")
        await pilot.press("f10")
        await wait_for(pilot, lambda: not app.is_running, "the app to exit")
    assert app.controller.sweeps.done.wait(30)
    doc = sweep_record(RunStore(tmp_path), "quit")
    assert doc["status"] == "stopped"
    assert [t["status"] for t in doc["trials_run"]] == ["interrupted", "interrupted"]
    for entry in doc["trials_run"]:
        assert (tmp_path / entry["run"] / "last.npz").exists()  # resumable from there


async def test_a_stopped_sweep_resumes_from_the_palette_where_it_stopped(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path, epochs=20)
    async with app.run_test(size=(100, 32)) as pilot:
        sweeps = app.controller.sweeps
        sweeps.resume()  # nothing stopped yet: says so
        assert "No stopped sweep to resume" in app.train_screen.log_view.text
        sweeps.start(check_sweep(app.initial_config, ["learning_rate: 0.005 0.01"],
                                 workers="1"), "again")
        first = sweeps.view
        await wait_for(pilot, lambda: first.rows[0].epoch >= 1, "the first trial's epoch")
        await pilot.press("f7")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to stop")
        assert first.sweep_state == "stopped" and statuses(app)[0] == "interrupted"
        assert "Resume sweep" in [c.title for c in app.get_system_commands(app.screen)]
        sweeps.resume()
        assert sweeps.running and sweeps.view is not first
        await wait_for(pilot, lambda: sweep_ended(app), "the resumed sweep to end")
        await pilot.pause(0.1)
        assert app.run_state == "completed" and statuses(app) == ["completed", "completed"]
        assert "Sweep again: resumed, 2 trials" in app.train_screen.log_view.text
    store = RunStore(tmp_path)
    assert sweep_record(store, "again")["status"] == "completed"
    epochs = [r["epoch"] for r in read_metrics(store.path_of("again-000") / "metrics.csv")]
    assert epochs == list(range(1, 21))  # went on from its last epoch, none twice


async def test_a_sweep_on_a_dask_cluster_given_by_its_address(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """The dialog's cluster field: trials train on the Dask workers, records come home."""
    distributed = pytest.importorskip("distributed")  # installed by make ([cluster] extra)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=1, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster:
        app = make(small_dataset, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            app.controller.sweeps.start(check_sweep(
                SMALL, ["learning_rate: 0.005 0.01"], cluster=cluster.scheduler_address),
                "dask")
            await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
            await pilot.pause(0.1)
            assert statuses(app) == ["completed", "completed"]
            header = str(app.controller.sweeps.view.query_one("#sweep-header").render())
            assert cluster.scheduler_address in header
    doc = sweep_record(RunStore(tmp_path), "dask")
    assert doc["where"].startswith(f"Dask cluster {cluster.scheduler_address}")
    assert [r.status for r in RunStore(tmp_path).list()] == ["completed", "completed"]


def tiny_dataset() -> Dataset:
    """A synthetic dataset, nothing like MNIST: 4x4 images of 3 classes."""
    rng = np.random.default_rng(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, n).astype(np.uint8)
        return (rng.integers(0, 60, (n, 16)) + 60 * y[:, None]).astype(np.uint8), y

    (xt, yt), (xv, yv), (xs, ys) = split(300), split(60), split(90)
    return Dataset("tiny", xt, yt, xv, yv, xs, ys, (4, 4), ("a", "b", "c"))


async def test_a_sweep_trains_on_the_dataset_the_app_was_given(tmp_path: Path) -> None:
    """``create_app(dataset=...)``: the sweep's trials train on it (sent to each of the two
    worker processes once), not on the bundled MNIST."""
    base = SMALL.replace(hidden_sizes=(8,), optimizer="sgd", batch_size=10, epochs=3)
    app = create_app(base, dataset=tiny_dataset(), timing=False, runs_dir=tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(check_sweep(base, ["learning_rate: 0.2 0.5"],
                                                workers="2"), "tiny")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert statuses(app) == ["completed", "completed"]
    for run in RunStore(tmp_path).list():
        assert load_checkpoint(run.path / "final.npz").sizes == (16, 8, 3)  # not 784 .. 10
        assert run.best_val_acc is not None and run.best_val_acc > 0.7  # chance: 1/3


def cells(app: NNFSApp, column: int) -> list[str]:
    """One column of the sweep view's table, top to bottom."""
    table = app.controller.sweeps.view.table
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def test_a_stopped_sweep_counts_its_trials_truly_and_resumes_showing_their_epochs(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        sweeps = app.controller.sweeps
        sweeps.start(check_sweep(app.initial_config, ["epochs: 2 500 2"], workers="1"),
                     "counts")
        view = sweeps.view
        await wait_for(pilot, lambda: view.rows[1].epoch >= 1, "the second trial's epoch")
        await pilot.press("f7")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to stop")
        await pilot.pause(0.1)
        assert statuses(app) == ["completed", "interrupted", "queued"]
        assert cells(app, 3) == ["2/2", f"{view.rows[1].epoch}/500", "-"]
        header = str(view.query_one("#sweep-header").render())
        assert "1/3 done (1 completed, 1 interrupted, 1 queued)" in header
        log = app.train_screen.log_view.text
        assert ("Sweep counts stopped: 1 of 3 trials finished (1 completed), 1 interrupted; "
                "continue with Resume sweep (Ctrl+P) or: nnfs-train sweep --resume counts. "
                "Best so far: counts-") in log
        interrupted_at = view.rows[1].epoch
        sweeps.resume()
        await wait_for(pilot, lambda: sweeps.view is not view, "the resumed view")
        await pilot.pause(0.1)
        assert cells(app, 3)[0] == "2/2"  # the finished trial keeps its epochs
        assert cells(app, 3)[1] in (f"{interrupted_at}/500", f"{interrupted_at + 1}/500")
        sweeps.stop()
        await wait_for(pilot, lambda: sweep_ended(app), "the resumed sweep to stop")
        await pilot.pause(0.1)
        assert "Sweep counts stopped: 1 of 3 trials finished (1 completed), 1 interrupted" in (
            app.train_screen.log_view.text)


async def test_a_finished_sweep_of_one_trial_says_trial_not_trials(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        app.controller.sweeps.start(check_sweep(app.initial_config, ["epochs: 1"],
                                                workers="1"), "one")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.pause(0.1)
        assert "Sweep one done: 1 trial (1 completed). Best: one-000" in (
            app.train_screen.log_view.text)


async def test_f12_after_a_sweep_starts_from_its_fields_with_the_next_seed(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """The dialog remembers the session's last sweep; a random search proposes the next
    seed, so the new sweep draws new values; the summary says which seed."""
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "hidden_sizes: 8 16")
        await type_into(pilot, dialog, "vary-1", "")
        await type_into(pilot, dialog, "sample", "learning_rate=log:1e-3:1e-1")
        await type_into(pilot, dialog, "workers", "1")
        await type_into(pilot, dialog, "search", "random")
        await type_into(pilot, dialog, "budget", "2")
        await type_into(pilot, dialog, "prune", "median")
        assert "random search (seed 0)" in dialog.summary
        await pilot.click("#ok")
        await wait_for(pilot, lambda: sweep_ended(app), "the sweep to end")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.train_screen, "the train screen")
        dialog = await open_dialog(pilot)
        value = {field.id: field.value for field in dialog.query(Input)}
        assert [line.value for line in dialog.vary_lines] == ["hidden_sizes: 8 16", "", ""]
        assert (value["sample"], value["search"], value["budget"], value["prune"],
                value["seed"], value["workers"]) == (
            "learning_rate=log:1e-3:1e-1", "random", "2", "median", "1", "1")
        assert "random search (seed 1)" in dialog.summary
        assert app.focused is dialog.query_one("#vary-0", Input)  # Enter does not start it
        await type_into(pilot, dialog, "search", "grid")  # grid: the seed is kept as it is
        await pilot.press("escape")


async def test_the_dialog_lists_the_choices_and_refuses_a_bad_cluster_address(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        labels = " ".join(str(label.render()) for label in dialog.query("Label"))
        assert "grid, random or tpe" in labels and "none, asha or median" in labels
        for bad in ("x", "tcp://", "tcp://host", "host:port", "http://h:8786", "h:99999"):
            await type_into(pilot, dialog, "cluster", bad)
            assert dialog.error == (f"cluster: {bad} is not valid; expected tcp://HOST:PORT, "
                                    "tls://HOST:PORT or HOST:PORT"), bad
            assert dialog.settings is None
        for good in ("tcp://127.0.0.1:8786", "tls://sched.example.org:8786", "10.0.0.2:8786"):
            await type_into(pilot, dialog, "cluster", good)
            assert dialog.error == "" and f"on the Dask cluster at {good}" in dialog.summary
        await pilot.press("escape")
    with pytest.raises(ConfigError, match="cluster: x is not valid"):
        Sweep(SMALL, store=RunStore(tmp_path), vary=[("epochs", ["1"])], cluster="x")


async def test_only_the_first_empty_grid_line_shows_the_example(
        small_dataset: Dataset, tmp_path: Path) -> None:
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot)
        await type_into(pilot, dialog, "vary-0", "")
        await type_into(pilot, dialog, "vary-1", "")
        hints = [bool(line.placeholder) for line in dialog.vary_lines]
        assert hints == [True, False, False]
        await type_into(pilot, dialog, "vary-0", "epochs: 1 2")
        assert [bool(line.placeholder) for line in dialog.vary_lines] == [False, True, False]
        await pilot.press("escape")


async def test_a_sweep_around_a_run_says_its_other_fields_are_the_run_s(
        small_dataset: Dataset, tmp_path: Path) -> None:
    run = SMALL.replace(epochs=100)
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.train_screen.query("DigitViewer"), "the screen")
        dialog = SweepDialog(run, sweep_around(run), around="20261202-033031-64-adam")
        await app.push_screen(dialog)
        await wait_for(pilot, lambda: app.screen is dialog, "the dialog")
        assert "of 100 epochs" in dialog.summary
        assert "other fields as in run 20261202-033031-64-adam" in dialog.summary
        assert "the form" not in dialog.summary
        await pilot.press("escape")


async def test_the_sweep_view_footer_fits_80_columns_and_shows_f1_help(
        small_dataset: Dataset, tmp_path: Path) -> None:
    """At 80x24 the sweep view's footer keeps F1 Help and no key runs off the edge."""
    app = make(small_dataset, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _finished_sweep(pilot)
        assert isinstance(app.screen, SweepScreen)
        footer = app.screen.query_one("FittedFooter")
        keys = list(footer.query("FooterKey"))
        assert "f1" in [k.key for k in keys]
        assert all(k.region.right <= footer.region.right for k in keys)
