"""Sweeps that scale (issue 9): measured, never asserted.

    parallel_vs_serial   8 trials of the fast preset on 2 local worker processes against the
                         same 8 one after another in this process (target >= 1.8x)
    dask_overhead        the same 8 trials on a Dask LocalCluster (127.0.0.1, 2 worker
                         processes, no dashboard) against the 2 local processes: extra
                         seconds per trial (target <= 0.3 s)
    pruning_and_search   a fixed 16-trial random sweep over learning rate, hidden sizes and
                         batch size, trained in full, pruned by ASHA, and searched by TPE
                         with the same budget and seed: best validation accuracy, epochs
                         trained (ASHA: within 0.3 points using <= 40% of the epochs)
    stop_time            `nnfs-train sweep --workers 2` stopped mid-trial by SIGINT (to its
                         group, as Ctrl-C), SIGTERM and SIGHUP, and the engine's Sweep.stop()
                         (what F7 calls): seconds from the signal to the process's exit, or
                         to run() returning (target <= 5 s)

Every sweep is the engine's :class:`~engine.sweep.Sweep`, recording into a throwaway runs
directory; trial wall times include the executors' start-up (what a user waits for). Each
figure carries the 1-minute load average when it was taken (other processes on the machine
slow the 2-worker side more than the one-after-another side).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import PRESETS
from engine.runs import RunStore, read_metrics
from engine.sweep import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    Sweep,
    TrialUpdate,
)
from engine.sweep.executors import WORKER_NICE
from tests.benchmarks.machine import load_average

ROOT = Path(__file__).resolve().parents[2]

#: Eight learning rates around the fast preset's own: the same data and work for every trial
#: (a seed would change the split and so reload the data).
RATES = ["0.001", "0.0015", "0.002", "0.0025", "0.003", "0.0035", "0.004", "0.005"]
#: The fixed search space of the pruning and search comparison.
SPACE_VARY = [("hidden_sizes", ["32", "64", "128"]), ("batch_size", ["32", "64", "128", "256"])]
SPACE_SAMPLES = ["learning_rate=log:1e-4:1e-1"]
#: Epochs of each trial there: ASHA's rungs (min 1, factor 3) fall at 1, 3 and 9.
SEARCH_EPOCHS = 9


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine since boot, of this process and its waited-for
    children): their difference over a run is what other processes took meanwhile."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
        busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        busy = float("nan")
    own = sum(getattr(resource.getrusage(who), k) for who in
              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for k in ("ru_utime", "ru_stime"))
    return busy, own


def _timed_sweep(executor: Callable[[], Executor], root: Path, name: str,
                 **kwargs: Any) -> dict[str, Any]:
    """Run one sweep (its executor built inside the timing); seconds, trials, scores."""
    store = RunStore(root)
    order: list[int] = []

    def on_update(update: TrialUpdate) -> None:
        if update.status in ("completed", "pruned", "diverged", "failed"):
            order.append(update.trial.index)

    load = load_average()[:1]
    busy0, own0 = _cpu_seconds()
    start = time.perf_counter()
    sweep = Sweep(kwargs.pop("base", PRESETS["fast"]), store=store, name=name,
                  executor=executor(), on_update=on_update, **kwargs)
    sweep.run()
    seconds = time.perf_counter() - start
    busy1, own1 = _cpu_seconds()
    others = max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds
    entries = [sweep.entries[i] for i in sorted(sweep.entries)]
    epochs = []
    for entry in entries:
        rows = read_metrics(store.path_of(entry["run"]) / "metrics.csv")
        epochs.append(len(rows))
    return {"seconds": seconds, "load_1min": load[0] if load else None,
            "others_cores": others,
            "trials": len(entries), "where": sweep.settings["where"],
            "forked": getattr(getattr(sweep.executor, "inner", sweep.executor), "forked", None),
            "statuses": [e["status"] for e in entries],
            "scores": [e["score"] for e in entries], "epochs": epochs}


class _KeptOpen:
    """An executor whose workers outlive the sweep (to time warm workers)."""

    def __init__(self, inner: LocalProcessExecutor) -> None:
        self.inner = inner
        self.slots, self.where = inner.slots, inner.where


    def share(self, dataset: Any) -> str:
        return self.inner.share(dataset)

    def prepare(self, config: Any) -> str:
        return self.inner.prepare(config)

    def submit(self, task: Any) -> None:
        self.inner.submit(task)

    def verdict(self, key: str, epoch: int, stop: bool) -> None:
        self.inner.verdict(key, epoch, stop)

    def messages(self, timeout: float) -> list[Any]:
        return self.inner.messages(timeout)

    def cancel(self, key: str) -> None:
        self.inner.cancel(key)

    def close(self) -> None:
        pass


#: A pair of timings counts as quiet when other processes took less than this many cores.
QUIET_CORES = 0.15


def parallel_vs_serial(log: Callable[[str], None] = print, rounds: int = 3,
                       tries: int = 10, nice: int = WORKER_NICE) -> dict[str, Any]:
    """8 fast-preset trials one after another (this process) and on 2 local processes, cold
    (the workers start inside the timing), alternating until ``rounds`` pairs were quiet
    (other processes took < QUIET_CORES of the CPUs during both) or ``tries`` pairs ran; the
    median quiet pair is reported (the median of all when none was quiet). Then warm: the
    same workers after a first sweep, kept open. ``nice``: the workers' niceness (what the
    CLI and the app use by default; on a shared machine 0 shows the executor's own speed,
    as niced workers yield to everyone else's jobs)."""
    pairs, quiet = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(tries):
            if len(quiet) >= rounds:
                break
            serial = _timed_sweep(InProcessExecutor, Path(tmp) / f"serial{r}", "serial",
                                  vary=[("learning_rate", RATES)])
            parallel = _timed_sweep(lambda: LocalProcessExecutor(2, nice=nice),
                                    Path(tmp) / f"par{r}",
                                    "parallel", vary=[("learning_rate", RATES)])
            ratio = serial["seconds"] / parallel["seconds"]
            others = max(serial["others_cores"], parallel["others_cores"])
            log(f"pair {r + 1}: one after another {serial['seconds']:.2f} s, 2 local workers "
                f"{parallel['seconds']:.2f} s: {ratio:.2f}x (others took {others:.2f} cores, "
                f"load {parallel['load_1min']})")
            pairs.append((ratio, serial, parallel))
            if others < QUIET_CORES:
                quiet.append(pairs[-1])
        chosen = quiet or pairs
        ratio, serial, parallel = sorted(chosen, key=lambda p: p[0])[len(chosen) // 2]
        t0 = time.perf_counter()
        LocalProcessExecutor(2).close()
        startup = time.perf_counter() - t0
        log("again on 2 warm workers")
        pool = LocalProcessExecutor(2, nice=nice)
        try:
            _timed_sweep(lambda: _KeptOpen(pool), Path(tmp) / "warmup", "warmup",
                         vary=[("learning_rate", RATES[:2])])
            warm = _timed_sweep(lambda: _KeptOpen(pool), Path(tmp) / "warm", "warm",
                                vary=[("learning_rate", RATES)])
        finally:
            pool.close()
        log(f"  {warm['seconds']:.2f} s")
    return {"serial": serial, "parallel": parallel, "warm": warm, "pool_start_stop_s": startup,
            "ratio": ratio, "ratios": [p[0] for p in pairs], "nice": nice,
            "quiet_ratios": [p[0] for p in quiet],
            "ratio_warm": serial["seconds"] / warm["seconds"],
            "openblas_env": {k: os.environ.get(k) for k in
                             ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}}


def dask_overhead(log: Callable[[str], None] = print, rounds: int = 2,
                  tries: int = 5) -> dict[str, Any]:
    """The same 8 trials on a Dask LocalCluster of 2 single-threaded worker processes against
    2 local processes (niceness 0, as the Dask workers), timed one right after the other
    until ``rounds`` local timings were quiet (or ``tries`` pairs ran); the median pair's
    difference per trial. The cluster is up before the timing starts (a user's cluster
    already runs); the client's connection is inside it."""
    from distributed import LocalCluster

    pairs, quiet = [], []
    with tempfile.TemporaryDirectory() as tmp, LocalCluster(
            host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None) as cluster:
        log(f"8 trials on a Dask LocalCluster at {cluster.scheduler_address} against 2 local "
            "processes")
        for r in range(tries):
            if len(quiet) >= rounds:
                break
            local = _timed_sweep(lambda: LocalProcessExecutor(2, nice=0),
                                 Path(tmp) / f"local{r}", "local",
                                 vary=[("learning_rate", RATES)])
            dask = _timed_sweep(lambda: DaskExecutor(cluster.scheduler_address),
                                Path(tmp) / f"dask{r}", "dask", vary=[("learning_rate", RATES)])
            per_trial = (dask["seconds"] - local["seconds"]) / dask["trials"]
            log(f"  pair {r + 1}: local {local['seconds']:.2f} s, Dask {dask['seconds']:.2f} s: "
                f"{per_trial:+.2f} s per trial (others took {local['others_cores']:.2f} cores, "
                f"load {dask['load_1min']})")
            pairs.append((per_trial, local, dask))
            if local["others_cores"] < QUIET_CORES:
                quiet.append(pairs[-1])
    chosen = quiet or pairs
    per_trial, local, dask = sorted(chosen, key=lambda p: p[0])[len(chosen) // 2]
    return {"dask": dask, "local": local, "overhead_per_trial_s": per_trial,
            "per_trial_all": [p[0] for p in pairs], "quiet": len(quiet)}


def _best_after(run: dict[str, Any], n: int) -> float | None:
    scores = [s for s in run["scores"][:n] if s is not None]
    return max(scores) if scores else None


def pruning_and_search(log: Callable[[str], None] = print, *, budget: int = 16,
                       seed: int = 0) -> dict[str, Any]:
    """Full random sweep, the same sweep pruned by ASHA, and TPE with the same budget and
    seed, each on 2 local processes."""
    base = PRESETS["fast"].replace(epochs=SEARCH_EPOCHS)
    out: dict[str, Any] = {"budget": budget, "seed": seed, "epochs_per_trial": SEARCH_EPOCHS,
                           "space": {"vary": SPACE_VARY, "samples": SPACE_SAMPLES}}
    with tempfile.TemporaryDirectory() as tmp:
        for label, search, prune in (("random", "random", "none"),
                                     ("random+asha", "random", "asha"),
                                     ("tpe", "tpe", "none")):
            log(f"{budget} trials: {search} search, pruning {prune}")
            run = _timed_sweep(lambda: LocalProcessExecutor(2), Path(tmp) / label,
                               label.replace("+", "-"), base=base, vary=SPACE_VARY,
                               samples=SPACE_SAMPLES, search=search, budget=budget,
                               seed=seed, prune=prune)
            run["best"] = _best_after(run, budget)
            run["best_after_8"] = _best_after(run, 8)
            run["epochs_trained"] = sum(run["epochs"])
            log(f"  best {100 * (run['best'] or 0):.2f}% after {run['epochs_trained']} epochs,"
                f" {run['seconds']:.0f} s")
            out[label] = run
    full, asha = out["random"], out["random+asha"]
    out["asha_gap_points"] = (100 * (full["best"] - asha["best"])
                              if full["best"] is not None and asha["best"] is not None
                              else None)
    out["asha_epoch_share"] = asha["epochs_trained"] / max(1, full["epochs_trained"])
    return out


#: A trial that is still training when the stop comes: the default preset (full MNIST).
STOP_ARGS = ["--preset", "default", "--epochs", "3", "--vary", "learning_rate", "0.001",
             "0.002", "0.003", "--workers", "2"]


def _cli_stop(signum: int, root: Path) -> dict[str, Any]:
    """Start `nnfs-train sweep` (its own process group), wait for a trial's first batches,
    send ``signum`` (to the group for SIGINT and SIGHUP, as a terminal does); seconds to the
    process's exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "sweep", *STOP_ARGS,
                             "--runs-dir", str(root), "--name", "stop"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not any((root / f"stop-00{i}").is_dir() or (root / "sweeps" / "stop").is_dir()
                  for i in range(3)):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"the sweep did not start: {proc.communicate()[1][-500:]}")
        time.sleep(0.05)
    time.sleep(3.0)  # both workers mid-epoch
    load = load_average()[:1]
    sent = time.perf_counter()
    if signum in (signal.SIGINT, signal.SIGHUP):
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    proc.communicate(timeout=60)
    seconds = time.perf_counter() - sent
    return {"seconds": seconds, "exit": proc.returncode, "load_1min": load[0] if load else None}


def _engine_stop(root: Path) -> dict[str, Any]:
    """Sweep.stop() (F7) from another thread while 2 local workers train; seconds to run()
    returning with every record written."""
    sweep = Sweep(PRESETS["default"].replace(epochs=3), store=RunStore(root), name="f7",
                  vary=[("learning_rate", ["0.001", "0.002", "0.003"])],
                  executor=LocalProcessExecutor(2))
    thread = threading.Thread(target=sweep.run)
    thread.start()
    deadline = time.monotonic() + 120
    while sum(e.get("where", "") != "" for e in sweep.entries.values()) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("the trials did not start")
        time.sleep(0.05)
    time.sleep(3.0)
    load = load_average()[:1]
    sent = time.perf_counter()
    sweep.stop()
    thread.join()
    return {"seconds": time.perf_counter() - sent, "status": sweep.status,
            "load_1min": load[0] if load else None}


def stop_time(log: Callable[[str], None] = print) -> dict[str, Any]:
    """How long a stop takes: signals to `nnfs-train sweep`, and Sweep.stop() (F7)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            name = signal.Signals(sig).name
            log(f"nnfs-train sweep --workers 2 (default preset), {name} mid-trial")
            out[name] = _cli_stop(sig, Path(tmp) / name)
            log(f"  exited {out[name]['seconds']:.2f} s after it (status "
                f"{out[name]['exit']}, load {out[name]['load_1min']})")
        log("Sweep.stop() (F7) while 2 local workers train")
        out["F7"] = _engine_stop(Path(tmp) / "f7")
        log(f"  run() returned {out['F7']['seconds']:.2f} s after it")
    out["max_s"] = max(v["seconds"] for v in out.values())
    return out


def rows(res: dict[str, Any], row: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """The table rows of the sweep figures (``row`` is report._row)."""
    sw = res.get("sweeps")
    if not sw:
        return []
    s = "9 sweeps"
    out = []
    pvs = sw.get("parallel_vs_serial")
    if pvs:
        out += [
            row(s, "8 fast-preset trials one after another (this process)",
                pvs["serial"]["seconds"], "s", ".1f"),
            row(s, "the same on 2 local worker processes (incl. their start)",
                pvs["parallel"]["seconds"], "s", ".1f"),
            row(s, f"throughput, 2 local workers / one after another (median of "
                f"{len(pvs.get('quiet_ratios') or pvs.get('ratios', [0]))} "
                f"{'quiet ' if pvs.get('quiet_ratios') else ''}pairs; load "
                f"{pvs['parallel'].get('load_1min')})",
                pvs["ratio"], "x", ".2f", ">= 1.8", pvs["ratio"] >= 1.8),
            row(s, "start and stop of 2 idle local workers", pvs["pool_start_stop_s"], "s",
                ".2f"),
            row(s, "the same 8 on 2 warm workers (imports done, data loaded)",
                pvs["warm"]["seconds"], "s", ".1f"),
            row(s, "throughput, 2 warm workers / one after another", pvs["ratio_warm"], "x",
                ".2f"),
        ]
    dk = sw.get("dask_overhead")
    if dk:
        out += [
            row(s, "the same on a Dask LocalCluster (2 worker processes)",
                dk["dask"]["seconds"], "s", ".1f"),
            row(s, f"Dask overhead per trial against local processes (median of "
                f"{dk.get('quiet') or len(dk.get('per_trial_all', [0]))} pairs; load "
                f"{dk['dask'].get('load_1min')})",
                dk["overhead_per_trial_s"], "s", ".2f", "<= 0.3",
                dk["overhead_per_trial_s"] <= 0.3),
        ]
    st = sw.get("stop_time")
    if st:
        out += [row(s, f"stop: {k} to exit, 2 workers mid-trial (load {v['load_1min']})",
                    v["seconds"], "s", ".2f", "<= 5", v["seconds"] <= 5)
                for k, v in st.items() if isinstance(v, dict)]
    kl = sw.get("key_latency")
    if kl:
        out += [
            row(s, "sweep view, 2 workers training: key to screen, median", kl["median_ms"],
                "ms", ".0f"),
            row(s, "the same, slowest key", kl["max_ms"], "ms", ".0f", "<= 200",
                kl["max_ms"] <= 200),
        ]
    ps = sw.get("pruning_and_search")
    if ps:
        full, asha, tpe = ps["random"], ps["random+asha"], ps["tpe"]
        n = ps["budget"]
        out += [
            row(s, f"random search, {n} trials x {ps['epochs_per_trial']} epochs: best val",
                100 * full["best"], "%", ".2f"),
            row(s, "the same pruned by ASHA: best val", 100 * asha["best"], "%", ".2f"),
            row(s, "ASHA: points below the full sweep's best", ps["asha_gap_points"], "pt",
                ".2f", "<= 0.3", ps["asha_gap_points"] <= 0.3),
            row(s, "ASHA: share of the full sweep's epochs", 100 * ps["asha_epoch_share"], "%",
                ".0f", "<= 40", ps["asha_epoch_share"] <= 0.4),
            row(s, "random search: best val after 8 trials", 100 * full["best_after_8"], "%",
                ".2f"),
            row(s, "TPE, same budget and seed: best val after 8 trials",
                100 * tpe["best_after_8"], "%", ".2f"),
            row(s, f"random search: best val after {n} trials", 100 * full["best"], "%",
                ".2f"),
            row(s, f"TPE: best val after {n} trials", 100 * tpe["best"], "%", ".2f"),
        ]
    return out


async def _keys_during_sweep(rounds: int, seed: int) -> dict[str, Any]:
    import asyncio
    import random

    from textual import events

    from nnfs_tui.app import create_app
    from nnfs_tui.dialogs.sweep import check_sweep
    from nnfs_tui.screens import HelpScreen
    from nnfs_tui.screens.sweep import SweepScreen
    from tests.benchmarks.key_latency import APP_SIZE, GIVE_UP_S, FrameProbe, summarize

    rng = random.Random(seed)
    deadline = time.monotonic() + 300

    async def until(condition: Callable[[], bool], what: str) -> None:
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not reach {what}")
            await asyncio.sleep(0.01)

    base = PRESETS["fast"].replace(epochs=1000)
    with tempfile.TemporaryDirectory(prefix="nnfs-bench-sweep-keys-") as runs_dir:
        app = create_app(base, timing=True, runs_dir=runs_dir)
        async with app.run_test(size=APP_SIZE):
            await until(lambda: bool(app.train_screen.query("DigitViewer"))
                        and app.train_screen.digits.dataset is not None, "the test images")
            sweeps = app.controller.sweeps
            sweeps.start(check_sweep(base, ["learning_rate: 0.002 0.003"], workers="2"),
                         "keys")
            view = sweeps.view
            assert view is not None
            await until(lambda: len(view.rows) == 2
                        and all(r.epoch >= 2 for r in view.rows.values()),
                        "both trials' second epoch")
            probe = FrameProbe(app)

            def post(key: str) -> None:
                event = events.Key(key, None)
                event.set_sender(app)
                app._driver.send_message(event)

            by_key: dict[str, list[float]] = {"help opens": [], "help closes": []}
            for _ in range(rounds):
                for key, what, kind in (("f1", "help opens", HelpScreen),
                                        ("escape", "help closes", SweepScreen)):
                    future = probe.expect(lambda s, k=kind: isinstance(s, k))
                    sent = time.perf_counter()
                    post(key)
                    try:
                        shown = await asyncio.wait_for(future, GIVE_UP_S)
                    except TimeoutError:
                        shown = sent + GIVE_UP_S
                    by_key[what].append(1000 * (shown - sent))
                    await asyncio.sleep(rng.uniform(0.08, 0.2))
            epochs = sum(r.epoch for r in view.rows.values())
            post("f7")
            await until(lambda: not sweeps.running, "the sweep to stop")
    latencies = [ms for values in by_key.values() for ms in values]
    return {**summarize(latencies), "by_key": {k: summarize(v) for k, v in by_key.items()},
            "trial_epochs_seen": epochs}


def key_latency_during_sweep(rounds: int = 10, log: Callable[[str], None] = print,
                             seed: int = 0) -> dict[str, Any]:
    """Keys (F1, Escape) answered on the sweep view at 120x40 while 2 local workers train
    the fast preset (the UI thread shares the 2 cores with them)."""
    import asyncio

    log(f"sweep view at 120x40, 2 local workers training: {rounds} x (F1, Escape)")
    got = asyncio.run(_keys_during_sweep(rounds, seed))
    log(f"  median {got['median_ms']:.0f} ms, slowest {got['max_ms']:.0f} ms")
    return got
