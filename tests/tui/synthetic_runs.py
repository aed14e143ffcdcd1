"""A fixed, deterministic runs directory for the parallel-coordinates tests and snapshots.

Sixteen completed runs written as the recorder writes them (config.json, run.json,
metrics.csv), with fixed start times, so every table, plot and picture is the same on
every machine. They vary learning_rate (log 1e-4..1e-1), optimizer, hidden_sizes and
batch_size; the score is a fixed function of the learning rate mostly (best near 3e-3),
then of the optimizer, so the good region is easy to see and to assert.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from engine.config import TrainConfig
from engine.runs import RunStore

BASE = TrainConfig(hidden_sizes=(64,), epochs=3, subset=2000, val_fraction=0.1, seed=0)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-3)
OPTIMIZERS = ("adam", "sgd")
HIDDEN = ((32,), (64,), (128,), (128, 64))
BATCHES = (64, 128)


def synthetic_score(config: TrainConfig) -> float:
    """Best near learning_rate 3e-3; adam a point better than sgd; a little from the size."""
    distance = abs(math.log10(config.learning_rate) - math.log10(3e-3))
    bonus = 0.01 if config.optimizer == "adam" else 0.0
    size = 0.002 * len(config.hidden_sizes) + 0.00001 * config.hidden_sizes[0]
    return round(0.975 - 0.045 * distance ** 2 + bonus + size, 4)


def synthetic_configs(wide: bool = False) -> dict[str, TrainConfig]:
    """Name -> config of the sixteen runs; ``wide``: four more fields vary (activation,
    dropout, weight_decay, schedule), eight axes and the score in all."""
    out = {}
    for i in range(16):
        config = BASE.replace(learning_rate=LEARNING_RATES[i % 8],
                              optimizer=OPTIMIZERS[i % 2], hidden_sizes=HIDDEN[(i // 2) % 4],
                              batch_size=BATCHES[(i // 8) % 2])
        if wide:
            config = config.replace(activation=("relu", "tanh", "sigmoid")[i % 3],
                                    dropout=(0.0, 0.1, 0.2, 0.3)[(i // 3) % 4],
                                    weight_decay=(1e-5, 1e-4, 1e-3)[(i // 5) % 3],
                                    schedule=("cosine", "constant")[(i // 4) % 2])
        out[f"run-{i:02d}-{config.optimizer}"] = config
    return out


def write_synthetic_runs(root: Path, *, wide: bool = False) -> RunStore:
    """Write the sixteen runs into ``root`` (a fresh directory) and return its store."""
    store = RunStore(root)
    root.mkdir(parents=True, exist_ok=True)
    for i, (name, config) in enumerate(synthetic_configs(wide).items()):
        value = synthetic_score(config)
        path = root / name
        path.mkdir()
        (path / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        rows = ["epoch,epoch_seconds,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,"
                "lr,step"]
        for epoch in range(1, config.epochs + 1):
            acc = value - 0.02 * (config.epochs - epoch)
            loss = 0.3 + 2 * (1 - acc)
            rows.append(f"{epoch},1.0,{loss:.4f},{acc:.4f},{loss:.4f},{acc:.4f},{loss:.4f},"
                        f"{acc:.4f},{config.learning_rate},{15 * epoch}")
        (path / "metrics.csv").write_text("\n".join(rows) + "\n")
        hidden = "-".join(map(str, config.hidden_sizes))
        (path / "run.json").write_text(json.dumps({
            "name": name, "status": "completed",
            "started_at": f"2026-11-30T10:{i:02d}:00+00:00", "seconds": 10.0 + i,
            "epochs_completed": config.epochs, "architecture": f"784-{hidden}-10",
            "best_val_acc": value, "best_epoch": config.epochs, "test_acc": value - 0.001,
            "reason": "", "live_changes": [], "continued_from": None, "notes": []}))
    return store
