"""The Runs screen and the save / load dialogs, driven by keys through Pilot.

The runs are real: each trained for an epoch or two on the 2,000-image subset and recorded
by RunRecorder, plus the directories a crash leaves behind (a half-written run, one whose
process died) and a run that diverged.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, OptionList

from engine.config import FIELDS, TrainConfig, format_field
from engine.data import Dataset
from engine.events import EpochEnded, LiveChange, RunFinished
from engine.runs import TABLE_COLUMNS, RunStore
from engine.session import RunSession
from engine.training import Trainer
from nnfs_tui.dialogs import (
    ConfigDiffDialog,
    ConfirmDialog,
    ExportDialog,
    LoadCheckpointDialog,
    SaveModelDialog,
)
from nnfs_tui.screens import runs as runs_screen
from nnfs_tui.screens.runs import RunsResult, RunsScreen
from nnfs_tui.widgets.runs_table import HEADERS, RunsTable
from tests.tui.helpers import SMALL, wait_for

#: name -> config of the runs that train to the end.
TRAINED: dict[str, TrainConfig] = {
    "a-adam-8": SMALL.replace(hidden_sizes=(8,), epochs=1),
    "b-sgd-16": SMALL.replace(hidden_sizes=(16,), optimizer="sgd", learning_rate=0.1),
    "c-tanh-16": SMALL.replace(hidden_sizes=(16,), activation="tanh"),
    "d-momentum-8": SMALL.replace(hidden_sizes=(8,), optimizer="momentum",
                                  learning_rate=0.05, epochs=1),
    "e-adam-16": SMALL.replace(hidden_sizes=(16,), learning_rate=0.01, seed=1),
    "f-diverged": SMALL.replace(hidden_sizes=(8,), optimizer="sgd", learning_rate=1000.0,
                                activation="leaky_relu"),
}
HALF_WRITTEN = "g-half-written"
INTERRUPTED = "h-interrupted"
ALL = [*TRAINED, HALF_WRITTEN, INTERRUPTED]
COMPLETED = ["a-adam-8", "b-sgd-16", "c-tanh-16", "d-momentum-8", "e-adam-16"]


def record(store: RunStore, name: str, config: TrainConfig, dataset: Dataset) -> None:
    RunSession(config, dataset=dataset, store=store, name=name, threads=1).run()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, small_dataset: Dataset) -> Path:
    """A runs directory with every kind of run, built once; tests work on copies."""
    root = tmp_path_factory.mktemp("runs-template")
    store = RunStore(root)
    for name, config in TRAINED.items():
        record(store, name, config, small_dataset)
    # killed while writing its first file: config.json is cut short, run.json never came
    (root / HALF_WRITTEN).mkdir()
    (root / HALF_WRITTEN / "config.json").write_text('{"hidden_sizes": [8')
    # its process died mid-run: "running" with a pid that is gone, and NaN / inf on disk
    recorder = store.create(SMALL.replace(hidden_sizes=(8,)), INTERRUPTED)
    meta = json.loads((recorder.path / "run.json").read_text())
    meta.update(pid=999_999_999, best_val_acc=float("nan"), test_acc=float("inf"))
    (recorder.path / "run.json").write_text(json.dumps(meta))
    (recorder.path / "metrics.csv").write_text(
        "epoch,epoch_seconds,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,step\n"
        "1,0.1,2.0,0.3,nan,nan,inf,-inf,0.005,15\n")
    return root


@pytest.fixture
def store(template: Path, tmp_path: Path) -> RunStore:
    root = tmp_path / "runs"
    shutil.copytree(template, root)
    return RunStore(root)


class RunsApp(App[None]):
    """Just the Runs screen; what it returns is kept in ``results``."""

    def __init__(self, store: RunStore, selected: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.store = store
        self.selected = selected
        self.results: list[RunsResult | None] = []

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.store, timing=False, selected=self.selected),
                         self.results.append)


class DialogApp(App[None]):
    """Pushes one dialog; what it returns is kept in ``results``."""

    def __init__(self, dialog: Screen) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


async def opened(pilot: Pilot) -> RunsScreen:
    """The Runs screen once its worker has read the store and the rows are laid out."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunsScreen)
                   and pilot.app.screen.query(RunsTable)
                   and pilot.app.screen.table.row_count > 0, "the runs table")
    screen = pilot.app.screen
    await pilot.pause()  # the rows may have changed the layout: let the table refit first
    await wait_for(pilot, lambda: screen.table.fitted, "the columns to fit the width")
    return screen


async def runs_read(pilot: Pilot) -> RunsScreen:
    """The Runs screen once its worker has read the store (an empty one too)."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunsScreen)
                   and pilot.app.screen.loaded, "the runs to be read")
    return pilot.app.screen


def shown_names(screen: RunsScreen) -> list[str]:
    return [run.name for run in screen.shown_runs]


def cell(screen: RunsScreen, name: str, column: str) -> str:
    return str(screen.table.get_cell(name, column)).strip() or " "


async def highlight(pilot: Pilot, screen: RunsScreen, name: str) -> None:
    screen.table.move_cursor(row=shown_names(screen).index(name))
    await pilot.pause()
    assert screen.highlighted.name == name


async def test_the_table_lists_every_run_with_its_values(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        assert sorted(shown_names(screen)) == sorted(ALL)
        assert [c.key.value for c in screen.table.ordered_columns] == ["mark", *TABLE_COLUMNS]
        assert tuple(HEADERS) == TABLE_COLUMNS  # the CSV export has the table's columns
        for name in COMPLETED:
            info = store.load(name)
            config = TRAINED[name]
            assert cell(screen, name, "architecture") == "784-" + "-".join(
                map(str, config.hidden_sizes)) + "-10"
            assert cell(screen, name, "activation") == config.activation
            assert cell(screen, name, "optimizer") == config.optimizer
            assert cell(screen, name, "learning_rate") == format_field(
                "learning_rate", config.learning_rate)
            assert cell(screen, name, "batch_size") == "128"
            assert cell(screen, name, "epochs") == str(config.epochs)
            assert cell(screen, name, "test_acc") == f"{100 * info.test_acc:.2f}%"
            assert cell(screen, name, "best_val_acc") == f"{100 * info.best_val_acc:.2f}%"
            assert cell(screen, name, "status") == "completed"
        assert cell(screen, "f-diverged", "status") == "diverged"
        assert cell(screen, "f-diverged", "test_acc") == "-"
        assert cell(screen, HALF_WRITTEN, "status") == "incomplete"
        assert cell(screen, INTERRUPTED, "status") == "interrupted"
        # NaN and inf on disk reach the table as "-"
        assert cell(screen, INTERRUPTED, "best_val_acc") == "-"
        assert cell(screen, INTERRUPTED, "test_acc") == "-"
        for name in ALL:
            for value in screen.table.get_row(name):
                assert not {"nan", "inf"} & set(str(value).lower().replace("-", " ").split())


async def test_sorting_by_test_accuracy_orders_the_rows(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("s", *["down"] * HEADERS_INDEX["test_acc"], "enter")
        accuracies = [store.load(name).test_acc for name in shown_names(screen)]
        known = [a for a in accuracies if a is not None]
        assert len(known) == len(COMPLETED)
        assert known == sorted(known, reverse=True)  # best first
        assert accuracies[:len(known)] == known  # runs without one at the end
        assert str(screen.table.columns["test_acc"].label) == " test▼"
        assert screen.highlighted.name == screen.shown_runs[screen.table.cursor_row].name

        await pilot.press("S")  # reverse: worst first, runs without a value still last
        accuracies = [store.load(name).test_acc for name in shown_names(screen)]
        assert accuracies[:len(known)] == sorted(known)
        assert accuracies[len(known):] == [None] * (len(ALL) - len(known))

        # clicking a header sorts by that column
        table = screen.table
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:2]) + 1
        await pilot.click(RunsTable, offset=(x, 0))  # the "architecture" header
        assert screen.sort_column == "architecture"
        sizes = [TRAINED[n].hidden_sizes for n in shown_names(screen) if n in TRAINED]
        assert sizes == sorted(sizes)


async def test_the_filter_narrows_the_rows(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash")
        assert screen.filter_input.has_focus
        await pilot.press(*"sgd")
        assert sorted(shown_names(screen)) == ["b-sgd-16", "f-diverged"]
        await pilot.press("ctrl+u", *"adam -16")  # every word must match
        assert sorted(shown_names(screen)) == ["c-tanh-16", "e-adam-16"]
        await pilot.press("ctrl+u", *"TANH")
        assert shown_names(screen) == ["c-tanh-16"]
        await pilot.press("ctrl+u", *"inter")
        assert shown_names(screen) == [INTERRUPTED]
        await pilot.press("enter")  # back to the table, where letters are keys again
        assert screen.table.has_focus
        await pilot.press("slash", "ctrl+u", "escape")
        assert screen.table.has_focus and len(shown_names(screen)) == len(ALL)
        assert isinstance(app.screen, RunsScreen)  # Esc left the filter, not the screen


async def test_five_selected_runs_are_five_labelled_curves_on_each_plot(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        for name in COMPLETED:
            await highlight(pilot, screen, name)
            await pilot.press("space")
        assert list(screen.selected) == COMPLETED
        for plot in (screen.loss_plot, screen.accuracy_plot):
            assert plot.labels == COMPLETED
            styles = [curve.style for curve in plot.curves]
            assert len({s.rgb for s in styles}) == 5 and len({s.marker for s in styles}) == 5
        for curve, name in zip(screen.accuracy_plot.curves, COMPLETED, strict=True):
            epochs = TRAINED[name].epochs
            history = [row["test_acc"] for row in store.load(name).metrics()]
            assert [x for x, _ in curve.points] == [float(e) for e in range(1, epochs + 1)]
            assert [y for _, y in curve.points] == [100 * a for a in history]
            assert cell(screen, name, "mark") == curve.style.marker  # the table is the key
        legend = str(screen.query_one("#runs-legend").render())
        assert all(name in legend for name in COMPLETED)
        await pilot.press("m")  # validation curves instead
        assert screen.split == "val" and screen.loss_plot.y_label == "val loss"
        assert screen.loss_plot.labels == COMPLETED
        await highlight(pilot, screen, "c-tanh-16")
        await pilot.press("space")  # unselect one
        assert screen.accuracy_plot.labels == [n for n in COMPLETED if n != "c-tanh-16"]
        assert cell(screen, "c-tanh-16", "mark") == " "


async def test_the_diff_shows_exactly_the_fields_that_differ(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await highlight(pilot, screen, "a-adam-8")
        await pilot.press("space", "d")  # one selected: no diff, a hint
        assert app.screen is screen
        await highlight(pilot, screen, "b-sgd-16")
        await pilot.press("space", "d")
        dialog = app.screen
        assert isinstance(dialog, ConfigDiffDialog)
        a, b = TRAINED["a-adam-8"], TRAINED["b-sgd-16"]
        differ = sorted(k for k in FIELDS if getattr(a, k) != getattr(b, k))
        assert differ == ["epochs", "hidden_sizes", "learning_rate", "optimizer"]
        assert [row[0] for row in dialog.rows] == differ
        assert ("learning_rate", "0.005", "0.1") in dialog.rows
        assert ("hidden_sizes", "8", "16") in dialog.rows
        await pilot.press("escape")
        assert app.screen is screen


async def test_delete_removes_the_directory_only_after_confirming(store) -> None:
    app = RunsApp(store)
    path = store.root / "b-sgd-16"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await highlight(pilot, screen, "b-sgd-16")
        for cancel in ("n", "escape", "enter"):  # Enter by habit hits Cancel
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press(cancel)
            assert app.screen is screen
            assert path.is_dir() and "b-sgd-16" in shown_names(screen)
        await pilot.press("delete", "y")
        assert app.screen is screen
        assert not path.exists()
        assert "b-sgd-16" not in shown_names(screen) and len(shown_names(screen)) == len(ALL) - 1


async def test_export_writes_the_rows_on_screen_in_order(store, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash", *"adam", "enter")
        screen.sort_by("test_acc")
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        assert dialog.query_one(Input).value == str(tmp_path / "nnfs-runs.csv")
        await pilot.press("enter")
        assert screen.last_export == tmp_path / "nnfs-runs.csv"
        with open(tmp_path / "nnfs-runs.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["name"] for r in rows] == shown_names(screen)
        assert len(rows) == 4 and all("adam" in r["optimizer"] for r in rows)
        assert all(r["test_acc"] for r in rows[:3])  # the interrupted run's inf is empty
        assert rows[-1]["name"] == INTERRUPTED and rows[-1]["test_acc"] == ""

        await pilot.press("e")  # again: a missing directory is refused inline, then replace
        field = app.screen.query_one(Input)
        field.value = str(tmp_path / "nowhere" / "x.csv")
        await pilot.press("enter")
        assert "does not exist" in app.screen.error
        field.value = str(tmp_path / "nnfs-runs.csv")
        await pilot.press("enter")
        assert "exists" in app.screen.error
        await pilot.press("enter")
        assert app.screen is screen


@pytest.mark.parametrize(("key", "action", "checkpoint"), [
    ("r", "rerun", None), ("l", "load_config", None), ("o", "open_checkpoint", "final.npz")])
async def test_rerun_load_config_and_open_return_the_runs_config(store, small_dataset, key,
                                                                 action, checkpoint) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await highlight(pilot, screen, HALF_WRITTEN)
        await pilot.press(key)  # no readable config: an error, and the screen stays
        assert app.screen is screen and app.results == []
        await highlight(pilot, screen, "b-sgd-16")
        await pilot.press(key)
        await wait_for(pilot, lambda: app.results, "the screen's result")
    result = app.results[0]
    path = store.root / "b-sgd-16"
    assert result == RunsResult(action, TRAINED["b-sgd-16"], "b-sgd-16", path,
                                checkpoint and path / checkpoint)
    if action == "rerun":  # same config, same seed: the same run
        again = Trainer(result.config, small_dataset, threads=1).run()
        assert again.test_acc == store.load("b-sgd-16").test_acc


async def test_the_screen_survives_incomplete_interrupted_and_diverged_runs(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        for name in ("f-diverged", HALF_WRITTEN, INTERRUPTED):
            await highlight(pilot, screen, name)
            await pilot.press("space")
        assert list(screen.selected) == ["f-diverged", HALF_WRITTEN, INTERRUPTED]
        # only the interrupted run's finite training numbers are plotted; the rest is "-"
        assert screen.loss_plot.labels == []
        await pilot.press("m", "m")  # train split
        assert screen.loss_plot.labels == [INTERRUPTED]
        assert screen.loss_plot.curves[2].points == ((1.0, 2.0),)
        await highlight(pilot, screen, "f-diverged")
        assert "non-finite" in str(screen.query_one("#runs-detail").render())
        # 80 columns: the table fits; the columns left out are on the detail line
        assert screen.table.hidden and screen.table.max_scroll_x == 0
        detail = str(screen.query_one("#runs-detail").render())
        assert all(HEADERS[key] in detail for key in screen.table.hidden)
        await pilot.press("ctrl+r")  # re-read the store: the view stays where it was
        await pilot.pause()
        assert screen.highlighted.name == "f-diverged"
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results == [None], "Esc to close the screen")


async def test_new_runs_and_runs_in_progress_update_without_a_key(store, monkeypatch) -> None:
    monkeypatch.setattr(runs_screen, "AUTO_REFRESH", 0.05)
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        recorder = store.create(SMALL, "i-live")  # as a run started elsewhere would
        await wait_for(pilot, lambda: "i-live" in shown_names(screen), "the new run")
        assert cell(screen, "i-live", "status") == "running"
        recorder(EpochEnded(epoch=1, epochs=2, epoch_seconds=0.1, train_loss=1.0,
                            train_acc=0.5, val_loss=0.95, val_acc=0.55, test_loss=0.9,
                            test_acc=0.6, lr=0.005, step=15))
        await wait_for(pilot, lambda: cell(screen, "i-live", "epochs") == "1/2", "epoch 1")
        recorder(RunFinished("completed", 2, 30, 1.0, test_loss=0.8, test_acc=0.7))
        await wait_for(pilot, lambda: cell(screen, "i-live", "status") == "completed",
                       "the end of the run")
        assert cell(screen, "i-live", "test_acc") == "70.00%"


async def test_an_empty_runs_directory_says_how_runs_get_there(tmp_path) -> None:
    app = RunsApp(RunStore(tmp_path / "none-yet"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await runs_read(pilot)
        assert "No runs recorded yet" in str(screen.query_one("#runs-detail").render())
        await pilot.press("space", "d", "r", "x", "e", "m", "s", "escape")
        assert app.screen is screen


async def test_save_dialog_checks_the_directory_and_adds_npz(tmp_path) -> None:
    default = tmp_path / "run-1" / "manual.npz"
    app = DialogApp(SaveModelDialog(default))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dialog = app.screen
        assert dialog.query_one(Input).value == str(default)
        await pilot.press("enter")
        assert f"directory {tmp_path / 'run-1'} does not exist" in dialog.error
        dialog.query_one(Input).value = str(tmp_path / "model")  # typing it is slow in Pilot
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results, "the dialog's result")
    assert app.results == [tmp_path / "model.npz"]


async def test_load_dialog_shows_checkpoint_errors_inline_and_lists_recent_runs(
        store, tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    app = DialogApp(LoadCheckpointDialog(store))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dialog = app.screen
        field = dialog.query_one(Input)
        assert field.value == ""
        field.value = str(bad)  # typing it is slow in Pilot
        await pilot.press("enter")
        assert dialog.error.startswith(f"{bad}: not a checkpoint")
        field.value = str(tmp_path / "missing.npz")
        await pilot.press("enter")
        assert "file not found" in dialog.error
        recent = dialog.query_one(OptionList)
        listed = [recent.get_option_at_index(i).id for i in range(recent.option_count)]
        assert str(store.root / "b-sgd-16" / "best.npz") in listed
        assert str(store.root / "f-diverged" / "best.npz") not in listed  # never improved
        await pilot.press("down")  # into the list: the first entry fills the field
        assert recent.has_focus
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results, "the dialog's result")
    assert app.results == [Path(listed[0])]
    assert dialog.checkpoint is not None


def test_runs_screen_snapshot(snap_compare, store) -> None:  # noqa: ANN001
    """Three runs compared at 120x40."""

    async def select(pilot: Pilot) -> None:
        screen = await opened(pilot)
        await pilot.press("s", "down", "enter")  # by name: the start times differ
        await highlight(pilot, screen, "a-adam-8")
        await pilot.press("space")
        await highlight(pilot, screen, "b-sgd-16")
        await pilot.press("space", "space")  # b, then c (the cursor moves down)
        await pilot.pause()

    app = RunsApp(store)
    assert snap_compare(app, terminal_size=(120, 40), run_before=select)


# -- review fixes: live changes, kept view, direct sorting, widths, filter, recent list ------

def clone(store: RunStore, source: str, name: str, *, config: dict | None = None,
          meta: dict | None = None) -> Path:
    """A copy of a recorded run under another name, its config.json / run.json edited."""
    path = store.root / name
    shutil.copytree(store.root / source, path)
    if config:
        data = json.loads((path / "config.json").read_text())
        data.update(config)
        (path / "config.json").write_text(json.dumps(data))
    data = json.loads((path / "run.json").read_text())
    data.update(name=name, **(meta or {}))
    (path / "run.json").write_text(json.dumps(data))
    return path


# as run.json recorded them before one LiveChange per field: still read, and replayed
LIVE = [{"step": 10, "epoch": 0.67, "changes": {"learning_rate": 0.5}},
        {"step": 21, "epoch": 1.4, "changes": {"batch_size": 64, "dropout": 0.1}}]


async def test_rerun_hands_the_app_the_runs_live_changes_to_replay(store) -> None:
    clone(store, "b-sgd-16", "b-sgd-16-by-hand", meta={"live_changes": LIVE})
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await highlight(pilot, screen, "b-sgd-16-by-hand")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.results, "the screen's result")
    result = app.results[0]
    assert result.action == "rerun" and result.config == TRAINED["b-sgd-16"]
    assert result.live_changes == (LiveChange("learning_rate", 0.5, 10, 0.67),
                                   LiveChange("batch_size", 64, 21, 1.4),
                                   LiveChange("dropout", 0.1, 21, 1.4))


async def diff_of(pilot: Pilot, screen: RunsScreen, left: str, right: str) -> ConfigDiffDialog:
    for name in (left, right):
        await highlight(pilot, screen, name)
        await pilot.press("space")
    await pilot.press("d")
    assert isinstance(pilot.app.screen, ConfigDiffDialog)
    return pilot.app.screen


async def test_the_diff_lists_what_was_changed_by_hand_while_training(store) -> None:
    clone(store, "a-adam-8", "a-adam-8-by-hand", meta={"live_changes": LIVE[:1]})
    clone(store, "a-adam-8", "a-adam-8-longer", config={"epochs": 2},
          meta={"live_changes": LIVE[:1]})
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        dialog = await diff_of(pilot, screen, "a-adam-8", "a-adam-8-by-hand")
        # same config, but one run's learning rate was changed by hand: not "identical"
        assert not dialog.query("#diff-same")
        assert dialog.summary == "The configs are the same; the live changes differ:"
        assert dialog.live_lines == ["a-adam-8: nothing",
                                     "a-adam-8-by-hand: learning_rate → 0.5 at step 10 "
                                     "(epoch 0.7)"]
        await pilot.press("escape", "c")
        # epochs and a hand-made change differ: both are said, and "1 field", not "fields"
        dialog = await diff_of(pilot, screen, "a-adam-8", "a-adam-8-longer")
        assert dialog.summary == "1 config field and the live changes differ:"
        assert [row[0] for row in dialog.rows] == ["epochs"]
        await pilot.press("escape", "c")
        dialog = await diff_of(pilot, screen, "a-adam-8-by-hand", "a-adam-8-longer")
        assert dialog.summary == "1 config field differs:"
        assert dialog.live_lines[0].endswith("(the same in both runs):") is False
        assert "the same in both runs" in str(dialog.query_one("#diff-live").render())
        await pilot.press("escape", "c")
        dialog = await diff_of(pilot, screen, "a-adam-8", "b-sgd-16")
        assert dialog.summary == "4 config fields differ:" and dialog.live_lines == []


async def test_filter_sort_and_selection_are_kept_when_the_screen_opens_again(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("slash", *"adam", "enter")
        screen.sort_by("test_acc")
        await highlight(pilot, screen, "e-adam-16")
        await pilot.press("space")
        await highlight(pilot, screen, "a-adam-8")
        await pilot.press("space", "m")
        rows, cursor = shown_names(screen), screen.highlighted.name
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results == [None], "the screen to close")
        app.push_screen(RunsScreen(store, timing=False))  # as F2 does: a new screen
        again = await opened(pilot)
        assert again is not screen
        assert again.filter_input.value == "adam" and shown_names(again) == rows
        assert (again.sort_column, again.descending) == ("test_acc", True)
        assert list(again.selected) == ["e-adam-16", "a-adam-8"]
        assert cell(again, "e-adam-16", "mark") == screen.selected["e-adam-16"].marker
        assert again.highlighted.name == cursor and again.split == "val"
        # another runs directory starts afresh
        other = RunStore(store.root.parent / "other")
        shutil.copytree(store.root, other.root)
        await pilot.press("escape")
        app.push_screen(RunsScreen(other, timing=False))
        fresh = await opened(pilot)
        assert fresh.filter_input.value == "" and fresh.sort_column is None
        assert not fresh.selected


async def test_any_column_is_one_choice_away_from_the_sort_menu(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.press("s")
        menu = app.screen
        assert isinstance(menu, runs_screen.SortMenu)
        options = menu.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt)
                  for i in range(options.option_count)]
        assert len(labels) == len(HEADERS) + 1 and "test" in labels[HEADERS_INDEX["test_acc"]]
        await pilot.press(*["down"] * HEADERS_INDEX["test_acc"], "enter")
        assert app.screen is screen
        assert (screen.sort_column, screen.descending) == ("test_acc", True)  # best first
        await pilot.press("s", "enter")  # the menu opens on the current column: reverses it
        assert (screen.sort_column, screen.descending) == ("test_acc", False)
        await pilot.press("S")
        assert screen.descending
        await pilot.press("s", "escape")  # cancelled: nothing changes
        assert app.screen is screen and screen.sort_column == "test_acc"
        await pilot.press("s", "home", "enter")  # the first entry: newest first
        assert screen.sort_column is None and shown_names(screen) == [
            run.name for run in store.list()]


#: index of each column in the sort menu (0 is "newest first").
HEADERS_INDEX = {key: i + 1 for i, key in enumerate(HEADERS)}

LONG_NAMES = {"a-adam-8": "sweep-lr-20261128-131502-128-64-adam",
              "b-sgd-16": "20261128-131503-256-sgd", "c-tanh-16": "20261128-131504-16-adam"}


def column_widths(screen: RunsScreen) -> dict[str, int]:
    return {c.key.value: c.get_render_width(screen.table)
            for c in screen.table.ordered_columns}


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_table_fits_the_screen_and_sorting_does_not_move_columns(store,
                                                                           size) -> None:
    for old, new in LONG_NAMES.items():
        clone(store, old, new, meta={"seconds": 1234.5})
    app = RunsApp(store)
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot)
        table = screen.table
        widths = column_widths(screen)
        assert sum(widths.values()) <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0  # nothing cut off to the right
        shown = list(widths)
        if size == (120, 40):
            assert shown == ["mark", *TABLE_COLUMNS]
        else:  # narrow: the least useful columns make room, the results stay
            assert {"name", "test_acc", "best_val_acc", "learning_rate", "status"} <= set(shown)
            assert len(shown) < len(TABLE_COLUMNS) + 1
        for key in shown[1:]:
            for name in ["b-sgd-16", "f-diverged", INTERRUPTED]:
                text = cell(screen, name, key)
                if key != "name":  # every value whole: "completed", "20:34"
                    assert len(text) < widths[key], (key, text)
        for key in shown[1:]:  # the sort mark takes no room of its own
            screen.sort_by(key)
            await pilot.pause()
            assert column_widths(screen) == widths, key
            assert str(table.columns[key].label).strip()[-1] in "▲▼"


async def test_the_runs_footer_fits_at_120_columns_in_the_app(small_dataset, tmp_path) -> None:
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    from nnfs_tui.app import create_app

    app = create_app(SMALL, dataset=small_dataset, timing=False, runs_dir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), "the Runs screen")
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        keys = list(footer.query(FooterKey))
        assert keys and all(k.region.right <= footer.region.right for k in keys)
        shown = {k.action for k in keys}
        assert {"focus_filter", "close", "sort_menu", "diff", "toggle_parallel"} <= shown
        # no runs yet: the keys that act on a run are not offered
        assert not {"delete", "export", "open_checkpoint", "rerun", "toggle_select"} & shown


async def test_the_filter_matches_what_the_table_shows_not_the_timestamp(store) -> None:
    clone(store, "a-adam-8", "20261128-131502-8-adam")
    clone(store, "b-sgd-16", "20261128-131503-16-sgd", config={"batch_size": 64})
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        placeholder = screen.filter_input.placeholder
        assert "=" in placeholder and ">" in placeholder

        async def search(text: str) -> list[str]:
            screen.filter_input.value = text
            await pilot.pause()
            return sorted(shown_names(screen))

        assert await search("1128") == []  # the date in a generated name is not searched
        assert await search("131502") == []
        assert await search("64") == ["20261128-131503-16-sgd"]  # the batch column
        assert await search("batch=64") == ["20261128-131503-16-sgd"]
        assert await search("batch<100") == ["20261128-131503-16-sgd"]
        assert await search("sgd lr>=0.1") == ["20261128-131503-16-sgd", "b-sgd-16",
                                               "f-diverged"]
        assert await search("lr>0.5") == ["f-diverged"]
        assert await search("optimizer=momentum") == ["d-momentum-8"]
        assert await search("status=diverged") == ["f-diverged"]
        best = max(COMPLETED, key=lambda n: store.load(n).test_acc)
        top = 100 * store.load(best).test_acc
        assert best in await search(f"test>={top - 0.001:.3f}")
        assert await search(f"test>{top:.3f}") == []  # percent, as the column shows it
        assert await search("adam") == sorted(["a-adam-8", "c-tanh-16", "e-adam-16",
                                               INTERRUPTED, "20261128-131502-8-adam"])
        assert await search("colour=red") == []  # not a column: said, and nothing matches
        assert "colour" in str(screen.query_one("#runs-summary").render())
        assert await search("lr>fast") == []
        assert "lr" in str(screen.query_one("#runs-summary").render())


async def test_load_dialog_lists_manual_saves_with_each_checkpoints_own_accuracy(
        store) -> None:
    from engine.checkpoint import load_checkpoint

    run = store.root / "b-sgd-16"
    manual = run / "manual-20261128-131502.npz"
    shutil.copy(run / "best.npz", manual)
    broken = run / "manual-20261128-131503.npz"
    broken.write_bytes((run / "best.npz").read_bytes()[:300])  # cut short by a full disk
    best = load_checkpoint(run / "best.npz").history[-1]
    app = DialogApp(LoadCheckpointDialog(store))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        recent = app.screen.query_one(OptionList)
        entries = {recent.get_option_at_index(i).id: str(recent.get_option_at_index(i).prompt)
                   for i in range(recent.option_count)}
        assert str(manual) in entries
        text = entries[str(run / "best.npz")]
        assert f"epoch {best['epoch']}" in text
        assert f"val {100 * best['val_acc']:.2f}%" in text
        assert f"test {100 * best['test_acc']:.2f}%" in text
        assert entries[str(manual)].startswith("b-sgd-16/manual-20261128-131502.npz")
        assert "unreadable: not a checkpoint" in entries[str(broken)]  # listed, and says why


def test_filter_mistakes_are_named_not_silently_matching_nothing() -> None:
    from engine.runs import parse_filter

    assert parse_filter(">=1").problems == (">=1: name a column first (e.g. lr>=1)",)
    assert parse_filter("lr>nan").problems == ("lr>nan: expected a finite number",)
    assert parse_filter("lr>abc").problems == ("lr>abc: expected a finite number",)
    same = parse_filter("lr==0.01")
    assert not same.problems and same.terms == parse_filter("lr=0.01").terms
    assert parse_filter("relu lr>=1e-3").words == ("relu",)


async def test_nnfs_train_runs_lists_in_the_screens_order(store, capsys) -> None:
    """`nnfs-train runs --filter --sort --reverse` and the screen's filter and sort menu
    put the same runs in the same order (runs without a value last either way)."""
    from engine.cli import main

    def cli(*args: str) -> list[str]:
        capsys.readouterr()
        assert main(["runs", "--runs-dir", str(store.root), *args, "--json"]) == 0
        return [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]

    columns = ("test_acc", "best_val_acc", "learning_rate", "architecture", "name", "status",
               None)
    # the app takes over stdout while it runs: ask the CLI first
    expected = {(column, reverse): cli(*([] if column is None else ["--sort", column]),
                                       *(["--reverse"] if reverse else []))
                for column in columns for reverse in (False, True)}
    filtered = cli("--filter", "sgd lr>=0.1", "--sort", "test")
    assert sorted(filtered) == ["b-sgd-16", "f-diverged"]
    for reverse in (False, True):  # no test accuracy: last, whichever the direction
        assert set(expected[("test_acc", reverse)][-3:]) == {"f-diverged", HALF_WRITTEN,
                                                             INTERRUPTED}
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        for column in columns:
            screen.sort_by(column)  # as the sort menu does: the column's first direction
            await pilot.pause()
            assert shown_names(screen) == expected[(column, False)], column
            await pilot.press("S")  # reversed
            assert shown_names(screen) == expected[(column, True)], column
        screen.filter_input.value = "sgd lr>=0.1"
        await pilot.pause()
        screen.sort_by("test_acc")
        await pilot.pause()
        assert shown_names(screen) == filtered
