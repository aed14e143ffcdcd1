"""Sweeps under faults, against real processes: a `dask scheduler` and `dask worker`s this test
starts on 127.0.0.1 (free ports, no dashboard; never any other address) with a worker killed
mid-trial and the scheduler killed mid-sweep; and `nnfs-train sweep` stopped by SIGINT (as
Ctrl-C sends it, to the whole process group) or SIGTERM, then finished with --resume.

Timeouts here are generous bounds on waiting, never speed asserts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import TrainConfig
from engine.events import EpochEnded
from engine.runs import RunStore, read_metrics
from engine.sweep import DaskExecutor, Sweep, SweepError, TrialUpdate, sweep_record

ROOT = Path(__file__).resolve().parents[2]
#: A trial of about a second an epoch on one core: long enough to be caught mid-trial.
SLOW = TrainConfig(hidden_sizes=(128,), epochs=3, batch_size=20, seed=0, subset=8000,
                   learning_rate=0.05, optimizer="sgd", val_fraction=500 / 60000)
WAIT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict[str, str]:
    """This tree first on the path (the workers unpickle trials from it), one BLAS thread."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
            "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class Cluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1."""

    def __init__(self, workers: int) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.scheduler = subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers = [subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", self.address,
             "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--name", f"w{i}"], env=env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for i in range(workers)]

    def wait_ready(self) -> None:
        from distributed import Client

        deadline = time.monotonic() + WAIT
        while True:
            try:
                with Client(self.address, timeout="5s") as client:
                    client.wait_for_workers(len(self.workers), timeout=WAIT)
                    return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def cluster_of(request: pytest.FixtureRequest) -> Iterator[Callable[[int], Cluster]]:
    pytest.importorskip("distributed")  # installed by make ([cluster] extra)
    made: list[Cluster] = []

    def make(workers: int) -> Cluster:
        cluster = Cluster(workers)
        made.append(cluster)
        cluster.wait_ready()
        return cluster

    yield make
    for cluster in made:
        cluster.close()


def test_a_killed_dask_worker_s_trial_is_retried_elsewhere_and_the_sweep_goes_on(
        tmp_path: Path, cluster_of: Callable[[int], Cluster]) -> None:
    cluster = cluster_of(2)
    store = RunStore(tmp_path)
    killed: list[int] = []

    def kill_mid_trial(update: TrialUpdate) -> None:
        if (not killed and update.trial.index == 0 and isinstance(update.event, EpochEnded)
                and update.event.epoch == 1):
            pid = int(sweep.entries[0]["where"].rsplit(":", 1)[1])
            os.kill(pid, signal.SIGKILL)  # a `dask worker` process, no nanny to restart it
            killed.append(pid)

    sweep = Sweep(SLOW, store=store, vary=[("learning_rate", ["0.05", "0.1"])], name="dk",
                  executor=DaskExecutor(cluster.address), on_update=kill_mid_trial)
    sweep.run()
    assert killed and killed[0] in [w.pid for w in cluster.workers]
    doc = sweep_record(store, "dk")
    assert doc["status"] == "completed"
    first, second = doc["trials_run"]
    assert (first["status"], first["attempts"]) == ("completed", 2)
    assert first["where"] != f"127.0.0.1:{killed[0]}"
    assert second["status"] == "completed"
    # the retry went on from the last epoch the killed worker finished
    assert [r["epoch"] for r in read_metrics(store.path_of("dk-000") / "metrics.csv")] == [
        1, 2, 3]


def test_the_scheduler_going_away_ends_the_sweep_with_one_message_and_keeps_the_records(
        tmp_path: Path, cluster_of: Callable[[int], Cluster]) -> None:
    cluster = cluster_of(1)
    store = RunStore(tmp_path)

    def kill_after_first_trial(update: TrialUpdate) -> None:
        if update.status == "completed" and cluster.scheduler.poll() is None:
            cluster.scheduler.send_signal(signal.SIGKILL)

    quick = SLOW.replace(subset=2000, epochs=2)
    sweep = Sweep(quick, store=store, vary=[("learning_rate", ["0.05", "0.1", "0.2"])],
                  name="gone", executor=DaskExecutor(cluster.address),
                  on_update=kill_after_first_trial)
    with pytest.raises(SweepError) as info:
        sweep.run()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"the Dask scheduler at {cluster.address} went away")
    doc = sweep_record(store, "gone")
    assert doc["status"] == "interrupted"
    assert doc["trials_run"][0]["status"] == "completed"
    assert store.load("gone-000").status == "completed"
    for entry in doc["trials_run"][1:]:
        assert entry["status"] in ("interrupted", "queued", "completed")


def _cli_sweep(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", "sweep", "--hidden", "128", "--epochs", "3",
            "--batch_size", "20", "--subset", "8000", "--optimizer", "sgd", "--vary",
            "learning_rate", "0.05", "0.1", "0.2", "--runs-dir", str(tmp_path), "--name",
            "sig", *extra]


def sweep_workers(pid: int) -> list[int]:
    """The local worker processes of the sweep process ``pid``: its children but
    multiprocessing's resource tracker."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children
            if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT-to-the-group", "SIGTERM", "SIGHUP-to-the-group"])
def test_a_signal_stops_a_cli_sweep_resumably_and_resume_finishes_it(
        tmp_path: Path, signum: int) -> None:
    proc = subprocess.Popen(_cli_sweep(tmp_path, "--workers", "2"), env=env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    record = tmp_path / "sweeps" / "sig" / "sweep.json"

    def a_trial_has_an_epoch() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early: {proc.communicate()}")
        return any((tmp_path / f"sig-00{i}" / "last.npz").exists() for i in range(3))

    wait_until(a_trial_has_an_epoch, "a trial's first epoch")
    workers = sweep_workers(proc.pid)
    assert len(workers) == 2
    for pid in workers:  # niced: the driver wins a busy core
        assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, proc.pid)
    if signum in (signal.SIGINT, signal.SIGHUP):  # Ctrl-C, a hang-up: the whole group
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)  # a bound, not a speed assert (5 s: make bench)
    assert proc.returncode == 128 + signum, err
    assert "continue with: nnfs-train sweep --resume sig" in err
    doc = json.loads(record.read_text())
    assert doc["status"] == "stopped"
    statuses = [t["status"] for t in doc["trials_run"]]
    assert "interrupted" in statuses and "failed" not in statuses, doc["trials_run"]
    store = RunStore(tmp_path)
    for entry in doc["trials_run"]:
        if entry["status"] != "interrupted":
            continue
        if store.path_of(entry["run"]).exists():
            assert store.load(entry["run"]).status in ("stopped", "interrupted")
        else:  # stopped before its first epoch ended: no run, trained afresh on --resume
            assert entry["score"] is None

    assert main(["sweep", "--resume", "sig", "--runs-dir", str(tmp_path), "--workers",
                 "1"]) == 0
    doc = sweep_record(store, "sig")
    assert doc["status"] == "completed"
    assert [t["status"] for t in doc["trials_run"]] == ["completed"] * 3
    for i in range(3):
        epochs = [r["epoch"] for r in read_metrics(store.path_of(f"sig-00{i}") /
                                                   "metrics.csv")]
        assert epochs == [1, 2, 3]
