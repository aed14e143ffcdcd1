"""Regenerate figs/runs-compare.svg: the Runs screen at 120x40 comparing five MNIST runs.

    PYTHONPATH=. .venv/bin/python figs/make_runs_screenshot.py [--out figs/runs-compare.svg]

Six short runs (a 10,000-image subset, 8 epochs, 10% validation) are recorded in a temporary
runs directory, one of them with a learning rate far too high; the table is sorted by test
accuracy and five runs are selected, so their validation curves share the plots. Takes
about half a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from engine.config import TrainConfig
from engine.data import load_dataset
from engine.runs import RunStore
from engine.session import RunSession
from figs.runs_app import runs_screen

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)
BASE = TrainConfig(hidden_sizes=(128,), subset=10_000, val_fraction=0.1, epochs=8, seed=0)
RUNS: dict[str, TrainConfig] = {
    "adam-relu-128": BASE,
    "adam-tanh-128": BASE.replace(activation="tanh"),
    "sgd-relu-128": BASE.replace(optimizer="sgd", learning_rate=0.05),
    "momentum-sigmoid-64": BASE.replace(hidden_sizes=(64,), activation="sigmoid",
                                        optimizer="momentum", learning_rate=0.05),
    "adamw-relu-256-64": BASE.replace(hidden_sizes=(256, 64), optimizer="adamw",
                                      weight_decay=0.01),
    "sgd-lr-too-high": BASE.replace(optimizer="sgd", learning_rate=1000.0,
                                    activation="leaky_relu", schedule="constant"),
}


def record(store: RunStore) -> None:
    dataset = load_dataset("mnist", subset=BASE.subset, val_fraction=BASE.val_fraction,
                           seed=BASE.seed)
    for name, config in RUNS.items():
        finished = RunSession(config, dataset=dataset, store=store, name=name).run()
        print(f"{name}: {finished.status}")


async def shoot(store: RunStore, out: Path) -> None:
    async with runs_screen(store, SIZE) as (app, pilot, screen):
        screen.sort_by("test_acc")
        await pilot.press("home")  # the best run
        for _ in range(5):
            await pilot.press("space")  # selects and moves down
        await pilot.press("m")  # validation curves
        await pilot.press("up")
        await pilot.pause(0.3)
        out.write_text(app.export_screenshot(title="nnfs-tui · runs"), encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "runs-compare.svg")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp)
        record(store)
        asyncio.run(shoot(store, args.out))


if __name__ == "__main__":
    main()
