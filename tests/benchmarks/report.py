"""Turn the measured results into table rows (for the terminal and the JSON) and print them."""

from __future__ import annotations

from typing import Any

from tests.benchmarks import sweeps
from tests.benchmarks.machine import blas_summary


def _row(section: str, metric: str, value: float | None, unit: str, fmt: str = ".3f",
         target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"section": section, "metric": metric, "value": value, "unit": unit, "fmt": fmt,
            "target": target, "ok": ok}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _threads(label: str, run: dict[str, Any]) -> str:
    return f"{label} ({run['threads']})" if label.startswith("default") else label


def build_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure; ``ok`` is True/False where the issue sets a target, else None."""
    rows: list[dict[str, Any]] = []
    eng = res["engine"]
    seed_s = eng["seed"]["median_s"]
    default_s = eng["default"]["median_s"]
    gemm = eng["gemm"]
    floor_s = eng["floor_s"]
    s = "1 engine"
    rows += [
        _row(s, "784-64-10 sigmoid momentum bs128 (preset seed), auto threads", seed_s,
             "s/epoch"),
        _row(s, "784-256-10 relu adam bs128 (preset default), auto threads", default_s,
             "s/epoch"),
        _row(s, f"float32 GEMM {gemm['shape']}, 1 thread (median of trials)",
             gemm["median_gflops"], "GFLOP/s", ".1f"),
        _row(s, f"FLOP floor of a 784-64-10 epoch ({eng['epoch_gflop']:.1f} GFLOP / rate)",
             floor_s, "s/epoch"),
    ]
    vs_floor = _ratio(seed_s, floor_s)
    rows.append(_row(s, "784-64-10 engine / floor", vs_floor, "x", ".2f", "<= 3",
                     None if vs_floor is None else vs_floor <= 3))

    torch = res.get("torch")
    s = "2 pytorch"
    if not torch:
        rows.append(_row(s, f"PyTorch not measured ({res.get('torch_skipped', 'not installed')})",
                         None, ""))
    else:
        for label, run in torch.items():
            if "error" in run:
                rows.append(_row(s, f"torch {label}: failed ({run['error'][:60]})", None, ""))
                continue
            seed_run = run["presets"]["seed"]
            rows.append(_row(s, f"torch {run['torch']} 784-64-10, {_threads(label, run)}"
                             f" ({len(seed_run['epoch_seconds'])} epochs)",
                             seed_run["median_s"], "s/epoch"))
        for label, run in torch.items():
            if "error" in run:
                continue
            ratio = _ratio(seed_s, run["presets"]["seed"]["median_s"])
            rows.append(_row(s, f"784-64-10 engine / torch {_threads(label, run)}",
                             ratio, "x", ".2f", "<= 0.5",
                             None if ratio is None else ratio <= 0.5))
        for label, run in torch.items():
            if "error" in run or "default" not in run["presets"]:
                continue
            t = run["presets"]["default"]["median_s"]
            n = len(run["presets"]["default"]["epoch_seconds"])
            rows.append(_row(s, f"torch 784-256-10 adam, {_threads(label, run)} ({n} epochs)",
                             t, "s/epoch"))
            rows.append(_row(s, f"784-256-10 engine / torch {_threads(label, run)}",
                             _ratio(default_s, t), "x",
                             ".2f"))
        one = torch.get("1 thread")
        if one and "error" not in one:
            rows.append(_row(s, f"torch float32 GEMM {gemm['shape']}, 1 thread",
                             one["gemm_gflops"], "GFLOP/s", ".1f"))

    s = "3 default preset"
    for run in res["headless"]:
        seed = run["seed"]
        acc = run["test_acc_final"]
        ok_acc = acc is not None and acc >= 0.98 and run["epochs_run"] == 10
        rows.append(_row(s, f"seed {seed}: test accuracy after {run['epochs_run']} epochs",
                         None if acc is None else 100 * acc, "%", ".2f", ">= 98.0", ok_acc))
        rows.append(_row(s, f"seed {seed}: first epoch with test accuracy >= 98%",
                         run["epoch_reached_98"], "", "d", "<= 10",
                         run["epoch_reached_98"] is not None))
        rows.append(_row(s, f"seed {seed}: training seconds to 98%",
                         run["train_seconds_to_98"], "s", ".2f"))
        rows.append(_row(s, f"seed {seed}: wall time of `nnfs-train --preset default "
                            f"--seed {seed} --quiet`", run["wall_s"], "s", ".2f", "< 15",
                         run["exit_code"] == 0 and run["wall_s"] < 15))

    s = "4 memory"
    peak = max((run["max_rss_mb"] for run in res["headless"]), default=None)
    rows.append(_row(s, "peak RSS of a headless default-preset run (max over seeds)", peak, "MB",
                     ".0f", "< 300", None if peak is None else peak < 300))
    base = res.get("import_baseline")
    if base:
        rows.append(_row(s, "peak RSS of `python -c 'import engine'` (for scale)",
                         base["max_rss_mb"], "MB", ".0f"))

    s = "5 BLAS threads"
    by_key = {(r["threads"], r["other_core_busy"]): r for r in res["threads"]}
    for (threads, busy), r in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        state = "busy-loop on other core" if busy else "no added load"
        worst = max(r["epoch_seconds"])
        rows.append(_row(s, f"784-64-10, threads={threads}, {state} (worst epoch {worst:.2f} s)",
                         r["median_s"], "s/epoch"))
    for busy in (False, True):
        one, two = by_key.get((1, busy)), by_key.get((2, busy))
        if one and two:
            state = "busy-loop on other core" if busy else "no added load"
            rows.append(_row(s, f"threads=2 / threads=1, {state}",
                             _ratio(two["median_s"], one["median_s"]), "x", ".2f"))

    bd = res.get("breakdown")
    if bd:
        s = "6 where time goes"
        net = bd["network"]
        other = bd["loss_and_grads_s"] - bd["big_gemms_s"]
        rows += [
            _row(s, f"{net}: draw batches (gather uint8 rows)", bd["batch_s"],
                 "s/epoch"),
            _row(s, f"{net}: loss_and_grads", bd["loss_and_grads_s"], "s/epoch"),
            _row(s, f"{net}:   of which x@W1 and x.T@delta over the inked columns (alone)",
                 bd["big_gemms_s"], "s/epoch"),
            _row(s, f"{net}:   of which the rest (scaling, small ops, softmax-CE)", other,
                 "s/epoch"),
            _row(s, f"{net}: optimizer.step", bd["optimizer_step_s"], "s/epoch"),
            _row(s, f"{net}: Trainer on top (divergence check, schedule, events, locks)",
                 bd["trainer_epoch_s"] - bd["hand_loop_s"], "s/epoch"),
        ]
    ah = res.get("app_vs_headless")
    if ah:
        s = "7 app throughput"
        head, app = ah["headless"], ah["app"]
        pairs = f"{ah['pairs']} pair{'s' if ah['pairs'] != 1 else ''}"
        target = f">= {ah['target_ratio']:.2f}"
        rows += [
            _row(s, f"headless Trainer, preset default {ah['network']}, median of "
                    f"{head['epochs']} epochs", head["median_samples_per_s"], "samples/s", ".0f"),
            _row(s, f"the same in the app (F5 in run_test at {ah['app_size'][0]}x"
                    f"{ah['app_size'][1]}), median of {app['epochs']} epochs",
                 app["median_samples_per_s"], "samples/s", ".0f"),
            _row(s, f"app / headless samples/s, medians ({pairs}, rounds alternating)",
                 ah["ratio_median"], "x", ".3f", target,
                 ah["ratio_median"] >= ah["target_ratio"]),
            _row(s, "app / headless samples/s, best epoch of each", ah["ratio_best"], "x",
                 ".3f", target, ah["ratio_best"] >= ah["target_ratio"]),
            _row(s, "app / headless, lowest pair ("
                    + ", ".join(f"{r:.3f}" for r in ah["ratio_per_pair"]) + ")",
                 min(ah["ratio_per_pair"]), "x", ".3f"),
            _row(s, "app / headless, wall time epoch end to end (+events, evaluation)",
                 ah["ratio_wall_median"], "x", ".3f"),
        ]
    kl = res.get("key_latency")
    if kl:
        s = "8 key latency"
        size = "x".join(str(n) for n in kl["app_size"])
        target = f"<= {kl['target_ms']:.0f}"
        for name, run in kl["scenarios"].items():
            n = run["n"]
            rate = (f"{run['epochs_per_s']:.0f} epochs/s" if name == "flood"
                    else f"{run['steps_per_s']:.0f} batches/s")
            label = f"{run['label']} ({rate}) at {size}: key to screen"
            rows.append(_row(s, f"{label}, median of {n}", run["median_ms"], "ms", ".0f"))
            rows.append(_row(s, f"{label}, 90th percentile", run["p90_ms"], "ms", ".0f"))
            never = f", {run['given_up']} never shown" if run["given_up"] else ""
            rows.append(_row(s, f"{label}, slowest{never}", run["max_ms"], "ms", ".0f",
                             target, run["max_ms"] <= kl["target_ms"] and not run["given_up"]))
    rows += sweeps.rows(res, _row)
    return rows


def _value(row: dict[str, Any]) -> str:
    v = row["value"]
    if v is None:
        return "-"
    text = format(v, row["fmt"])
    return f"{text} {row['unit']}".rstrip()


def format_table(rows: list[dict[str, Any]], res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"nnfs-tui benchmarks ({'quick' if res['quick'] else 'full'}), {res['created']}",
        f"machine: {m['cpu_model']}, {m['usable_cores']} usable cores, "
        f"{m['memory_gb']} GB; Python {m['python']}, NumPy {m['numpy']} with "
        f"{blas_summary(m)}; torch {m['torch'] or 'not installed'}",
        f"load average (1/5/15 min) at start {res['load_average']['start']}, "
        f"at end {res['load_average']['end']} (other users share this machine: figures are "
        "medians)",
        "",
    ]
    w_metric = max(len(r["metric"]) for r in rows)
    w_value = max(len(_value(r)) for r in rows)
    header = f"{'metric':<{w_metric}}  {'value':>{w_value}}  target    "
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            lines.append(f"-- {section} " + "-" * max(0, len(header) - len(section) - 4))
        verdict = {True: "ok", False: "MISS", None: ""}[r["ok"]]
        lines.append(f"{r['metric']:<{w_metric}}  {_value(r):>{w_value}}  "
                     f"{r['target']:<8}  {verdict}".rstrip())
    lines.append("")
    lines.append(f"took {res['duration_s']:.0f} s; JSON in {res['json_path']}")
    return "\n".join(lines)
