"""Engine timings in this process: seconds per epoch, the GEMM floor, a breakdown of where an
epoch's time goes, and the BLAS thread policy with and without a busy neighbour core."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from engine import (
    PRESETS,
    Dataset,
    EpochEnded,
    TrainConfig,
    Trainer,
    build_network,
    build_optimizer,
)
from tests.benchmarks.machine import load_average


def epoch_flops(sizes: tuple[int, ...] | list[int], n_samples: int) -> float:
    """Multiply-adds ×2 of one training epoch of an MLP: forward, weight gradients, and the
    gradient of every layer's input but the first (no one needs d(pixels)).

    784-64-10 on 60,000 samples: 60,000 · 2 · (2·50,816 + 640) ≈ 12.3 GFLOP.
    """
    mats = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    return 2.0 * n_samples * (2 * sum(mats) + sum(mats[1:]))


def train_epochs(config: TrainConfig, dataset: Dataset, *, epochs: int, warmup: int = 1,
                 threads: int | str = "auto") -> dict[str, Any]:
    """Train ``warmup + epochs`` epochs and report EpochEnded.epoch_seconds (evaluation is
    not in it). The warm-up epochs (first-touch page faults, caches) are kept apart."""
    seconds: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, EpochEnded):
            seconds.append(event.epoch_seconds)

    load = load_average()
    finished = Trainer(config.replace(epochs=warmup + epochs), dataset, on_event=on_event,
                       threads=threads).run()
    measured = seconds[warmup:]
    return {
        "median_s": statistics.median(measured),
        "min_s": min(measured),
        "epoch_seconds": [round(s, 4) for s in measured],
        "warmup_seconds": [round(s, 4) for s in seconds[:warmup]],
        "threads": threads,
        "status": finished.status,
        "load_average_before": load,
    }


def gemm_gflops(m: int = 128, k: int = 784, n: int = 64, *, trials: int = 7,
                trial_seconds: float = 0.1, threads: int = 1) -> dict[str, Any]:
    """float32 GEMM rate of (m,k)@(k,n) with NumPy limited to ``threads`` BLAS threads."""
    rng = np.random.default_rng(0)
    a = rng.random((m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    flop = 2.0 * m * k * n
    rates = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(50):
            np.matmul(a, b, out=out)
        for _ in range(trials):
            reps = 0
            start = time.perf_counter()
            while (elapsed := time.perf_counter() - start) < trial_seconds:
                for _ in range(20):
                    np.matmul(a, b, out=out)
                reps += 20
            rates.append(flop * reps / elapsed / 1e9)
    return {"shape": f"({m},{k})@({k},{n})", "threads": threads,
            "median_gflops": statistics.median(rates), "best_gflops": max(rates),
            "trials_gflops": [round(r, 1) for r in rates]}


def breakdown(config: TrainConfig, dataset: Dataset, *, epochs: int = 2) -> dict[str, Any]:
    """Where one epoch's time goes, timed through the engine's public pieces with one BLAS
    thread: drawing a batch (gather + scale to float), ``loss_and_grads`` (and inside it the
    two big GEMMs, timed alone at the same shapes), and ``optimizer.step``. The median of
    ``epochs`` hand-run epochs, each followed by one Trainer epoch so that what the Trainer
    adds on top (the difference of the two) is measured under the same load."""
    x, y = dataset.x_train, dataset.y_train
    n_train, bs = len(x), config.batch_size
    network = build_network(config, dataset.n_features, dataset.n_classes)
    optimizer = build_optimizer(config)
    rng = np.random.default_rng(0)
    phases: dict[str, list[float]] = {"batch": [], "loss_and_grads": [], "optimizer_step": [],
                                      "gemm_forward": [], "gemm_weight_grad": [], "trainer": []}
    clock = time.perf_counter
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs + 1):  # the first is a warm-up
            perm = rng.permutation(n_train)
            t_batch = t_lg = t_step = 0.0
            for start in range(0, n_train, bs):
                t0 = clock()
                idx = perm[start:start + bs]
                xb = x[idx]  # uint8, as the Trainer passes it: the network scales it
                yb = y[idx].astype(np.intp)
                t1 = clock()
                _, _, grads = network.loss_and_grads(xb, yb)
                t2 = clock()
                optimizer.step(network.params, grads, config.learning_rate)
                t3 = clock()
                t_batch += t1 - t0
                t_lg += t2 - t1
                t_step += t3 - t2
            # The two products that scale with the input width, alone, at batch shapes and
            # over the columns the network multiplies (those a batch inks).
            xb, cols = network.prepare_input(x[perm[:bs]])
            w1 = network.params["W1"] if cols is None else network.params["W1"][cols]
            delta = np.ones((bs, w1.shape[1]), dtype=network.dtype)
            n_batches = -(-n_train // bs)
            t0 = clock()
            for _ in range(n_batches):
                xb @ w1
            t1 = clock()
            for _ in range(n_batches):
                xb.T @ delta
            t2 = clock()
            for key, value in (("batch", t_batch), ("loss_and_grads", t_lg),
                               ("optimizer_step", t_step), ("gemm_forward", t1 - t0),
                               ("gemm_weight_grad", t2 - t1)):
                phases[key].append(value)
            phases["trainer"].append(train_epochs(config, dataset, epochs=1, warmup=0,
                                                  threads=1)["median_s"])
    med = {k: statistics.median(v[1:]) for k, v in phases.items()}
    return {
        "network": "-".join(str(s) for s in network.sizes),
        "batch_s": med["batch"],
        "loss_and_grads_s": med["loss_and_grads"],
        "big_gemms_s": med["gemm_forward"] + med["gemm_weight_grad"],
        "gemm_forward_s": med["gemm_forward"],
        "gemm_weight_grad_s": med["gemm_weight_grad"],
        "optimizer_step_s": med["optimizer_step"],
        "hand_loop_s": med["batch"] + med["loss_and_grads"] + med["optimizer_step"],
        "trainer_epoch_s": med["trainer"],
    }


@contextmanager
def busy_core(enabled: bool) -> Iterator[subprocess.Popen | None]:
    """A separate process spinning in a pure-Python loop (one core kept busy), or nothing."""
    if not enabled:
        yield None
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        yield proc
    finally:
        proc.kill()
        proc.wait()


def thread_policy(dataset: Dataset, *, epochs: int) -> list[dict[str, Any]]:
    """784-64-10 seconds per epoch with 1 and 2 BLAS threads, without and with a busy-loop
    process on the other core ("without" is not idle on a shared machine: see the load)."""
    config = PRESETS["seed"]
    rows = []
    for busy in (False, True):
        with busy_core(busy):
            for threads in (1, 2):
                timing = train_epochs(config, dataset, epochs=epochs, threads=threads)
                rows.append({"threads": threads, "other_core_busy": busy, **timing})
    return rows
