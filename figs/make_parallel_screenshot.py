"""Regenerate figs/runs-parallel.svg: the Runs screen's parallel coordinates (p) at 120x40
over a real sweep of sixteen runs.

    PYTHONPATH=. .venv/bin/python figs/make_parallel_screenshot.py [--out figs/runs-parallel.svg]

A random search of 16 trials around the fast preset (784-64-10 on its 10,000-image subset, 3
epochs, 10% validation): the learning rate drawn on a log scale from 1e-4 to 1, the
optimizer, the activation and the hidden sizes from short lists. The engine's sweep driver
records every trial in a temporary runs directory (one process per core, or ``--workers``);
then the Runs screen opens on it, switches to parallel coordinates, brushes the top of the
score axis, and the picture is taken once the importance panel is filled. About a minute on
two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from engine.config import PRESETS
from engine.runs import RunStore
from engine.sweep import Sweep
from figs.runs_app import runs_screen

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)
BASE = PRESETS["fast"].replace(epochs=3, seed=0)
VARY = [("optimizer", ["adam", "sgd", "momentum"]), ("activation", ["relu", "tanh"]),
        ("hidden_sizes", ["32", "64", "128,64"])]
SAMPLES = ["learning_rate=log:1e-4:1"]
TRIALS = 16


def record(store: RunStore, workers: str) -> None:
    """Run the sweep: every trial becomes a recorded run in ``store``."""
    sweep = Sweep(BASE, store=store, vary=VARY, samples=SAMPLES, search="random",
                  budget=TRIALS, seed=3, name="figs-sweep", workers=workers)
    sweep.run()
    runs = [r for r in store.list() if r.config is not None]
    print(f"{len(runs)} runs recorded ({sweep.status})")


async def shoot(store: RunStore, out: Path) -> None:
    async with runs_screen(store, SIZE) as (app, pilot, screen):
        screen.sort_by("best_val_acc")
        await pilot.press("p")  # parallel coordinates, the plot focused
        # ← from the first axis wraps to the score's; its bottom edge up: the best runs
        await pilot.press("left", "shift+up", "shift+up", "shift+up", "shift+up")
        for _ in range(200):
            await pilot.pause(0.1)
            if screen.importance is not None:
                break
        screen.table.focus()  # its cursor (the best run) is the highlighted line
        await pilot.press("home")
        await pilot.pause(0.3)
        out.write_text(app.export_screenshot(title="nnfs-tui · runs · parallel coordinates"),
                       encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "runs-parallel.svg")
    parser.add_argument("--workers", default="auto", help="trials at once (default: a core each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs")
        record(store, args.workers)
        asyncio.run(shoot(store, args.out))


if __name__ == "__main__":
    main()
