"""Engine against PyTorch, seconds per epoch, measured in alternating rounds.

Other people's jobs come and go on a shared machine; timing the engine first and PyTorch a
minute later lets one of them catch a busy spell the other missed (we saw a 0.22 s engine
epoch read 0.36 s that way). So each round times a couple of epochs of every contender, in a
rotating order, and the medians are taken over all rounds.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from engine import PRESETS, Dataset
from tests.benchmarks.engine_bench import train_epochs
from tests.benchmarks.machine import load_average
from tests.benchmarks.torch_ref import TorchWorker

#: Torch contenders: label → thread setting ("1" matches the engine's policy).
TORCH_THREADS = {"1 thread": "1", "default threads": "default"}


def _pool(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [s for run in runs for s in run["epoch_seconds"]]
    return {"median_s": statistics.median(seconds), "min_s": min(seconds),
            "epoch_seconds": seconds,
            "warmup_seconds": [s for run in runs for s in run["warmup_seconds"]],
            "rounds": len(runs)}


def engine_vs_torch(dataset: Dataset, *, presets: tuple[str, ...], rounds: int,
                    epochs_per_round: int, with_torch: bool, root: Path,
                    budget_s: float = 60.0, log: Any = None) -> dict[str, Any]:
    """Pooled per-epoch timings of the engine (auto threads) and, when ``with_torch``, of
    PyTorch at 1 and at its default number of threads, for each preset's network.

    A contender that has used ``budget_s`` seconds on one preset sits out the later rounds
    (two threads on a busy 2-core machine can take 10-40x longer; its figure is then
    pooled from fewer rounds, which the JSON records)."""
    workers: dict[str, TorchWorker] = {}
    errors: dict[str, str] = {}
    if with_torch:
        for label, threads in TORCH_THREADS.items():
            try:
                workers[label] = TorchWorker(threads, cwd=str(root))
            except Exception as exc:  # reported in the table, the rest still runs
                errors[label] = str(exc)
    contenders = ["engine", *workers]
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    loads: list[list[float]] = []
    try:
        for preset_name in presets:
            config = PRESETS[preset_name]
            for r in range(rounds):
                warmup = 1 if r == 0 else 0
                loads.append(load_average())
                if log:
                    log(f"{preset_name}: round {r + 1}/{rounds} ({', '.join(contenders)})")
                order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
                for who in order:
                    spent = sum(sum(run["epoch_seconds"]) + sum(run["warmup_seconds"])
                                for run in samples.get((who, preset_name), []))
                    if spent > budget_s:
                        if log:
                            log(f"{preset_name}: {who} sits out (used {spent:.0f} s)")
                        continue
                    if who == "engine":
                        run = train_epochs(config, dataset, epochs=epochs_per_round,
                                           warmup=warmup)
                    else:
                        run = workers[who].train(preset_name, epochs_per_round, warmup)
                        time.sleep(0.2)  # let torch's OpenMP threads go idle
                    samples.setdefault((who, preset_name), []).append(run)
    finally:
        for worker in workers.values():
            worker.close()
    result: dict[str, Any] = {
        "engine": {p: _pool(samples[("engine", p)]) for p in presets},
        "load_averages": loads,
    }
    if with_torch:
        result["torch"] = {label: {"error": msg} for label, msg in errors.items()}
        for label, worker in workers.items():
            result["torch"][label] = {**worker.info, "presets": {
                p: {**_pool(samples[(label, p)]),
                    "network": samples[(label, p)][0]["network"]} for p in presets}}
    return result
