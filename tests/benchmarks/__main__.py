"""``python -m tests.benchmarks`` (``make bench``): how fast the engine trains, against PyTorch
and against the GEMM floor, and what the figures in the README rest on.

Prints a table and writes the same figures, with the machine and its load average, to
``bench-results/latest.json``. Measures; never asserts. ``--quick`` takes fewer epochs and one
seed (about a minute); the full run takes 2-3 minutes (longer when other jobs make PyTorch's
two-thread runs crawl).

Sections: (1) engine seconds per epoch and the FLOP floor, (2) PyTorch CPU on the same loop
when ``import torch`` works, (3) the default preset on seeds 0-2 as a user runs it, (4) peak
memory, (5) the BLAS thread policy idle and with a busy core, (6) where an epoch's time goes,
(7) training throughput inside the app against the same training headless (issue 3: >= 90%),
(8) how fast the app answers keys while the fastest possible run floods it, and while the
default preset trains (<= 200 ms), (9) sweeps: 2 local workers against one after another
(>= 1.8x), Dask's overhead per trial (<= 0.3 s), ASHA against the full sweep and TPE against
random search (``--only-sweeps`` runs this section alone, about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "bench-results" / "latest.json"


def _log(start: float, message: str) -> None:
    print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer epochs, seed 0 only")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file ({DEFAULT_OUT})")
    p.add_argument("--only-sweeps", action="store_true", help="section 9 (sweeps) alone")
    args = p.parse_args(argv)

    # Imported here so `--help` is instant.
    from engine import PRESETS, load_dataset
    from tests.benchmarks import (
        compare,
        engine_bench,
        headless,
        in_app,
        key_latency,
        machine,
        report,
    )

    start = time.perf_counter()
    # Engine vs torch: rounds × epochs per round measured epochs each (plus one warm-up).
    rounds, per_round = (2, 2) if args.quick else (4, 2)
    seeds = (0,) if args.quick else (0, 1, 2)
    # App vs headless: pairs of (headless round, app round), each warm-up + epochs epochs.
    app_pairs, app_epochs = (1, 3) if args.quick else (3, 4)
    # Key latency: rounds of (F1, Escape, n) presses per scenario.
    key_rounds = 5 if args.quick else 10
    res: dict[str, Any] = {
        "schema": 1,
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine.describe(),
        "load_average": {"start": machine.load_average()},
        "settings": {"rounds": rounds, "epochs_per_round": per_round, "warmup_epochs": 1,
                     "seeds": list(seeds), "engine_threads": "auto",
                     "app_vs_headless": {"pairs": app_pairs, "epochs_per_round": app_epochs,
                                         "warmup_epochs": 1},
                     "key_latency": {"rounds": key_rounds}},
    }

    if args.only_sweeps:
        return _sweeps_only(res, args.out, start)

    _log(start, "loading MNIST")
    t0 = time.perf_counter()
    dataset = load_dataset("mnist")
    res["dataset_load_s"] = time.perf_counter() - t0

    _log(start, "engine: single-core GEMM rate and the FLOP floor")
    gemm = engine_bench.gemm_gflops()
    seed_cfg = PRESETS["seed"]
    flop = engine_bench.epoch_flops([dataset.n_features, *seed_cfg.hidden_sizes,
                                     dataset.n_classes], len(dataset.x_train))

    if args.no_torch:
        res["torch_skipped"] = "--no-torch"
    elif importlib.util.find_spec("torch") is None:
        res["torch_skipped"] = "torch is not installed"
    with_torch = "torch_skipped" not in res
    _log(start, "engine" + (" and PyTorch CPU, alternating rounds" if with_torch else ""))
    timings = compare.engine_vs_torch(
        dataset, presets=("seed", "default"), rounds=rounds, epochs_per_round=per_round,
        with_torch=with_torch, root=ROOT, budget_s=15.0 if args.quick else 45.0,
        log=lambda msg: _log(start, "  " + msg))
    res["engine"] = {
        "gemm": gemm,
        "epoch_gflop": flop / 1e9,
        "floor_s": flop / (gemm["median_gflops"] * 1e9),
        "floor_best_s": flop / (gemm["best_gflops"] * 1e9),
        **timings["engine"],
    }
    res["load_average"]["during_comparison"] = timings["load_averages"]
    if with_torch:
        res["torch"] = timings["torch"]

    _log(start, "in the app: default preset trained by F5 in run_test vs headless, alternating")
    res["app_vs_headless"] = in_app.app_vs_headless(
        dataset, preset="default", pairs=app_pairs, epochs=app_epochs, warmup=1,
        log=lambda msg: _log(start, "  " + msg))
    res["load_average"]["during_app_vs_headless"] = res["app_vs_headless"]["load_averages"]

    _log(start, "in the app: key latency while training floods the UI (F1, Escape, n)")
    res["key_latency"] = key_latency.key_latency(rounds=key_rounds,
                                                 log=lambda msg: _log(start, "  " + msg))

    _log(start, "engine: where an epoch's time goes")
    res["breakdown"] = engine_bench.breakdown(seed_cfg, dataset, epochs=1 if args.quick else 3)

    _log(start, "engine: BLAS threads 1 and 2, idle and with a busy core")
    res["threads"] = engine_bench.thread_policy(dataset, epochs=3 if args.quick else 5)

    res["headless"] = []
    for seed in seeds:
        _log(start, f"headless: nnfs-train --preset default --seed {seed} --quiet")
        res["headless"].append(headless.default_preset_run(seed))
    res["import_baseline"] = {k: v for k, v in headless.python_baseline().items()
                              if k not in ("stdout", "stderr")}

    res["sweeps"] = _sweeps(start)

    res["load_average"]["end"] = machine.load_average()
    res["duration_s"] = time.perf_counter() - start
    out = args.out.resolve()
    res["json_path"] = str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)
    rows = report.build_rows(res)
    res["table"] = [{k: v for k, v in r.items() if k != "fmt"} for r in rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(report.format_table(rows, res))
    return 0


def _sweeps(start: float) -> dict[str, Any]:
    from tests.benchmarks import sweeps

    def log(msg: str) -> None:
        _log(start, "  " + msg)

    _log(start, "sweeps: 2 local workers against one after another")
    out: dict[str, Any] = {"parallel_vs_serial": sweeps.parallel_vs_serial(log)}
    if importlib.util.find_spec("distributed") is None:
        out["dask_skipped"] = "distributed is not installed (pip install 'nnfs-tui[cluster]')"
    else:
        _log(start, "sweeps: a Dask LocalCluster against local processes")
        out["dask_overhead"] = sweeps.dask_overhead(log)
    _log(start, "sweeps: how long a stop takes")
    out["stop_time"] = sweeps.stop_time(log)
    _log(start, "sweeps: keys on the sweep view while 2 workers train")
    out["key_latency"] = sweeps.key_latency_during_sweep(log=log)
    _log(start, "sweeps: full random sweep, ASHA, TPE")
    out["pruning_and_search"] = sweeps.pruning_and_search(log)
    return out


def _sweeps_only(res: dict[str, Any], out_path: Path, start: float) -> int:
    from tests.benchmarks import machine, report, sweeps

    res["sweeps"] = _sweeps(start)
    res["load_average"]["end"] = machine.load_average()
    res["duration_s"] = time.perf_counter() - start
    out = out_path.resolve()
    res["json_path"] = str(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)
    rows = sweeps.rows(res, report._row)
    res["table"] = [{k: v for k, v in r.items() if k != "fmt"} for r in rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    print(report.format_table(rows, res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
