"""The app's parts without a running app: the event relay, curve thinning, formatting, the
keymap, the form's coverage of the config, and the ``nnfs-tui`` command line."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from engine import events as ev
from engine.config import FIELDS, TrainConfig
from nnfs_tui import messages as msg
from nnfs_tui.app import NNFSApp
from nnfs_tui.keymap import KEYMAP
from nnfs_tui.screens import HelpScreen, TrainScreen
from nnfs_tui.training import POINTS_PER_EPOCH, EventRelay
from nnfs_tui.widgets import DigitViewer
from nnfs_tui.widgets.form import FORM_ORDER
from nnfs_tui.widgets.pixels import render_image
from nnfs_tui.widgets.plots import MAX_POINTS, Series
from nnfs_tui.widgets.progress import format_duration, format_rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def batch(epoch: int, batch_no: int, per_epoch: int, loss: float = 1.0) -> ev.BatchEnded:
    return ev.BatchEnded(epoch=epoch, batch=batch_no, batches_per_epoch=per_epoch,
                         step=(epoch - 1) * per_epoch + batch_no, loss=loss, accuracy=0.5,
                         lr=0.1, samples_per_second=1000.0, elapsed=1.0)


def epoch_ended(epoch: int, step: int) -> ev.EpochEnded:
    return ev.EpochEnded(epoch=epoch, epochs=10_000, epoch_seconds=0.001, train_loss=1 / epoch,
                         train_acc=0.5, val_loss=None, val_acc=None, test_loss=2 / epoch,
                         test_acc=0.4, lr=0.1, step=step)


def layer_stats(epoch: int) -> ev.LayerStats:
    return ev.LayerStats(epoch=epoch, layers=("W1", "W2"), grad_rms=(0.1, 0.2),
                         weight_rms=(1.0, 1.0), dead_share=(0.0,))


def relay_with(posted: list, clock: FakeClock, small_dataset) -> EventRelay:  # noqa: ANN001
    return EventRelay("1", posted.append, small_dataset, interval=0.1, clock=clock)


def session_relay(posted: list, small_dataset, config: TrainConfig):  # noqa: ANN001, ANN201
    """A RunSession whose events go through a relay, as the app's worker wires them."""
    from engine.session import RunSession

    session = RunSession(config, dataset=small_dataset)
    relay = EventRelay("1", posted.append, small_dataset, interval=0.1, clock=FakeClock(),
                       snapshot=session.snapshot, stop=session.stop)
    session.on_event = relay
    return session, relay


def test_relay_throttles_batch_messages_but_smooths_every_batch(small_dataset) -> None:
    posted: list = []
    clock = FakeClock()
    relay = relay_with(posted, clock, small_dataset)
    per_epoch = 1000
    for b in range(1, per_epoch + 1):
        clock.now = b * 0.001  # a batch a millisecond: one second of training
        relay(batch(1, b, per_epoch, loss=2.0 - b / per_epoch))
    relay(epoch_ended(1, per_epoch))
    relay(layer_stats(1))
    batches = [m for m in posted if isinstance(m, msg.BatchEnded)]
    assert 10 <= len(batches) <= 12  # about ten a second
    assert batches[-1].event.batch == per_epoch  # the epoch's last batch goes out with it
    assert [type(m).__name__ for m in posted[-3:]] == ["BatchEnded", "EpochsEnded",
                                                       "LayerStatsReady"]
    points = batches[-1].loss_points
    assert POINTS_PER_EPOCH <= len(points) <= POINTS_PER_EPOCH + 1
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and xs[-1] == 1.0
    # smoothed over every batch, not only the posted ones: the EMA lags the falling loss a bit
    assert 1.0 < points[-1][1] < 1.1
    # an older queued message can be replaced by a newer one of the same epoch
    assert batches[0].can_replace(batches[1])
    assert not batches[0].can_replace(msg.BatchEnded(2, batches[1].event, ()))


def test_relay_coalesces_epochs_that_end_faster_than_it_posts_and_loses_none(
        small_dataset) -> None:
    """One-batch epochs, a thousand a second: a handful of messages, every epoch in them."""
    posted: list = []
    clock = FakeClock()
    relay = relay_with(posted, clock, small_dataset)
    for epoch in range(1, 1001):
        clock.now = epoch * 0.001
        relay(batch(epoch, 1, 1, loss=1.0 / epoch))
        relay(epoch_ended(epoch, epoch))
        relay(layer_stats(epoch))
        if epoch == 500:
            relay(ev.Paused(step=epoch))  # a pause shows everything up to it
            assert posted[-1].event.step == 500
            assert [m for m in posted if isinstance(m, msg.EpochsEnded)][-1].events[-1].epoch \
                == 500
            relay(ev.Resumed(step=epoch))
    relay(ev.RunFinished(status="stopped", epochs_completed=1000, step=1000, seconds=1.0))
    epochs = [m for m in posted if isinstance(m, msg.EpochsEnded)]
    assert len(epochs) <= 13  # about ten a second, plus the pause and the end
    assert [e.epoch for m in epochs for e in m.events] == list(range(1, 1001))
    points = [p for m in epochs for p in m.loss_points]
    assert [x for x, _ in points] == [float(e) for e in range(1, 1001)]  # one per epoch
    stats = [s.epoch for m in posted if isinstance(m, msg.LayerStatsReady) for s in m.events]
    assert stats == list(range(1, 1001))
    assert len([m for m in posted if isinstance(m, msg.BatchEnded)]) <= 13
    # in order: a batch is of the epoch after those shown, or the last batch of the epochs
    # that come right after it
    shown = 0
    for m, after in zip(posted, posted[1:], strict=False):
        if isinstance(m, msg.EpochsEnded):
            shown = m.events[-1].epoch
        elif isinstance(m, msg.BatchEnded) and m.event.epoch != shown + 1:
            assert isinstance(after, msg.EpochsEnded)
            assert after.events[-1].epoch == m.event.epoch
    assert isinstance(posted[-1], msg.RunFinished)


def test_relay_keeps_non_finite_losses_off_the_curve(small_dataset) -> None:
    posted: list = []
    clock = FakeClock()
    relay = relay_with(posted, clock, small_dataset)
    for b, loss in enumerate([1.0, math.inf, math.nan, 0.9], start=1):
        clock.now += 1
        relay(batch(1, b, 4, loss))
    points = [p for m in posted if isinstance(m, msg.BatchEnded) for p in m.loss_points]
    assert points and all(math.isfinite(y) for _, y in points)


def test_relay_hands_over_the_epochs_test_guesses_without_predicting_again(
        small_dataset) -> None:
    from engine.metrics import predict

    posted: list = []
    config = TrainConfig(hidden_sizes=(8,), subset=2000, val_fraction=0.1, epochs=2)
    session, _ = session_relay(posted, small_dataset, config)
    session.run()
    trainer = session.trainer
    kinds = [type(m).__name__ for m in posted]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert not [m for m in posted if isinstance(m, msg.ModelSnapshot)]  # none needed
    ready = [m for m in posted if isinstance(m, msg.PredictionsReady)]
    assert [r.epoch for r in ready] == [1, 2]
    first, final = ready
    assert first.can_replace(final)
    predicted, probabilities = predict(trainer.network, small_dataset.x_test)
    np.testing.assert_array_equal(final.predicted, predicted)
    np.testing.assert_allclose(final.probabilities, probabilities, rtol=1e-5, atol=1e-7)
    assert not np.array_equal(first.probabilities, final.probabilities)
    assert not final.predicted.flags.writeable  # read-only copies travel
    # the guesses match the accuracy the epoch reported
    assert np.mean(final.predicted == small_dataset.y_test) == trainer.history[-1]["test_acc"]


def test_a_detached_model_copy_shares_nothing_with_the_running_model(small_dataset) -> None:
    from engine.training import Trainer

    trainer = Trainer(TrainConfig(hidden_sizes=(8,), subset=2000, val_fraction=0.1, epochs=1),
                      small_dataset)
    copy = trainer.snapshot().network
    trainer.run()
    for key, value in copy.params.items():
        assert not value.flags.writeable and value is not trainer.network.params[key]
    assert not np.array_equal(copy.params["W1"], trainer.network.params["W1"])


def test_relay_snapshots_a_model_stopped_mid_epoch(small_dataset) -> None:
    posted: list = []
    config = TrainConfig(hidden_sizes=(8,), subset=2000, val_fraction=0.1, epochs=5)
    session, relay = session_relay(posted, small_dataset, config)

    def stop_after_20_steps(event: ev.Event) -> None:
        relay(event)
        if isinstance(event, ev.BatchEnded) and event.step == 20:
            session.stop()

    session.on_event = stop_after_20_steps
    session.run()
    snapshots = [m for m in posted if isinstance(m, msg.ModelSnapshot)]
    assert [(s.epoch, s.step) for s in snapshots] == [(1, 20)]  # the model as it stopped
    assert [m.epoch for m in posted if isinstance(m, msg.PredictionsReady)] == [1]


def test_series_thins_evenly_and_keeps_the_newest_point() -> None:
    series = Series()
    for i in range(10 * MAX_POINTS):
        series.add(i / 100, 1.0 / (i + 1))
    series.add(1.0, math.nan)
    series.add(math.inf, 1.0)
    assert MAX_POINTS // 2 <= len(series) <= MAX_POINTS
    assert series.points[-1] == ((10 * MAX_POINTS - 1) / 100, 1.0 / (10 * MAX_POINTS))
    gaps = np.diff(series.xs)
    assert gaps.max() <= 2.5 * gaps.min()  # evenly spread over the whole run
    assert all(math.isfinite(y) for y in series.ys)


def test_formatting() -> None:
    assert format_duration(0) == "00:00"
    assert format_duration(75.4) == "01:15"
    assert format_duration(3 * 3600 + 5) == "3:00:05"
    assert format_duration(None) == format_duration(math.nan) == "--:--"
    assert format_rate(950) == "950" and format_rate(12_345) == "12.3k"
    assert format_rate(2.5e6) == "2.5M" and format_rate(math.inf) == "-"


def test_half_block_image_draws_two_pixel_rows_per_line() -> None:
    pixels = np.zeros((4, 3), dtype=np.uint8)
    pixels[0, 0] = 255  # top-left pixel on
    pixels[3, 2] = 255  # bottom-right pixel on
    color = render_image(pixels, (4, 3))
    assert color.plain == "▀▀▀\n▀▀▀"
    top_left = color.spans[0].style
    assert top_left.color.triplet == (255, 255, 255) and top_left.bgcolor.triplet == (0, 0, 0)
    mono = render_image(pixels, (4, 3), color=False)
    assert mono.plain == "▀  \n  ▄"


def test_form_covers_every_config_field() -> None:
    assert sorted(FORM_ORDER) == sorted(FIELDS)


def test_keymap_lists_every_binding() -> None:
    from nnfs_tui.dialogs.lr_find import LRFindDialog
    from nnfs_tui.dialogs.sweep import SweepDialog
    from nnfs_tui.screens.draw import DrawScreen
    from nnfs_tui.screens.inspect import InspectScreen
    from nnfs_tui.screens.runs import RunsScreen
    from nnfs_tui.screens.sweep import SweepScreen
    from nnfs_tui.widgets.canvas import DrawingCanvas
    from nnfs_tui.widgets.confusion import ConfusionMatrix
    from nnfs_tui.widgets.mistakes import MistakeViewer
    from nnfs_tui.widgets.parallel_plot import ParallelPlot
    from nnfs_tui.widgets.runs_table import RunsTable
    from nnfs_tui.widgets.scatter_plot import ScatterPlot
    from nnfs_tui.widgets.weights import WeightGrid

    names = {"?": "question_mark", "esc": "escape", "/": "slash", "+": "plus",
             "=": "equals_sign", "-": "minus", "pageup": "pageup", "pagedown": "pagedown"}
    arrows = {"→": "right", "←": "left", "↑": "up", "↓": "down"}

    def normal(key: str) -> str:
        key = key if key == "S" else key.lower()  # terminals send a capital S
        for arrow, name in arrows.items():
            key = key.replace(arrow, name)
        return names.get(key, key)

    listed = {normal(key) for _, rows in KEYMAP for keys, _ in rows for key in keys.split(", ")}
    listed |= {"ctrl+home", "ctrl+end", "shift+s"}  # DataTable's own, and S typed with shift
    for owner in (NNFSApp, TrainScreen, DigitViewer, HelpScreen, RunsScreen, RunsTable,
                  InspectScreen, ConfusionMatrix, MistakeViewer, WeightGrid, DrawScreen,
                  DrawingCanvas, ParallelPlot, ScatterPlot, SweepScreen, SweepDialog,
                  LRFindDialog):
        for binding in owner.BINDINGS:
            for key in binding.key.split(","):
                assert key in listed, f"{owner.__name__} binds {key}, missing from KEYMAP"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnfs_tui", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_cli_refuses_a_pipe_and_points_to_nnfs_train() -> None:
    done = run_cli()
    assert done.returncode == 2
    assert "nnfs-train" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_cli_help_lists_presets_and_keys() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for text in ("--preset", "--dataset", "F5", "F10", "nnfs-train"):
        assert text in done.stdout
    assert run_cli("--preset", "nope").returncode == 2


def test_the_engine_never_imports_the_ui() -> None:
    code = ("import sys, engine, engine.training, engine.cli; "
            "bad = [m for m in ('textual', 'textual_plotext', 'plotext') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("width", [60, 76, 116])
def test_help_lays_keys_out_in_two_columns_with_hanging_indents(width) -> None:
    from nnfs_tui.screens.help import INDENT, KEY_GAP, key_width, two_columns

    for _, rows in KEYMAP:
        lines = two_columns(rows, width).plain.splitlines()
        column = INDENT + key_width([keys for keys, _ in rows], width) + KEY_GAP
        assert all(len(line) <= width for line in lines)
        # every line: keys (or blank) left of the column, a gap, the description from it on
        assert all(line[column - KEY_GAP:column] == " " * KEY_GAP for line in lines
                   if len(line) > column)
        assert all(line[column:column + 1] != " " for line in lines if len(line) > column)
        assert " ".join(w for line in lines for w in line[:column].split()) == " ".join(
            keys for keys, _ in rows)
        assert " ".join(w for line in lines for w in line[column:].split()) == " ".join(
            " ".join(what.split()) for _, what in rows)
        # each row starts on a line of its own, keys and description side by side
        for keys, what in rows:
            assert any(line[:column].split()[:1] == keys.split()[:1]
                       and line[column:].startswith(what.split()[0]) for line in lines)


def test_key_list_of_the_command_line_help_keeps_keys_apart_from_descriptions() -> None:
    from nnfs_tui.keymap import keymap_text

    lines = keymap_text().splitlines()
    assert all(len(line) <= 100 for line in lines)
    for _, rows in KEYMAP:
        for keys, what in rows:
            first = what.split()[0]
            assert any(line.startswith(f"  {keys}  ") and line.split()[-1] != keys
                       and line[len(keys) + 2:].lstrip().startswith(first)
                       for line in lines), keys


def test_key_lists_on_screen_drop_the_readmes_code_marks() -> None:
    from nnfs_tui.keymap import keymap_text
    from nnfs_tui.screens.help import keys_text

    assert "`" not in keys_text(100).plain and "`" not in keymap_text()
    assert "lr>=1e-3" in keys_text(100).plain and "lr>=1e-3" in keymap_text()
