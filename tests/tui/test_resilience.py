"""The app survives what people and terminals do to it (Pilot): a crashing training thread,
start/stop hammered, resizes down to 1x1 mid-run, and the fastest run flooding the UI.

Keys are posted straight to the app here, without Pilot's wait for an idle process after
each one (a training process is never idle): that is also how fast a person can type.
"""

from __future__ import annotations

import asyncio
import threading
import time

from textual import events
from textual.geometry import Size

from engine.training import Trainer
from nnfs_tui import messages as msg
from nnfs_tui.app import NNFSApp, create_app
from nnfs_tui.screens import HelpScreen
from tests.tui.helpers import LONG, SMALL, TIMEOUT, start_and_wait, trainer_of, wait_for

#: Seconds a key may take to show its effect while a run floods the UI (a bound that only a
#: stuck or badly lagging UI exceeds, not a benchmark; people notice about 0.2 s).
KEY_BOUND = 1.0


async def tap(app: NNFSApp, *keys: str) -> None:
    """Post key presses as the terminal would, letting the app take each in turn."""
    for key in keys:
        app.post_message(events.Key(key, None))
        await asyncio.sleep(0.002)


async def resize(pilot, width: int, height: int) -> None:  # noqa: ANN001
    """Pilot.resize_terminal without its wait for an idle process; waits for the new layout
    and one more frame instead."""
    size = Size(width, height)
    pilot.app.post_message(events.Resize(size, size))
    await wait_for(pilot, lambda: pilot.app.screen.size == size, f"the {width}x{height} layout")
    await pilot.pause(0.05)


def count_training_loops(monkeypatch, tail: float = 0.0) -> dict[str, int]:  # noqa: ANN001
    """Trainer.run counted: ``now`` loops running at once, ``most`` the largest ``now``.

    ``tail`` seconds are added after the loop has reported its end (a slow thread, or an
    unlucky scheduler, between the RunFinished message and the thread's return).
    """
    counts = {"now": 0, "most": 0, "runs": 0}
    lock = threading.Lock()
    original = Trainer.run

    def counted(self: Trainer):  # noqa: ANN202
        with lock:
            counts["now"] += 1
            counts["runs"] += 1
            counts["most"] = max(counts["most"], counts["now"])
        try:
            return original(self)
        finally:
            time.sleep(tail)
            with lock:
                counts["now"] -= 1

    monkeypatch.setattr(Trainer, "run", counted)
    return counts


async def test_a_crash_in_the_training_thread_is_shown_and_the_next_run_works(
        make_app, monkeypatch) -> None:  # noqa: ANN001
    original = Trainer.run
    calls: list[Trainer] = []

    def crash_once(self: Trainer):  # noqa: ANN202
        calls.append(self)
        if len(calls) == 1:
            raise RuntimeError("simulated crash in the training loop")
        return original(self)

    monkeypatch.setattr(Trainer, "run", crash_once)
    app = make_app(epochs=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.run_state == "failed", "the failed state")
        log = app.train_screen.log_view.text
        assert "Training stopped by an unexpected error" in log
        assert "simulated crash in the training loop" in log
        assert any(n.title == "Training crashed" for n in app._notifications)
        assert not app.controller.active and app.controller.session.done.is_set()
        # the record says so too
        crashed = app.controller.store.load(app.controller.session.name)
        assert crashed.status == "failed"
        assert crashed.reason == "RuntimeError: simulated crash in the training loop"
        await start_and_wait(pilot, "completed")  # the same app trains again
        assert app.controller.runs_started == 2 and len(calls) == 2
        assert trainer_of(app).state.epoch == 1


async def test_hammering_start_stop_and_restart_never_runs_two_training_loops(
        make_app, monkeypatch) -> None:  # noqa: ANN001
    counts = count_training_loops(monkeypatch, tail=0.3)
    app = make_app(epochs=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(8):
            await tap(app, "f5", "f7", "f5", "f8", "f7", "f5", "f8", "f8")
            running = [w for w in app.workers if w.group == "training" and w.is_running]
            assert counts["now"] <= 1 and len(running) <= 2  # a new one may wait for the old
        deadline = time.monotonic() + TIMEOUT
        while app.controller.active or not app.controller.session.done.is_set():
            # F7 again for a run that a queued F8 started after the last stop
            assert time.monotonic() < deadline, f"the runs never stopped ({app.run_state})"
            if app.run_state in ("loading", "training"):
                await tap(app, "f7")
            await pilot.pause(0.05)
        # keys are taken in order, so every start above may be stopped before its loop
        # began; at a person's pace a training run restarted (F8) trains again, alone
        before = counts["runs"]
        await tap(app, "f5")
        await wait_for(pilot, lambda: counts["runs"] == before + 1, "a run's training loop")
        await tap(app, "f8")
        await wait_for(pilot, lambda: counts["runs"] == before + 2,
                       "the restarted run's training loop")
        await tap(app, "f7")
        await wait_for(pilot, lambda: not app.controller.active
                       and app.controller.session.done.is_set(), "the last stop")
    assert counts["most"] == 1, f"{counts['most']} training loops ran at once"
    assert app.controller.runs_started >= 2


async def test_resizing_to_one_cell_and_back_mid_run_never_raises(make_app) -> None:
    app = make_app(epochs=LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        for size in [(1, 1), (120, 40), (1, 1), (2, 1), (1, 30), (200, 1), (80, 24),
                     (1, 1), (120, 40)]:
            await resize(pilot, *size)
        assert app.run_state == "training"
        assert trainer_of(app).state.status == "running"
        step = trainer_of(app).state.step
        await wait_for(pilot, lambda: trainer_of(app).state.step > step,
                       "training to go on")
        await tap(app, "f1")  # a modal screen at one cell, then back
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await resize(pilot, 1, 1)
        await resize(pilot, 80, 24)
        await tap(app, "escape", "f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop")
        assert "stopped" in app.export_screenshot()  # it still draws


async def test_keys_are_answered_while_the_fastest_run_floods_the_ui(small_dataset) -> None:
    """One-batch epochs of a tiny network: hundreds of epoch, layer-stats and snapshot
    messages a second, which the relay cannot thin. Help must still open and close."""
    flood = SMALL.replace(hidden_sizes=(4,), batch_size=len(small_dataset.x_train),
                          epochs=LONG, optimizer="sgd", learning_rate=0.01)
    app = create_app(flood, dataset=small_dataset, timing=False, record=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_and_wait(pilot)
        await wait_for(pilot, lambda: trainer_of(app).state.epoch >= 20, "20 epochs")
        slowest = 0.0
        for _ in range(5):
            for key, shown in (("f1", True), ("escape", False)):
                started = time.monotonic()
                await tap(app, key)
                await wait_for(pilot, lambda shown=shown: isinstance(app.screen, HelpScreen)
                               == shown, f"{key} to take effect", timeout=10)
                slowest = max(slowest, time.monotonic() - started)
        epochs = trainer_of(app).state.epoch
        await tap(app, "f7")
        await wait_for(pilot, lambda: app.run_state == "stopped", "the stop", timeout=10)
    assert epochs >= 20  # it did flood
    assert slowest < KEY_BOUND, f"a key took {slowest:.2f} s while training"


async def test_a_flood_run_shows_every_epoch_at_a_pause_and_at_the_end(small_dataset) -> None:
    """One-batch epochs end faster than the screen redraws: the relay hands them over a few
    at a time, and the train screen holds its redraws back while help covers it; yet every
    epoch reaches the curves and the log, and the screen is exact once the run pauses (and
    help is closed) and when the run ends."""
    epochs = 200  # at most MAX_POINTS: no curve thins its points
    flood = SMALL.replace(hidden_sizes=(4,), batch_size=len(small_dataset.x_train),
                          epochs=epochs, optimizer="sgd", learning_rate=0.01)
    handed_over: list[int] = []

    def hook(message) -> None:  # noqa: ANN001
        if isinstance(message, msg.EpochsEnded):
            handed_over.extend(e.epoch for e in message.events)

    async def until_epoch(epoch: int) -> None:  # not Pilot.pause: it waits for an idle app
        while trainer_of(app).state.epoch < epoch:
            await asyncio.sleep(0.005)

    def shows_every_epoch_up_to(done: int) -> None:
        screen = app.train_screen
        history = trainer_of(app).history
        assert screen.loss_plot.series["test"].xs == list(range(1, done + 1))
        assert screen.loss_plot.series["batch"].xs[-1] == done  # the smoothed loss too
        assert screen.accuracy_plot.series["test"].points[-1] == (
            done, 100 * history[done - 1]["test_acc"])
        logged = [line.split(":")[0] for line in screen.log_view.lines_text
                  if line.startswith("Epoch ")]
        assert logged == [f"Epoch {k}/{epochs}" for k in range(1, done + 1)]
        written = " ".join(strip.text for strip in screen.log_view.lines[-8:])
        assert f"Epoch {done}/{epochs}:" in written  # on screen, not only kept
        assert screen.digits.epoch == done  # the guesses of that epoch's model
        assert str(screen.digits.border_subtitle).startswith(f"epoch {done}: ")
        assert screen.progress.render().plain.startswith(f"Epoch {done}/{epochs} ")

    app = create_app(flood, dataset=small_dataset, timing=False, record=False)
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await start_and_wait(pilot)
        await until_epoch(10)
        await tap(app, "f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        # the run goes on behind help
        await until_epoch(trainer_of(app).state.epoch + 10)
        await tap(app, "f6")
        await wait_for(pilot, lambda: app.run_state == "paused", "the pause")
        await tap(app, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), "help to close")
        await pilot.pause()
        paused_at = trainer_of(app).state.epoch
        shows_every_epoch_up_to(paused_at)
        await tap(app, "f6")
        await wait_for(pilot, lambda: app.run_state == "completed", "the end")
        await pilot.pause()
        shows_every_epoch_up_to(epochs)
    assert paused_at < epochs
    assert handed_over == list(range(1, epochs + 1))  # each epoch once, in order
