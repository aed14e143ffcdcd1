"""Whole headless runs of ``nnfs-train`` in a subprocess: wall time, accuracy per epoch and
peak memory (the child's own max RSS, from ``os.wait4``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.machine import load_average

TARGET_ACCURACY = 0.98


def nnfs_train_command() -> list[str]:
    """The venv's ``nnfs-train`` script, or ``python -m engine.cli`` when it is not there."""
    script = Path(sys.executable).with_name("nnfs-train")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "engine.cli"]


def run_child(args: list[str], *, timeout: float = 300.0) -> dict[str, Any]:
    """Run a command through the small ``peak_rss.py`` launcher (see there why), returning
    its wall time, max RSS, CPU time, stdout and stderr."""
    launcher = Path(__file__).with_name("peak_rss.py")
    with tempfile.TemporaryDirectory(prefix="nnfs-bench-") as tmp:
        stats_path = Path(tmp) / "rusage.json"
        load = load_average()
        proc = subprocess.run([sys.executable, str(launcher), str(stats_path), "--", *args],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        try:
            stats = json.loads(stats_path.read_text())
        except (OSError, ValueError):
            stats = {"exit_code": proc.returncode, "wall_s": None, "max_rss_kib": None,
                     "user_s": None, "system_s": None}
    kib = stats["max_rss_kib"]
    return {
        "command": " ".join([Path(args[0]).name, *args[1:]]),
        "exit_code": stats["exit_code"],
        "wall_s": stats["wall_s"],
        "max_rss_mb": None if kib is None else kib * 1024 / 1e6,
        "user_s": stats["user_s"],
        "system_s": stats["system_s"],
        "load_average_before": load,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }


def default_preset_run(seed: int) -> dict[str, Any]:
    """``nnfs-train --preset default --seed S --quiet --json``: --json only adds one line of
    per-epoch metrics to stdout, so the wall time is that of the ``--quiet`` run."""
    child = run_child([*nnfs_train_command(), "--preset", "default", "--seed", str(seed),
                       "--quiet", "--json"])
    epochs = []
    for line in child["stdout"].splitlines():
        line = line.strip()
        if line.startswith("{"):
            epochs.append(json.loads(line))
    reached = next((e for e in epochs if (e.get("test_acc") or 0) >= TARGET_ACCURACY), None)
    train_seconds_to_target = None
    if reached is not None:
        train_seconds_to_target = sum(e["epoch_seconds"] for e in epochs
                                      if e["epoch"] <= reached["epoch"])
    return {
        "seed": seed,
        "command": child["command"],
        "exit_code": child["exit_code"],
        "wall_s": child["wall_s"],
        "max_rss_mb": child["max_rss_mb"],
        "cpu_s": (child["user_s"] or 0.0) + (child["system_s"] or 0.0),
        "load_average_before": child["load_average_before"],
        "epochs_run": len(epochs),
        "test_acc_final": epochs[-1]["test_acc"] if epochs else None,
        "test_acc_per_epoch": [e["test_acc"] for e in epochs],
        "epoch_seconds": [round(e["epoch_seconds"], 4) for e in epochs],
        "train_seconds_total": sum(e["epoch_seconds"] for e in epochs),
        "epoch_reached_98": reached["epoch"] if reached else None,
        "train_seconds_to_98": train_seconds_to_target,
        "summary": "\n".join(child["stderr"].strip().splitlines()[-3:]),
    }


def python_baseline() -> dict[str, Any]:
    """Max RSS of a Python that only imports the engine: the floor under a run's memory."""
    return run_child([sys.executable, "-c", "import engine"], timeout=60)
