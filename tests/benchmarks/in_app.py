"""Training throughput inside the app against the same training headless (issue 3: "at least
90% of the headless nnfs-train throughput for the same config").

Both sides train the same config on the same loaded Dataset object in this process, with the
engine's thread policy ("auto": one BLAS thread):

- headless: an engine Trainer as ``nnfs-train --quiet`` builds it (BatchEnded throttled to one
  a second, a handler that does nothing with them);
- in the app: ``create_app(config, dataset=..., timing=True, record=False)`` driven by
  ``App.run_test`` at 120x40, F5 pressed as a person would. Textual runs in this process and
  its event loop draws the progress line, the plots and the digit viewer while the training
  thread works, as in real use; the relay sees every batch (``batch_event_interval=0``).

The figure is samples per second of the training epochs, ``n_train / epoch_seconds`` from
the Trainer's history (what the app's progress line shows: batch compute, evaluation not
included). Beside it, the wall time from one EpochEnded to the next, which also holds the
per-batch event handling outside ``epoch_seconds`` and the end-of-epoch evaluation.

Rounds alternate (headless, app, headless, app, ...) so that other people's jobs on a shared
machine land on both sides alike; each round has its own warm-up epoch, kept apart.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from engine import PRESETS, Dataset, EpochEnded, TrainConfig, Trainer
from engine.events import Event
from tests.benchmarks.machine import load_average

#: Terminal size the app is driven at (the issue's "good at 120x40").
APP_SIZE = (120, 40)
#: BatchEnded throttle of ``nnfs-train --quiet`` (engine/cli.py: 1.0 s without progress bar).
HEADLESS_BATCH_EVENT_INTERVAL = 1.0
#: The issue's target: app throughput / headless throughput.
TARGET_RATIO = 0.90
#: Bound on one app round (a guard against a hang, not a timing assertion).
APP_ROUND_TIMEOUT_S = 600.0


class _EpochClock:
    """Wraps a Trainer's ``on_event``: the perf_counter time of every EpochEnded, in order."""

    def __init__(self, inner: Callable[[Event], object] | None) -> None:
        self.inner = inner
        self.stamps: dict[int, float] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, EpochEnded):
            self.stamps[event.epoch] = time.perf_counter()
        if self.inner is not None:
            self.inner(event)



def _trainer(app: Any) -> Any:
    """The Trainer of the app's current run (its RunSession's), or None before it is built."""
    session = app.controller.session
    return session.trainer if session is not None else None

def _summary(history: list[dict[str, Any]], stamps: dict[int, float], n_train: int,
             warmup: int) -> dict[str, Any]:
    seconds = [float(h["epoch_seconds"]) for h in history]
    measured = seconds[warmup:]
    # wall time of epoch k (k > warm-up): from the end of epoch k-1 to the end of epoch k
    measured_wall = [stamps[k] - stamps[k - 1] for k in range(warmup + 1, len(history) + 1)
                     if k in stamps and k - 1 in stamps]
    return {
        "epoch_seconds": [round(s, 4) for s in measured],
        "warmup_seconds": [round(s, 4) for s in seconds[:warmup]],
        "epoch_wall_seconds": [round(s, 4) for s in measured_wall],
        "median_s": statistics.median(measured) if measured else None,
        "samples_per_s": [round(n_train / s, 1) for s in measured],
        "median_samples_per_s": n_train / statistics.median(measured) if measured else None,
        "median_wall_s": statistics.median(measured_wall) if measured_wall else None,
    }


def headless_round(config: TrainConfig, dataset: Dataset, *, epochs: int,
                   warmup: int = 1) -> dict[str, Any]:
    """``warmup + epochs`` epochs of an engine Trainer built as ``nnfs-train --quiet`` does."""
    clock = _EpochClock(lambda event: None)
    load = load_average()
    trainer = Trainer(config.replace(epochs=warmup + epochs), dataset, on_event=clock,
                      batch_event_interval=HEADLESS_BATCH_EVENT_INTERVAL, threads="auto")
    finished = trainer.run()
    return {"side": "headless", "status": finished.status, "load_average_before": load,
            **_summary(trainer.history, clock.stamps, len(dataset.x_train), warmup)}


async def _drive_app(config: TrainConfig, dataset: Dataset, epochs: int, runs_dir: str, *,
                     poll: str = "sleep") -> dict[str, Any]:
    """Open the app at 120x40, press F5, let it train ``epochs`` epochs, return its history.

    While training, this coroutine only sleeps (``poll="sleep"``) between cheap checks:
    ``Pilot.pause`` first waits until every widget of the screen has processed its queue (a
    callback scheduled on each), work on the UI thread that a person's app never does.
    ``poll="pilot"`` waits with ``pilot.pause(0.05)`` instead, to show what that costs.
    """
    from nnfs_tui.app import create_app

    app = create_app(config, dataset=dataset, timing=True, record=False, runs_dir=runs_dir)
    deadline = time.monotonic() + APP_ROUND_TIMEOUT_S

    async def wait(pilot: Any, condition: Callable[[], bool], what: str,
                   interval: float) -> None:
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not reach {what} in {APP_ROUND_TIMEOUT_S:.0f} s")
            if poll == "pilot":
                await pilot.pause(interval)
            else:
                await asyncio.sleep(interval)

    async with app.run_test(size=APP_SIZE) as pilot:
        await pilot.pause()  # the first frame is drawn, the digit viewer has its images
        # F5 as a Key event, the path a key press takes; Pilot.press would then wait for the
        # process to go idle (up to 2 s while training) before this coroutine could go on.
        app.simulate_key("f5")
        # The worker builds the Trainer and attaches it right before run(); wrap its handler
        # for the epoch clock then (a stamp it misses only drops that epoch's wall time).
        await wait(pilot, lambda: _trainer(app) is not None, "a Trainer", 0.005)
        trainer = _trainer(app)
        clock = _EpochClock(trainer.on_event)
        trainer.on_event = clock
        await wait(pilot, lambda: len(trainer.history) >= epochs, f"{epochs} epochs", 0.1)
        await wait(pilot, lambda: app.run_state not in ("loading", "training", "stopping"),
                   "the end of the run", 0.05)
        await pilot.pause()
        state = app.run_state
        history = [dict(h) for h in trainer.history]
        stamps = dict(clock.stamps)
        matches = trainer.config == config
    return {"history": history, "stamps": stamps, "run_state": state, "config_matches": matches}


def app_round(config: TrainConfig, dataset: Dataset, *, epochs: int, warmup: int = 1,
              poll: str = "sleep") -> dict[str, Any]:
    """``warmup + epochs`` epochs trained by the app (F5 in a headless ``run_test``)."""
    full = config.replace(epochs=warmup + epochs)
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="nnfs-bench-runs-") as runs_dir:
        got = asyncio.run(_drive_app(full, dataset, warmup + epochs, runs_dir, poll=poll))
    return {"side": "app", "status": got["run_state"], "config_matches": got["config_matches"],
            "poll": poll, "load_average_before": load,
            **_summary(got["history"], got["stamps"], len(dataset.x_train), warmup)}


def _pool(runs: list[dict[str, Any]], n_train: int) -> dict[str, Any]:
    seconds = [s for run in runs for s in run["epoch_seconds"]]
    walls = [s for run in runs for s in run["epoch_wall_seconds"]]
    return {
        "rounds": len(runs),
        "epochs": len(seconds),
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "median_samples_per_s": n_train / statistics.median(seconds),
        "best_samples_per_s": n_train / min(seconds),
        "median_wall_s": statistics.median(walls) if walls else None,
        "min_wall_s": min(walls) if walls else None,
    }


def app_vs_headless(dataset: Dataset, *, preset: str = "default", pairs: int = 2,
                    epochs: int = 3, warmup: int = 1,
                    log: Callable[[str], object] | None = None) -> dict[str, Any]:
    """``pairs`` × (headless round, app round) of ``warmup + epochs`` epochs each; samples/s
    pooled over the measured epochs and the ratio app / headless (median and best)."""
    config = PRESETS[preset]
    n_train = len(dataset.x_train)
    runs: dict[str, list[dict[str, Any]]] = {"headless": [], "app": []}
    loads: list[list[float]] = []
    for p in range(pairs):
        for side, fn in (("headless", headless_round), ("app", app_round)):
            if log:
                log(f"{side}: round {p + 1}/{pairs} ({warmup}+{epochs} epochs)")
            gc.collect()
            loads.append(load_average())
            runs[side].append(fn(config, dataset, epochs=epochs, warmup=warmup))
    head, app = _pool(runs["headless"], n_train), _pool(runs["app"], n_train)
    pair_ratios = [statistics.median(h["epoch_seconds"]) / statistics.median(a["epoch_seconds"])
                   for h, a in zip(runs["headless"], runs["app"], strict=True)]
    return {
        "preset": preset,
        "network": "-".join(str(s) for s in (dataset.n_features, *config.hidden_sizes,
                                             dataset.n_classes)),
        "batch_size": config.batch_size,
        "threads": "auto",
        "n_train": n_train,
        "app_size": list(APP_SIZE),
        "pairs": pairs,
        "epochs_per_round": epochs,
        "warmup_epochs": warmup,
        "headless": head,
        "app": app,
        # throughput ratios, app / headless (samples/s ∝ 1 / epoch seconds)
        "ratio_median": head["median_s"] / app["median_s"],
        "ratio_best": head["min_s"] / app["min_s"],
        "ratio_per_pair": [round(r, 4) for r in pair_ratios],
        "ratio_wall_median": (head["median_wall_s"] / app["median_wall_s"]
                              if head["median_wall_s"] and app["median_wall_s"] else None),
        "target_ratio": TARGET_RATIO,
        "runs": runs,
        "load_averages": loads,
    }
