"""Regenerate figs/app-training.svg: the app at 120x40 in the middle of a run on MNIST.

    .venv/bin/python figs/make_screenshot.py [--out figs/app-training.svg]

The run is the default preset (784-256-10, Adam, cosine schedule) with a 10% validation
split, started with F5 as a person would. After two epochs the learning rate is lowered
live (the magenta marker on the curves), the digit viewer is switched to the model's
mistakes, and the picture is taken as the sixth epoch starts. Takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from engine.config import PRESETS
from nnfs_tui.app import NNFSApp, create_app

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)
TIMEOUT = 300.0


async def until(pilot, condition, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshot: timed out waiting for {what}")
        await pilot.pause(0.05)


async def shoot(out: Path) -> None:
    config = PRESETS["default"].replace(epochs=10, val_fraction=0.1)
    app: NNFSApp = create_app(config, preset="default")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.train_screen
        await until(pilot, lambda: screen.digits.dataset is not None, "the test images")
        await pilot.press("f5")
        await until(pilot, lambda: screen.progress.epoch_done >= 2, "two epochs")
        # a live change, typed while paused so the keys land between two batches
        await pilot.press("f6")
        await until(pilot, lambda: app.run_state == "paused", "the pause")
        screen.form.control("learning_rate").focus()
        await pilot.press("end", "ctrl+u", *"0.0005", "enter")
        await pilot.press("escape", "m")  # the digit viewer: only the model's mistakes
        await pilot.press("f6")
        await until(pilot, lambda: app.controller.session.trainer.config.learning_rate == 0.0005,
                    "the change")
        await until(pilot, lambda: screen.progress.epoch_done >= 5, "five epochs")
        await asyncio.sleep(0.3)  # into the sixth epoch, and the plots redrawn
        app.clear_notifications()
        out.write_text(app.export_screenshot(title="nnfs-tui"), encoding="utf-8")
        await pilot.press("f10")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "app-training.svg")
    asyncio.run(shoot(parser.parse_args().out))


if __name__ == "__main__":
    main()
