"""How fast the app answers keys while it trains (issue: "keys answered within about 200 ms
while the fastest possible training run floods updates").

The app is driven by ``App.run_test`` at 120x40 in this process, as a person would use it:

- ``flood``: one-batch epochs of a 784-4-10 network on 1,800 images, hundreds of epochs a
  second, each with its epoch metrics, layer statistics and test-set guesses (the set-up of
  ``tests/tui/test_resilience.py``);
- ``default``: the default preset (784-256-10, Adam) on the bundled MNIST, as ``nnfs-tui``
  trains it.

Once training is under way, keys are posted to the app the way the terminal driver posts
them (a Key event from outside the app's own task), in rounds of F1 (help opens), Escape
(help closes) and ``n`` (the digit viewer's next image), with a pause of 80-200 ms between
presses (a person's pace; seeded, so each run samples different moments of the redraw cycle
alike). The latency of a press is the time from posting the key to the first frame that
shows its effect: the compositor's update for the help screen, for the train screen again,
or one in which the digit viewer was drawn with the new image. Each frame is also encoded
into terminal output as the Linux driver would (and discarded), so the UI thread pays what
it pays in a terminal. Measures; never asserts.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from engine import PRESETS, Dataset, TrainConfig, load_dataset
from tests.benchmarks.machine import load_average

#: Terminal size the app is driven at.
APP_SIZE = (120, 40)
#: The issue's bound on a key's latency, in milliseconds.
TARGET_MS = 200.0
#: The flood: one batch per epoch (the whole 2,000-image training subset), a 784-4-10 net;
#: each epoch still evaluates the 6,000 validation and 10,000 test images.
FLOOD = TrainConfig(hidden_sizes=(4,), subset=2000, val_fraction=0.1, seed=0, epochs=10_000,
                    batch_size=2000, optimizer="sgd", learning_rate=0.01, schedule="constant")
#: Keys of one round: (key, character, what its effect is).
ROUND = (("f1", None, "help opens"), ("escape", None, "help closes"),
         ("n", "n", "next digit"))
#: Seconds a key may take before the benchmark gives up on it (recorded as that long).
GIVE_UP_S = 10.0
#: Bound on the whole scenario (a guard against a hang).
SCENARIO_TIMEOUT_S = 300.0



def _trainer(app: Any) -> Any:
    """The Trainer of the app's current run (its RunSession's), or None before it is built."""
    session = app.controller.session
    return session.trainer if session is not None else None

def _percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), linear between order statistics."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(latencies_ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(latencies_ms),
        "median_ms": statistics.median(latencies_ms),
        "p90_ms": _percentile(latencies_ms, 0.9),
        "max_ms": max(latencies_ms),
        "min_ms": min(latencies_ms),
    }


class FrameProbe:
    """Wraps ``app._display``: every frame the app puts out, with the time it went out.

    ``expect(predicate)`` arms a check that each following frame runs until one satisfies
    it; the returned future then holds that frame's ``perf_counter`` time.
    """

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.frames = 0
        self.encode_seconds = 0.0
        self._pending: list[tuple[Callable[[Any], bool], asyncio.Future[float]]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            started = time.perf_counter()
            if isinstance(renderable, CompositorUpdate):  # what the terminal driver writes
                renderable.render_segments(app.console)
            now = time.perf_counter()
            self.encode_seconds += now - started
            self.frames += 1
            for check in list(self._pending):
                predicate, future = check
                if predicate(screen):
                    self._pending.remove(check)
                    if not future.done():
                        future.set_result(now)

        app._display = display

    def expect(self, predicate: Callable[[Any], bool]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending.append((predicate, future))
        return future


async def _measure(config: TrainConfig, dataset: Dataset | None, *, rounds: int,
                   warm: Callable[[Any], bool], seed: int) -> dict[str, Any]:
    from textual import events

    from nnfs_tui.app import create_app
    from nnfs_tui.screens import HelpScreen, TrainScreen

    rng = random.Random(seed)
    deadline = time.monotonic() + SCENARIO_TIMEOUT_S

    async def until(condition: Callable[[], bool], what: str) -> None:
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not reach {what}")
            await asyncio.sleep(0.01)

    with tempfile.TemporaryDirectory(prefix="nnfs-bench-keys-") as runs_dir:
        app = create_app(config, dataset=dataset, timing=True, record=False,
                         runs_dir=runs_dir)
        async with app.run_test(size=APP_SIZE) as pilot:
            await pilot.pause()
            screen = app.train_screen
            digits = screen.digits
            await until(lambda: digits.dataset is not None, "the test images")
            rendered = {"index": -1}
            render = digits.render

            def render_and_note() -> Any:  # the index the viewer last drew
                rendered["index"] = digits.index
                return render()

            digits.render = render_and_note
            probe = FrameProbe(app)

            def post(key: str, character: str | None) -> None:
                # as the terminal driver does: a Key event sent to the app from outside
                event = events.Key(key, character)
                event.set_sender(app)
                app._driver.send_message(event)

            post("f5", None)
            await until(lambda: _trainer(app) is not None
                        and _trainer(app).state.step > 0, "training")
            await until(lambda: warm(app), "a warm run")
            digits.focus()
            await asyncio.sleep(0.3)
            trainer = _trainer(app)
            start_epoch, start_step = trainer.state.epoch, trainer.state.step
            started = time.perf_counter()
            frames0, encode0 = probe.frames, probe.encode_seconds
            by_key: dict[str, list[float]] = {what: [] for _, _, what in ROUND}
            given_up = 0
            for _ in range(rounds):
                for key, character, what in ROUND:
                    if what == "help opens":
                        predicate = lambda s: isinstance(s, HelpScreen)  # noqa: E731
                    elif what == "help closes":
                        predicate = lambda s: isinstance(s, TrainScreen)  # noqa: E731
                    else:
                        target = (digits.index + 1) % digits.count
                        predicate = (lambda s, t=target: isinstance(s, TrainScreen)  # noqa: E731
                                     and rendered["index"] == t)
                    future = probe.expect(predicate)
                    sent = time.perf_counter()
                    post(key, character)
                    try:
                        shown = await asyncio.wait_for(future, GIVE_UP_S)
                    except TimeoutError:
                        shown = sent + GIVE_UP_S
                        given_up += 1
                    by_key[what].append(1000 * (shown - sent))
                    await asyncio.sleep(rng.uniform(0.08, 0.2))
            seconds = time.perf_counter() - started
            epochs = _trainer(app).state.epoch - start_epoch
            steps = _trainer(app).state.step - start_step
            frames = probe.frames - frames0
            encode = probe.encode_seconds - encode0
            post("f7", None)
            await until(lambda: app.run_state not in ("loading", "training", "stopping"),
                        "the stop")
            state = app.run_state
    latencies = [ms for values in by_key.values() for ms in values]
    return {
        **summarize(latencies),
        "by_key": {what: {**summarize(values), "ms": [round(v, 1) for v in values]}
                   for what, values in by_key.items()},
        "given_up": given_up,
        "seconds": seconds,
        "epochs_per_s": epochs / seconds,
        "steps_per_s": steps / seconds,
        "frames_per_s": frames / seconds,
        "encode_ms_per_frame": 1000 * encode / frames if frames else None,
        "final_state": state,
    }


def key_latency(*, rounds: int = 10, log: Callable[[str], object] | None = None,
                seed: int = 0) -> dict[str, Any]:
    """Both scenarios, ``rounds`` × (F1, Escape, n) presses each, at 120x40."""
    results: dict[str, Any] = {"app_size": list(APP_SIZE), "rounds": rounds,
                               "keys": [what for _, _, what in ROUND],
                               "target_ms": TARGET_MS, "scenarios": {}}
    small = load_dataset("mnist", subset=FLOOD.subset, val_fraction=FLOOD.val_fraction,
                         seed=FLOOD.seed)
    default = PRESETS["default"].replace(epochs=1000)
    scenarios = (
        ("flood", FLOOD, small, lambda app: _trainer(app).state.epoch >= 50,
         "flood: one-batch epochs, 784-4-10"),
        ("default", default, None, lambda app: _trainer(app).state.epoch >= 1,
         "default preset, 784-256-10"),
    )
    for name, config, dataset, warm, label in scenarios:
        if log:
            log(f"{label}: {rounds} x (F1, Escape, n)")
        load = load_average()
        got = asyncio.run(_measure(config, dataset, rounds=rounds, warm=warm, seed=seed))
        results["scenarios"][name] = {"label": label, "load_average_before": load,
                                      "load_average_after": load_average(), **got}
    return results
