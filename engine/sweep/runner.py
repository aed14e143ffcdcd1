"""The sweep driver: asks the search for trials, hands them to an executor, and writes every
record itself from the messages that come home.

    sweep = Sweep(base, store=RunStore(), vary=[("hidden_sizes", ["64", "128"])],
                  samples=["learning_rate=log:1e-3:1e-1"], search="tpe", budget=16,
                  prune="asha", workers="auto")
    runs = sweep.run()             # blocks; sweep.stop() from any thread ends it

A sweep's record is ``<runs>/sweeps/<name>/sweep.json`` (its settings and, per trial, the run
name, varied values, status, attempts and reason); each trial is an ordinary run
``<name>-NNN`` in the store, with ``last.npz``, the training state after its last finished
epoch, from which an interrupted trial goes on when the sweep is resumed
(:meth:`Sweep.resume`) or its worker died (retried once). A trial's run record is made at
its first finished epoch (or when it fails or diverges before one): a trial stopped before
then leaves no run, only its sweep entry ("interrupted"), and a resumed sweep trains it from
its first step.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from engine.config import ConfigError, TrainConfig, format_field, parse_field
from engine.data import Dataset
from engine.errors import CheckpointError, NNFSError
from engine.events import EpochEnded, Event, HyperparametersChanged, RunFinished, RunStarted
from engine.fileio import atomic_write_text
from engine.runs import RunInfo, RunRecorder, RunStore, check_run_name, score
from engine.runs.store import SWEEPS_DIR
from engine.sweep.executors import Executor, SweepError, make_executor
from engine.sweep.plan import MAX_TRIALS, Trial, parse_grid, parse_sample
from engine.sweep.search import PRUNERS, Search
from engine.sweep.trial import TrialMessage, TrialTask, data_key

FINISHED = ("completed", "pruned", "diverged", "failed")
"""Trial statuses a resumed sweep does not train again."""

STOP_WAIT = 2.5
"""After :meth:`Sweep.stop`, how long the driver waits for the running trials to report
their end (they stop at their next batch) before it records them interrupted and closes the
workers (at most a second more): a stopped sweep ends within 5 s."""


_ADDRESS = re.compile(r"(?:(?:tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*"
                      r"[A-Za-z0-9])?):([0-9]{1,5})")


def check_address(address: str) -> str:
    """``address`` when it names a Dask scheduler as ``tcp://HOST:PORT``,
    ``tls://HOST:PORT`` or ``HOST:PORT`` (a port from 1 to 65535); else ConfigError."""
    match = _ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ConfigError("cluster", address,
                          "tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT")
    return address


@dataclass
class TrialUpdate:
    """What the driver tells its listener about one trial (from the driver's thread)."""

    trial: Trial
    """The trial: index, config, varied values."""
    status: str
    """queued, running, retrying, or how it ended: completed, pruned, diverged, stopped,
    failed, interrupted."""
    run: str
    """The trial's run name."""
    event: Event | None = None
    """The event behind the update (EpochEnded: a point of its curve)."""
    info: RunInfo | None = None
    """The trial's run record once it has ended."""
    reason: str = ""
    """Why it failed or is retried."""


@dataclass
class _Running:
    trial: Trial
    run: str
    attempt: int = 1
    recorder: RunRecorder | None = None
    early: list[Event] = field(default_factory=list)
    """Events before the trial's first finished epoch, recorded with it (a trial stopped
    before then leaves no run record)."""
    state: Checkpoint | None = None
    pruned: bool = False
    where: str = ""
    curve: dict[int, float] = field(default_factory=dict)


class Sweep:
    """One sweep: its plan, search, pruning and record; :meth:`run` drives it to the end."""

    def __init__(self, base: TrainConfig, *, store: RunStore,
                 vary: Iterable[tuple[str, list[str]]] = (), samples: Iterable[str] = (),
                 trials: int = 1, seed: int = 0, search: str = "grid",
                 budget: int | None = None, prune: str = "none", name: str | None = None,
                 workers: int | str | None = "auto", cluster: str | None = None,
                 on_update: Callable[[TrialUpdate], None] | None = None,
                 executor: Executor | None = None, dataset: Dataset | None = None) -> None:
        if prune not in PRUNERS:
            raise ConfigError("prune", prune, "one of " + ", ".join(PRUNERS))
        self.store = store
        self.vary = [(n, list(v)) for n, v in vary]
        self.samples = list(samples)
        grid = parse_grid(self.vary)
        sample = dict(parse_sample(s) for s in self.samples)
        self.search = Search(base, grid, sample, search=search, budget=budget, trials=trials,
                             seed=seed, prune=prune)
        if self.search.total > MAX_TRIALS:
            raise ConfigError("sweep", f"{self.search.total} trials", f"at most {MAX_TRIALS}")
        self.name = check_run_name(name or datetime.now().strftime("sweep-%Y%m%d-%H%M%S"))
        self.settings: dict[str, Any] = {
            "base": base.to_dict(), "vary": self.vary, "samples": self.samples,
            "trials": trials, "seed": seed, "search": search, "budget": budget,
            "prune": prune}
        self.workers = workers
        self.cluster = check_address(cluster) if cluster else cluster
        self.on_update = on_update
        self.executor = executor
        self.dataset = dataset
        """The data every trial trains on (the app's), sent to each worker once; None: each
        trial's config names its own."""
        self._data: tuple[str, tuple[object, ...] | None] | None = None
        self.entries: dict[int, dict[str, Any]] = {}
        """The record's trials by index: run, varied (texts), status, attempts, reason."""
        self.status = "running"
        self._stop = threading.Event()
        self._queue: list[TrialTask] = []
        self._running: dict[str, _Running] = {}
        self._held: dict[str, _Running] = {}
        self._trials: dict[str, Trial] = {}

    # -- the record -----------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """``<runs>/sweeps/<name>/sweep.json``."""
        return self.store.root / SWEEPS_DIR / self.name / "sweep.json"

    def save(self) -> None:
        """Write the sweep's record (atomically: a reader sees the old or the new one)."""
        doc = {"name": self.name, "status": self.status, **self.settings,
               "trials_run": [self.entries[i] for i in sorted(self.entries)]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            raise NNFSError(f"{self.path}: cannot write the sweep record ({exc})") from None

    @classmethod
    def resume(cls, store: RunStore, name: str, **kwargs: Any) -> Sweep:
        """The sweep recorded as ``name``, ready to :meth:`run` on: its finished trials are
        told to the search (not trained again); interrupted ones go on from ``last.npz``."""
        path = store.root / SWEEPS_DIR / check_run_name(name) / "sweep.json"
        try:
            doc = json.loads(path.read_text("utf-8"))
            base = TrainConfig.from_dict(doc["base"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NNFSError(f"no sweep {name!r} to resume in {store.root} ({exc})") from None
        sweep = cls(base, store=store, vary=[(n, v) for n, v in doc["vary"]],
                    samples=doc["samples"], trials=doc["trials"], seed=doc["seed"],
                    search=doc["search"], budget=doc["budget"], prune=doc["prune"],
                    name=name, **kwargs)
        asked = doc.get("trials_run", [])
        sweep.search.skip(len(asked))  # the new trials are those drawn after them
        for entry in asked:
            index = int(entry["index"])
            varied = {k: parse_field(k, v) for k, v in entry["varied"].items()}
            sweep.entries[index] = entry
            status = entry.get("status")
            if status in FINISHED:
                rows = store.load(entry["run"]).metrics() if (
                    store.root / entry["run"]).is_dir() else []
                curve = {int(r["epoch"]): s for r in rows
                         if r["epoch"] is not None and (s := score(r["val_acc"], r["test_acc"]))
                         is not None}
                sweep.search.told_before(index, varied, status, entry.get("score"), curve)
            else:
                trial = sweep.search.again(index, varied)
                checkpoint = _last_checkpoint(store.root / entry["run"])
                sweep._queue.append(TrialTask(entry["run"], index, trial.config, checkpoint,
                                              attempt=1))
                sweep._trials[entry["run"]] = trial
                entry["status"] = "queued"
        return sweep

    # -- controls -------------------------------------------------------------------------
    def stop(self) -> None:
        """End the sweep (from any thread): running trials stop at their next batch and are
        recorded "interrupted" in the sweep, resumable from their last epoch."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """:meth:`stop` was called."""
        return self._stop.is_set()

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> list[RunInfo]:
        """Train every trial (blocks); returns the run records of the trials that ended in
        this call, in the order they ended. Raises SweepError when a cluster cannot be
        reached or goes away (the finished trials are recorded)."""
        self.save()
        executor = self.executor or make_executor(self.workers, self.cluster)
        self.executor = executor  # its workers start now, while the driver goes on
        self.settings["where"] = executor.where
        ended: list[RunInfo] = []
        try:
            self._share_data(executor)
            while not self.stopping:
                while len(self._running) < executor.slots and (task := self._next()):
                    self._submit(task)
                if not self._running:
                    break
                for msg in executor.messages(0.1):
                    if (info := self._handle(msg)) is not None:
                        ended.append(info)
            if self.stopping:
                ended += self._wind_down(executor)
            self.status = "stopped" if self.stopping else "completed"
        except SweepError:
            for run in list(self._running.values()):
                self._end(run, "interrupted", "the cluster went away")
            self.status = "interrupted"
            raise
        finally:
            self.save()
            executor.close()
        return ended

    def _share_data(self, executor: Executor) -> None:
        """The data the trials train on: the sweep's own dataset, sent to each worker once;
        else the base config's, made ready on the workers before their first trial."""
        if self.dataset is not None:
            self._data = (executor.share(self.dataset), None)
        elif digest := executor.prepare(self.search.base):
            self._data = (digest, data_key(self.search.base))

    def _wind_down(self, executor: Executor) -> list[RunInfo]:
        """The sweep was stopped: running trials stop at their next batch; those that have
        not reported their end within :data:`STOP_WAIT` are recorded interrupted."""
        ended: list[RunInfo] = []
        for key in self._running:
            executor.cancel(key)
        deadline = time.monotonic() + STOP_WAIT
        while self._running and (left := deadline - time.monotonic()) > 0:
            for msg in executor.messages(min(left, 0.05)):
                if (info := self._handle(msg)) is not None:
                    ended.append(info)
        for run in list(self._running.values()):
            self._end(run, "interrupted", "the sweep was stopped")
        return ended

    def _next(self) -> TrialTask | None:
        if self._queue:
            return self._queue.pop(0)
        trial = self.search.ask()
        if trial is None:
            return None
        run = f"{self.name}-{trial.index:03d}"
        self._trials[run] = trial
        self.entries[trial.index] = {
            "index": trial.index, "run": run,
            "varied": {k: format_field(k, v) for k, v in trial.varied.items()},
            "status": "queued", "attempts": 0, "reason": "", "score": None}
        return TrialTask(run, trial.index, trial.config)

    def _submit(self, task: TrialTask) -> None:
        trial = self._trials[task.key]
        task = replace(task, verdicts=self.settings["prune"] != "none",
                       data=self._data_for(task.config))
        running = self._held.pop(task.key, None) or _Running(trial, task.key)
        running.attempt = task.attempt
        self._running[task.key] = running
        entry = self.entries[trial.index]
        entry["status"], entry["attempts"] = "running", entry.get("attempts", 0) + 1
        assert self.executor is not None
        self.executor.submit(task)
        self._tell(TrialUpdate(trial, "queued", task.key))

    def _data_for(self, config: TrainConfig) -> str:
        """The digest of the shared dataset ``config`` trains on; "" to load its own."""
        if self._data is None:
            return ""
        digest, key = self._data
        return digest if key is None or key == data_key(config) else ""

    def _tell(self, update: TrialUpdate) -> None:
        if self.on_update is not None:
            self.on_update(update)

    def _handle(self, msg: TrialMessage) -> RunInfo | None:
        run = self._running.get(msg.key)
        if run is None:
            return None
        trial = run.trial
        if msg.kind == "started":
            run.where = msg.where
            self.entries[trial.index]["where"] = msg.where
            self._tell(TrialUpdate(trial, "running", run.run))
            return None
        if msg.kind == "failed":
            return self._end(run, "failed", msg.reason)
        if msg.kind == "lost":
            if self.stopping:  # e.g. a signal to the whole process group: resumable
                return self._end(run, "interrupted", f"the sweep was stopped ({msg.reason})")
            if run.attempt < 2:
                self._running.pop(run.run)
                self._held[run.run] = run  # keeps its recorder and last epoch's state
                run.early.clear()  # the retry starts again from that state
                self._queue.insert(0, TrialTask(run.run, trial.index, trial.config, run.state,
                                                attempt=run.attempt + 1))
                self._tell(TrialUpdate(trial, "retrying", run.run, reason=msg.reason))
                return None
            return self._end(run, "failed", f"{msg.reason} (on both tries)"
                             if run.attempt >= 2 else msg.reason)
        event = msg.event
        if isinstance(event, EpochEnded):
            self._judge(run, event)
            if msg.state is not None:
                run.state = msg.state
            self._record(run, event)
            self._save_last(run)
            self._tell(TrialUpdate(trial, "running", run.run, event=event))
        elif isinstance(event, RunStarted | HyperparametersChanged):
            self._record(run, event)
        elif isinstance(event, RunFinished):
            if msg.state is not None:
                run.state = msg.state
            status = event.status
            if status == "stopped" and run.pruned:
                status = "pruned"
                event = replace(event, status="pruned")
            if status == "stopped":  # the sweep was stopped: resumable from last.npz
                if run.recorder is not None:
                    run.recorder(event)
                return self._end(run, "interrupted", "the sweep was stopped", recorded=True)
            self._record(run, event, now=True)
            return self._end(run, status, event.reason, recorded=True)
        return None

    def _judge(self, run: _Running, event: EpochEnded) -> None:
        """Tell the pruner the trial's score after ``event``'s epoch and the trial its
        verdict (a pruned sweep's trial waits for it before its next epoch)."""
        value = score(event.val_acc, event.test_acc)
        if value is not None:
            run.curve[event.epoch] = value
        assert self.executor is not None
        if not run.pruned and self.search.report(run.trial.index, event.epoch, value):
            run.pruned = True
            self.executor.cancel(run.run)  # also ends a trial that stopped waiting
        if self.settings["prune"] != "none" and event.epoch < event.epochs:
            self.executor.verdict(run.run, event.epoch, run.pruned)

    def _record(self, run: _Running, event: Event, *, now: bool = False) -> None:
        """Hand ``event`` to the trial's run record. The record is made at the trial's first
        finished epoch (or ``now``: a trial that failed or diverged before it) or when it
        exists already (a resumed trial); until then its events wait."""
        if run.recorder is None:
            run.early.append(event)
            if now or isinstance(event, EpochEnded) or self.store.path_of(run.run).is_dir():
                self._open_record(run)
            return
        run.recorder(event)

    def _open_record(self, run: _Running) -> None:
        """Make the trial's run record and hand it the events that waited for it."""
        started = next((e for e in run.early if isinstance(e, RunStarted)), None)
        run.recorder = self._recorder(run, started.config if started is not None
                                      else run.trial.config)
        for early in run.early:
            run.recorder(early)
        run.early.clear()

    def _recorder(self, run: _Running, config: TrainConfig) -> RunRecorder:
        def save_model(path: Path) -> Path | None:
            return save_checkpoint(path, run.state) if run.state is not None else None

        path = self.store.path_of(run.run)
        if path.is_dir():  # a retried or resumed trial: its record goes on
            return RunRecorder(path, config, save_model)
        return self.store.create(config, run.run, save_model=save_model)

    def _save_last(self, run: _Running) -> None:
        if run.recorder is None or run.state is None:
            return
        try:
            save_checkpoint(run.recorder.path / "last.npz", run.state)
        except (OSError, NNFSError) as exc:
            run.recorder.errors.append(str(exc))

    def _end(self, run: _Running, status: str, reason: str = "", *,
             recorded: bool = False) -> RunInfo | None:
        self._running.pop(run.run, None)
        trial = run.trial
        if run.recorder is None and run.early and status != "interrupted":
            self._open_record(run)  # it failed before its first epoch: recorded, with why
        if run.recorder is not None and not recorded:
            if status == "interrupted":
                run.recorder.interrupt(reason)
            else:
                run.recorder.fail(reason)
        info = None
        if (self.store.root / run.run).is_dir():
            info = self.store.load(run.run)
        best = info.score if info is not None else None
        if status != "interrupted":
            self.search.tell(trial.index, status, best)
        entry = self.entries[trial.index]
        entry.update(status=status, reason=reason, score=best,
                     epochs=info.epochs_completed if info is not None else 0)
        self.save()
        self._tell(TrialUpdate(trial, status, run.run, info=info, reason=reason))
        return info


def _last_checkpoint(path: Path) -> Checkpoint | None:
    try:
        return load_checkpoint(path / "last.npz")
    except (OSError, CheckpointError, NNFSError):
        return None


def count_trials(statuses: Iterable[str], total: int) -> str:
    """How far a sweep is, in words: ``1 of 3 trials finished (1 completed), 1
    interrupted`` (finished: :data:`FINISHED`; interrupted ones are not), or ``3 trials (2
    completed, 1 pruned)`` once all ``total`` have finished."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    done = sum(n for s, n in counts.items() if s in FINISHED)
    parts = ", ".join(f"{counts[s]} {s}" for s in FINISHED if counts.get(s))
    words = f"{done} trial{'s' * (done != 1)}" if done == total else (
        f"{done} of {total} trial{'s' * (total != 1)} finished")
    words += f" ({parts})" if parts else ""
    if counts.get("interrupted"):
        words += f", {counts['interrupted']} interrupted"
    return words


def sweep_record(store: RunStore, name: str) -> dict[str, Any]:
    """The JSON document of sweep ``name`` (raises NNFSError when there is none)."""
    path = store.root / SWEEPS_DIR / check_run_name(name) / "sweep.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise NNFSError(f"no sweep {name!r} in {store.root} ({exc})") from None

