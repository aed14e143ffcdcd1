"""Sweeps that scale: the driver records what the workers stream home, prunes hopeless trials,
resumes, retries a trial whose worker was killed, and trains the same weights on every
backend (in this process, a local worker process, a Dask cluster on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading

import numpy as np
import pytest

from engine import TrainConfig, load_checkpoint
from engine.cli import main
from engine.data import Dataset
from engine.errors import NNFSError
from engine.events import EpochEnded
from engine.runs import RunStore, read_metrics
from engine.session import RunSession
from engine.sweep import (
    INSTALL_CLUSTER,
    DaskExecutor,
    InProcessExecutor,
    LocalProcessExecutor,
    Sweep,
    SweepError,
    make_executor,
    run_trial,
    sweep_record,
)
from engine.sweep.trial import check_dataset, dataset_digest

BASE = TrainConfig(hidden_sizes=(16,), epochs=3, batch_size=100, seed=0, subset=1500,
                   learning_rate=0.05, optimizer="sgd",
                   val_fraction=500 / 60000)
RATES = ["0.05", "0.1", "0.2"]


def weights(path):
    return load_checkpoint(path).params


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.fixture(scope="module")
def straight():
    """The final weights of BASE trained as one ordinary, uninterrupted run."""
    session = RunSession(BASE, store=None, threads=1)
    session.run()
    return session.trainer.training_state().params


def test_the_driver_records_every_trial_and_the_sweep(tmp_path):
    store = RunStore(tmp_path)
    seen = []
    sweep = Sweep(BASE, store=store, vary=[("learning_rate", RATES[:2])], name="grid",
                  executor=InProcessExecutor(), on_update=lambda u: seen.append(u.status))
    runs = sweep.run()
    assert [r.name for r in runs] == ["grid-000", "grid-001"]
    assert all(r.status == "completed" and r.epochs_completed == 3 for r in runs)
    files = sorted(p.name for p in runs[0].path.iterdir())
    assert files == ["best.npz", "config.json", "final.npz", "last.npz", "metrics.csv",
                     "run.json"]
    assert "running" in seen and seen.count("completed") == 2
    doc = sweep_record(store, "grid")
    assert doc["status"] == "completed" and doc["search"] == "grid"
    assert [(t["run"], t["status"], t["varied"]) for t in doc["trials_run"]] == [
        ("grid-000", "completed", {"learning_rate": "0.05"}),
        ("grid-001", "completed", {"learning_rate": "0.1"})]
    assert sorted(r.name for r in store.list()) == ["grid-000", "grid-001"]  # not sweeps/


def test_asha_prunes_a_hopeless_trial_and_keeps_its_curve(tmp_path):
    store = RunStore(tmp_path)
    # the trial waits at each epoch's end for the pruner's verdict on it
    config = BASE.replace(epochs=12)
    sweep = Sweep(config, store=store, vary=[("learning_rate", ["0.1", "0.2", "1e-05"])],
                  prune="asha", name="asha", executor=InProcessExecutor())
    sweep.run()
    info = store.load("asha-002")
    assert info.status == "pruned"
    rows = read_metrics(info.path / "metrics.csv")
    assert 1 <= len(rows) < config.epochs and (info.path / "final.npz").exists()
    statuses = [t["status"] for t in sweep_record(store, "asha")["trials_run"]]
    assert statuses[0] == "completed" and statuses[2] == "pruned"  # the first is never pruned


def test_tpe_search_trains_its_budget_within_the_ranges(tmp_path):
    store = RunStore(tmp_path)
    sweep = Sweep(BASE.replace(epochs=1), store=store, samples=["learning_rate=log:0.01:0.5"],
                  vary=[("hidden_sizes", ["8", "16"])], search="tpe", budget=5, seed=3,
                  name="tpe", executor=InProcessExecutor())
    runs = sweep.run()
    assert len(runs) == 5
    for run in runs:
        assert 0.01 <= run.config.learning_rate <= 0.5
        assert run.config.hidden_sizes in ((8,), (16,))


def test_a_stopped_sweep_resumes_where_it_stopped(tmp_path, straight):
    store = RunStore(tmp_path)

    class StopDuringSecondEpoch(InProcessExecutor):
        """Ctrl-C while trial 1 trains its second epoch (said from the trial's own thread,
        so the moment is the same on a fast and a slow machine)."""

        def submit(self, task):
            def emit(msg):
                self._out.put(msg)
                if (msg.key == "res-001" and isinstance(msg.event, EpochEnded)
                        and msg.event.epoch == 1):
                    sweep.stop()
                    self.cancel(msg.key)

            threading.Thread(target=run_trial, daemon=True,
                             args=(task, emit, lambda: task.key in self._cancelled)).start()

    sweep = Sweep(BASE, store=store, vary=[("learning_rate", ["0.05", "0.1", "0.05"])],
                  name="res", executor=StopDuringSecondEpoch())
    sweep.run()
    doc = sweep_record(store, "res")
    assert doc["status"] == "stopped"
    assert [t["status"] for t in doc["trials_run"]] == ["completed", "interrupted"]
    assert store.load("res-001").status == "stopped"  # the run itself was stopped

    trained = []
    again = Sweep.resume(store, "res", executor=InProcessExecutor(),
                         on_update=lambda u: trained.append((u.run, u.event)))
    again.run()
    assert "res-000" not in {run for run, _ in trained}  # completed: not trained again
    epochs = [e.epoch for run, e in trained if run == "res-001" and isinstance(e, EpochEnded)]
    assert epochs == [2, 3]  # it went on from its last finished epoch
    doc = sweep_record(store, "res")
    assert [t["status"] for t in doc["trials_run"]] == ["completed"] * 3
    assert [r["epoch"] for r in read_metrics(store.path_of("res-001") / "metrics.csv")] == [
        1, 2, 3]
    # trial 2 is BASE with learning_rate 0.05, as BASE itself
    assert_same_weights(weights(store.path_of("res-002") / "final.npz"), straight)


def test_one_trial_trains_the_same_weights_on_every_backend(tmp_path, straight):
    distributed = pytest.importorskip("distributed")  # installed by make ([cluster] extra)
    finals = {}
    with distributed.LocalCluster(host="127.0.0.1", processes=True, n_workers=1,
                                  threads_per_worker=1, dashboard_address=None) as cluster:
        for label, executor in (("process", InProcessExecutor()),
                                ("forked", LocalProcessExecutor(1, start_method="fork")),
                                ("spawned", LocalProcessExecutor(1, start_method="spawn")),
                                ("dask", DaskExecutor(cluster.scheduler_address))):
            store = RunStore(tmp_path / label)
            Sweep(BASE, store=store, name=label, executor=executor).run()
            info = store.load(f"{label}-000")
            assert info.status == "completed"
            finals[label] = weights(info.path / "final.npz")
    for label in ("process", "forked", "spawned", "dask"):
        assert_same_weights(finals[label], straight)


def test_a_killed_local_worker_s_trial_is_retried_from_its_last_epoch(tmp_path):
    slow = BASE.replace(hidden_sizes=(128,), subset=8000, batch_size=20)  # ~1 s an epoch
    straight = RunSession(slow, store=None, threads=1)
    straight.run()
    store = RunStore(tmp_path)
    killed = []

    def kill_after_first_epoch(update):
        if (not killed and isinstance(update.event, EpochEnded) and update.event.epoch == 1):
            pid = int(sweep.entries[update.trial.index]["where"].rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    sweep = Sweep(slow, store=store, name="kill", executor=LocalProcessExecutor(1),
                  on_update=kill_after_first_epoch)
    sweep.run()
    assert killed
    entry = sweep_record(store, "kill")["trials_run"][0]
    assert entry["status"] == "completed" and entry["attempts"] == 2
    assert [r["epoch"] for r in read_metrics(store.path_of("kill-000") / "metrics.csv")] == [
        1, 2, 3]
    assert_same_weights(weights(store.path_of("kill-000") / "final.npz"),
                        straight.trainer.training_state().params)


def test_a_cluster_without_dask_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SweepError, match=r"pip install 'nnfs-tui\[cluster\]'"):
        make_executor(cluster="tcp://127.0.0.1:8786")
    assert "pip install 'nnfs-tui[cluster]'" in INSTALL_CLUSTER


def test_cli_sweep_prints_one_json_object_per_finished_trial(tmp_path, capsys):
    code = main(["sweep", "--hidden", "16", "--epochs", "1", "--subset", "1500",
                 "--batch_size", "100", "--vary", "learning_rate", "0.05", "0.1",
                 "--workers", "1", "--runs-dir", str(tmp_path), "--name", "cli", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    assert [(o["run"], o["status"], o["varied"]) for o in objs] == [
        ("cli-000", "completed", {"learning_rate": "0.05"}),
        ("cli-001", "completed", {"learning_rate": "0.1"})]
    assert "sweep cli: 2 trials (2 completed)" in err


def test_cli_sweep_logs_a_progress_line_only_when_a_trial_finishes(tmp_path, capsys):
    """stderr is not a terminal here: a log, one line per finished trial, none repeated."""
    code = main(["sweep", "--hidden", "16", "--epochs", "1", "--subset", "1500",
                 "--batch_size", "100", "--vary", "learning_rate", "0.05", "0.1", "0.2",
                 "--workers", "1", "--runs-dir", str(tmp_path), "--name", "log"])
    assert code == 0
    progress = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("sweep log: ") and "recorded in" not in line]
    assert progress == ["sweep log: 1 of 3 trials finished (1 completed)",
                        "sweep log: 2 of 3 trials finished (2 completed)",
                        "sweep log: 3 trials (3 completed)"]


# -- the driver's verdicts, stopping, data and niceness on every backend --------------------

BACKENDS = ["in-process", "forked", "spawned", "dask"]
"""In this process, local worker processes started either way, a Dask cluster."""


@pytest.fixture(scope="module")
def dask_cluster():
    """A Dask LocalCluster on 127.0.0.1 (one single-threaded worker process, no dashboard)."""
    distributed = pytest.importorskip("distributed")  # installed by make ([cluster] extra)
    with distributed.LocalCluster(host="127.0.0.1", processes=True, n_workers=1,
                                  threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster


def executor_for(backend, request):
    if backend == "in-process":
        return InProcessExecutor()
    if backend in ("forked", "spawned"):
        return LocalProcessExecutor(1, start_method={"forked": "fork",
                                                     "spawned": "spawn"}[backend])
    return DaskExecutor(request.getfixturevalue("dask_cluster").scheduler_address)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pruned_trial_stops_exactly_at_the_epoch_of_its_verdict(tmp_path, backend, request):
    """Epochs of a few milliseconds: without waiting for the verdict, the trial would train
    into its next epoch before the driver's word reached it."""
    store = RunStore(tmp_path)
    sweep = Sweep(BASE.replace(epochs=8), store=store, vary=[("learning_rate", RATES[:2])],
                  prune="median", name="verdict", executor=executor_for(backend, request))
    judged = []

    def report(index, epoch, value):  # the pruner's verdict, made certain: trial 1 after 2
        judged.append((index, epoch))
        return index == 1 and epoch == 2

    sweep.search.report = report
    sweep.run()
    assert (1, 2) in judged and (1, 3) not in judged
    pruned = store.load("verdict-001")
    assert pruned.status == "pruned" and pruned.epochs_completed == 2
    assert [r["epoch"] for r in read_metrics(pruned.path / "metrics.csv")] == [1, 2]
    final, last = (load_checkpoint(pruned.path / f) for f in ("final.npz", "last.npz"))
    assert final.loop["step"] == last.loop["step"] == 2 * 15  # 1500 samples, batches of 100
    assert_same_weights(final.params, last.params)  # not one batch after the verdict
    assert store.load("verdict-000").epochs_completed == 8  # judged on, never pruned


def test_a_trial_stopped_before_its_first_step_leaves_no_run_and_resumes_whole(tmp_path,
                                                                             straight):
    """Issue 11's slip: F7 as a trial starts recorded a run of 0 steps that looked like a
    finished one. Such a trial leaves no run record; the sweep's record says it was
    interrupted and a resumed sweep trains it from its first step."""
    store = RunStore(tmp_path)

    class StopAsTrialOneStarts(InProcessExecutor):
        def submit(self, task):
            def emit(msg):
                if msg.key == "first-001" and msg.kind == "started":
                    sweep.stop()
                    self.cancel(msg.key)  # as the driver does, before the first step
                self._out.put(msg)

            threading.Thread(target=run_trial, daemon=True,
                             args=(task, emit, lambda: task.key in self._cancelled)).start()

    sweep = Sweep(BASE, store=store, vary=[("learning_rate", ["0.1", "0.05"])], name="first",
                  executor=StopAsTrialOneStarts())
    sweep.run()
    assert [r.name for r in store.list()] == ["first-000"]
    assert not store.path_of("first-001").exists()
    entry = sweep_record(store, "first")["trials_run"][1]
    assert (entry["status"], entry["score"]) == ("interrupted", None)

    Sweep.resume(store, "first", executor=InProcessExecutor()).run()
    assert [t["status"] for t in sweep_record(store, "first")["trials_run"]] == [
        "completed"] * 2
    info = store.load("first-001")
    assert info.status == "completed" and info.continued_from is None
    assert [r["epoch"] for r in read_metrics(info.path / "metrics.csv")] == [1, 2, 3]
    assert_same_weights(weights(info.path / "final.npz"), straight)  # BASE's own rate


def tiny_dataset(seed=0):
    """A synthetic dataset, nothing like MNIST: 4x4 images of 3 classes."""
    rng = np.random.default_rng(seed)

    def split(n):
        y = rng.integers(0, 3, n).astype(np.uint8)
        x = (rng.integers(0, 60, (n, 16)) + 60 * y[:, None]).astype(np.uint8)
        return x, y

    (xt, yt), (xv, yv), (xs, ys) = split(300), split(60), split(90)
    return Dataset("tiny", xt, yt, xv, yv, xs, ys, (4, 4), ("a", "b", "c"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sweep_given_a_dataset_trains_every_trial_on_it(tmp_path, backend, request):
    store = RunStore(tmp_path)
    runs = Sweep(BASE.replace(epochs=3, batch_size=10), store=store, name="data",
                 vary=[("learning_rate", ["0.2", "0.5"])], dataset=tiny_dataset(),
                 executor=executor_for(backend, request)).run()
    assert [r.status for r in runs] == ["completed", "completed"]
    for run in runs:
        final = load_checkpoint(run.path / "final.npz")
        assert final.sizes == (16, 16, 3)  # 4x4 inputs, 3 classes: not MNIST's 784 and 10
        assert run.best_val_acc > 0.9  # the classes are easy to tell apart


def test_a_damaged_copy_of_the_driver_s_dataset_is_refused_by_its_sha256():
    dataset = tiny_dataset()
    digest = dataset_digest(dataset)
    assert check_dataset(dataset, digest) is dataset
    assert dataset_digest(tiny_dataset()) == digest  # the same data, the same digest
    damaged = tiny_dataset()
    x = damaged.x_train.copy()
    x[7, 3] ^= 1
    damaged = dataclasses.replace(damaged, x_train=x)
    with pytest.raises(NNFSError, match="does not match its SHA-256"):
        check_dataset(damaged, digest)


def test_local_workers_run_niced_below_the_driver(tmp_path):
    store = RunStore(tmp_path)
    seen = []

    def on_update(update):
        if update.status == "running" and not seen:
            pid = int(sweep.entries[update.trial.index]["where"].rsplit(":", 1)[1])
            seen.append((os.getpriority(os.PRIO_PROCESS, pid),
                         os.getpriority(os.PRIO_PROCESS, 0)))

    executor = make_executor(workers=2)  # what nnfs-train sweep --workers 2 uses
    assert isinstance(executor, LocalProcessExecutor)
    sweep = Sweep(BASE.replace(epochs=1), store=store, name="nice", executor=executor,
                  vary=[("learning_rate", RATES[:2])], on_update=on_update)
    sweep.run()
    (worker, driver), = seen
    assert worker > driver


def _stopped_then_resumed(store, name, search, at):
    """A ``search`` sweep stopped as its trial ``at`` starts, then resumed to its end."""
    def stop_at(update):
        if update.status == "running" and update.trial.index == at:
            sweep.stop()

    sweep = Sweep(BASE.replace(epochs=1), store=store, vary=[("hidden_sizes", ["8", "16"])],
                  samples=["learning_rate=log:1e-4:1e-1"], search=search, budget=6, seed=0,
                  name=name, executor=InProcessExecutor(), on_update=stop_at)
    sweep.run()
    assert sweep_record(store, name)["status"] == "stopped"
    Sweep.resume(store, name, executor=InProcessExecutor()).run()
    return [tuple(sorted(t["varied"].items()))
            for t in sweep_record(store, name)["trials_run"]]


def test_a_resumed_random_sweep_trains_the_trials_of_the_uninterrupted_one(tmp_path):
    store = RunStore(tmp_path)
    Sweep(BASE.replace(epochs=1), store=store, vary=[("hidden_sizes", ["8", "16"])],
          samples=["learning_rate=log:1e-4:1e-1"], search="random", budget=6, seed=0,
          name="whole", executor=InProcessExecutor()).run()
    whole = [tuple(sorted(t["varied"].items()))
             for t in sweep_record(store, "whole")["trials_run"]]
    resumed = _stopped_then_resumed(store, "parts", "random", at=2)
    assert len(set(resumed)) == len(resumed) == 6  # no trial drawn twice
    assert resumed == whole  # the same trials, in the same order


def test_a_resumed_tpe_sweep_proposes_no_finished_trial_again(tmp_path):
    store = RunStore(tmp_path)
    resumed = _stopped_then_resumed(store, "tpe", "tpe", at=2)
    assert len(set(resumed)) == len(resumed) == 6


@pytest.mark.parametrize(("flag", "field"), [("hidden", "hidden_sizes"),
                                             ("l_rate", "learning_rate"),
                                             ("batch-size", "batch_size")])
def test_a_flag_spelling_for_a_sweep_field_is_refused_naming_the_field(flag, field, tmp_path,
                                                                       capsys) -> None:
    """``--vary hidden 32 64`` (the flag's spelling): the error names the field it means."""
    assert main(["sweep", "--runs-dir", str(tmp_path), "--vary", flag, "32", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"sweep field: {flag} is not valid; expected the field name {field} " \
        f"(--{flag} is its flag)" in err
