"""Helpers of the app's tests: the small config, bounded waits, typing into the form."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

from engine.config import TrainConfig
from engine.training import Trainer

#: A run that takes well under a second: 2,000 training images, one hidden layer of 32.
SMALL = TrainConfig(hidden_sizes=(32,), subset=2000, val_fraction=0.1, seed=0, epochs=2,
                    batch_size=128, optimizer="adam", learning_rate=0.005,
                    schedule="constant")

#: Epochs of a run that must be stopped by hand (it would take minutes to complete).
LONG = 10_000

#: Seconds any wait in these tests may take before it fails (a bound, not a timing assert).
TIMEOUT = 60.0


def trainer_of(app: App) -> Trainer | None:
    """The engine Trainer of the app's current or last run (None before it is built): what
    the tests check the run against, never something the app itself reads."""
    session = app.controller.session
    return session.trainer if session is not None else None


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str,
                   timeout: float = TIMEOUT) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.02)


async def start_and_wait(pilot: Pilot, state: str = "training") -> None:
    """Press F5 and wait until the run is in ``state``."""
    app = pilot.app
    await pilot.press("f5")
    if state == "training":
        await wait_for(pilot, lambda: trainer_of(app) is not None
                       and trainer_of(app).state.step > 0, "the first training step")
    else:
        await wait_for(pilot, lambda: app.run_state == state, f"run state {state!r}")


async def start_paused(pilot: Pilot) -> None:
    """Start a run, wait for its first step, then pause it with F6."""
    await start_and_wait(pilot)
    await pilot.press("f6")
    await wait_for(pilot, lambda: pilot.app.run_state == "paused", "the pause")


async def set_input(pilot: Pilot, field: str, text: str) -> None:
    """Focus a form field, clear it and type ``text`` as a person would."""
    app = pilot.app
    control = app.screen.query_one(f"#f-{field}")
    control.focus()
    await pilot.pause()
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


def toasts(app: App) -> list[str]:
    """The text of every notification on screen, as drawn (title and message)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]
