"""One run, from a config (or a checkpoint) to its record: the one place a run is started,
controlled and recorded.

The CLI, the app's training worker, the sweep runner and a rerun all start runs here::

    session = RunSession(TrainConfig(epochs=3), store=RunStore(), on_event=print)
    finished = session.run()          # in the thread that trains; blocks until the end

Controls (:meth:`pause`, :meth:`resume`, :meth:`stop`, :meth:`change`, :meth:`save`,
:meth:`snapshot`) are safe from any thread at any time: asked for before the dataset has
loaded and the :class:`~engine.training.Trainer` exists, they are kept and applied to it
as soon as it does. Events reach the run record first, then ``on_event``, so the files are
on disk before a UI hears of an epoch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.checkpoint import Checkpoint
from engine.config import CONTINUE_FIELDS, FIELDS, TrainConfig
from engine.data import Dataset, load_dataset
from engine.errors import ConfigError, NNFSError
from engine.events import Event, LiveChange, RunFinished
from engine.runs import RunRecorder, RunStore
from engine.training import ModelSnapshot, Trainer, check_live_changes

EventHandler = Callable[[Event], None]
DatasetSource = Dataset | Callable[[TrainConfig], Dataset]
"""A loaded dataset used as it is, or a function giving the dataset a config trains on (the
app's cache); None loads the config's own."""


def fixed_fields_differ(config: TrainConfig, checkpoint: Checkpoint) -> list[str]:
    """Fields that cannot change mid-run (CONTINUE_FIELDS aside: epochs, lr_restart)
    where ``config`` and the checkpoint's run differ; [] when ``config`` describes that run
    and can continue it."""
    return [name for name, spec in FIELDS.items() if not spec.live and name not in CONTINUE_FIELDS
            and getattr(config, name) != getattr(checkpoint.config, name)]


class RunSession:
    """One run: loads its dataset, builds its Trainer (afresh, or from a checkpoint), writes
    its record in a run store, and buffers controls until the trainer exists.

    ``config`` is what trains. With ``checkpoint`` the run continues that checkpoint: its
    fixed fields must equal ``config``'s; ``config``'s epochs and live hyperparameters apply
    from the first step. ``planned_changes`` are live changes made before their steps (a
    rerun replays its run's). With ``store``, the run is recorded there under ``name``
    (default: a fresh name starting with ``prefix``); a run that never starts (its data
    cannot load, its config does not fit) leaves no record behind.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        checkpoint: Checkpoint | None = None,
        dataset: DatasetSource | None = None,
        store: RunStore | None = None,
        name: str | None = None,
        prefix: str = "",
        on_event: EventHandler | None = None,
        batch_event_interval: float = 0.0,
        threads: int | str | None = "auto",
        planned_changes: Iterable[LiveChange] = (),
    ) -> None:
        if checkpoint is not None and (differ := fixed_fields_differ(config, checkpoint)):
            name_ = differ[0]
            raise ConfigError(name_, getattr(config, name_),
                              f"{getattr(checkpoint.config, name_)!r} to continue the "
                              "checkpoint (only epochs, lr_restart and live hyperparameters "
                              "can change)")
        self.config: TrainConfig = config
        """The config the run was started with."""
        self.checkpoint: Checkpoint | None = checkpoint
        """The training state the run continues (None: it trains from its first step)."""
        self.on_event: EventHandler | None = on_event
        """Hears every event after the record has written it."""
        self.batch_event_interval = batch_event_interval
        self.threads = threads
        self.planned_changes: tuple[LiveChange, ...] = tuple(planned_changes)
        """Live changes to make before given steps (ignored when continuing a checkpoint)."""
        self.trainer: Trainer | None = None
        """The engine's Trainer, once :meth:`run` has built it (read it, don't wire it)."""
        self.done = threading.Event()
        """Set once :meth:`run` has returned (the final checkpoint is on disk)."""
        self._source = dataset
        self.dataset: Dataset | None = dataset if isinstance(dataset, Dataset) else None
        """The data the run trains on, once :meth:`load` (or :meth:`run`) has it."""
        self._lock = threading.Lock()
        self._stop = False
        self._paused = False
        self._pending: dict[str, Any] = {}
        self.recorder: RunRecorder | None = None
        """Writes the run into the store (None when not recorded)."""
        if store is not None:
            self.recorder = store.create(config, name or None, prefix=prefix,
                                         save_model=self._save_record)
        self._store = store

    # -- what the run is ------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """The run's name in its store (None when not recorded)."""
        return self.recorder.name if self.recorder is not None else None

    @property
    def path(self) -> Path | None:
        """The run's directory in its store (None when not recorded)."""
        return self.recorder.path if self.recorder is not None else None

    @property
    def errors(self) -> list[str]:
        """Writes to the record that failed (the run went on)."""
        return self.recorder.errors if self.recorder is not None else []

    @property
    def stop_requested(self) -> bool:
        """:meth:`stop` was called."""
        return self._stop

    # -- controls (safe from any thread) --------------------------------------------------
    def pause(self) -> None:
        """Wait at the next batch boundary until :meth:`resume` or :meth:`stop`."""
        with self._lock:
            self._paused = True
            if self.trainer is not None:
                self.trainer.pause()

    def resume(self) -> None:
        """Go on after :meth:`pause`."""
        with self._lock:
            self._paused = False
            if self.trainer is not None:
                self.trainer.resume()

    def stop(self) -> None:
        """End the run at the next batch boundary (or before it starts) as "stopped"."""
        with self._lock:
            self._stop = True
            if self.trainer is not None:
                self.trainer.stop()

    def change(self, *changes: LiveChange) -> tuple[LiveChange, ...]:
        """Live changes, applied at the next batch boundary (or from the first step when the
        trainer is not built yet). A refused value raises ConfigError and changes nothing."""
        with self._lock:
            if self.trainer is not None:
                return self.trainer.change(*changes)
            checked = check_live_changes({c.field: c.value for c in changes})
            self._pending.update(checked)
            return tuple(LiveChange(k, v) for k, v in checked.items())

    def save(self, path: str | Path, *, timeout: float | None = None) -> Path:
        """Write a checkpoint of the model as it stands (mid-run: at the next batch
        boundary, waiting at most ``timeout`` seconds)."""
        trainer = self.trainer
        if trainer is None:
            raise NNFSError("nothing to save yet: the run has not started")
        return trainer.save(path, timeout=timeout)

    def snapshot(self, *, weights: bool = True) -> ModelSnapshot | None:
        """A consistent copy of the model (see :meth:`Trainer.snapshot`); None before the
        trainer exists."""
        trainer = self.trainer
        return trainer.snapshot(weights=weights) if trainer is not None else None

    # -- the run --------------------------------------------------------------------------
    def load(self) -> Dataset:
        """Load the run's dataset (once), in the thread that will train: a UI can show the
        images before the first step. Raises the dataset's error (NNFSError, OSError),
        leaving no record."""
        if self.dataset is None:
            try:
                self.dataset = self._load(self.config)
            except BaseException:
                self._forget_record()
                self.done.set()
                raise
        return self.dataset

    def run(self) -> RunFinished:
        """Load the data, build the trainer, train, record; blocks until the run ends.

        Raises the dataset's or the config's error (NNFSError, OSError) when the run cannot
        start, leaving no record; a crash while training marks the record "failed" and is
        raised again.
        """
        try:
            return self._run()
        finally:
            self.done.set()

    def _run(self) -> RunFinished:
        try:
            trainer = self._build()
        except BaseException:
            self._forget_record()
            raise
        with self._lock:
            self.trainer = trainer
            if self._pending:
                trainer.set_hyperparameters(**self._pending)
                self._pending.clear()
            if self._paused:
                trainer.pause()
            stopped = self._stop
        if stopped:  # stopped before it began: nothing to record
            self._forget_record()
            finished = RunFinished("stopped", trainer.state.epoch, trainer.state.step, 0.0)
            if self.on_event is not None:
                self.on_event(finished)
            return finished
        try:
            return trainer.run()
        except Exception as exc:
            if self.recorder is not None:
                self.recorder.fail(f"{type(exc).__name__}: {exc}")
            raise

    def _build(self) -> Trainer:
        config = self.config
        ckpt = self.checkpoint
        dataset = self.load()
        if ckpt is None:
            return Trainer(config, dataset, on_event=self._on_event,
                           batch_event_interval=self.batch_event_interval,
                           threads=self.threads, planned_changes=self.planned_changes)
        trainer = Trainer(ckpt.config.replace(**{name: getattr(config, name)
                                                 for name in CONTINUE_FIELDS}), dataset,
                          on_event=self._on_event,
                          batch_event_interval=self.batch_event_interval, threads=self.threads)
        trainer.restore(ckpt)
        live = {name: getattr(config, name) for name, spec in FIELDS.items()
                if spec.live and getattr(config, name) != getattr(trainer.config, name)}
        if live:  # the run goes on with these from its first step, as if saved with them
            trainer.set_hyperparameters(**live)
        return trainer

    def _load(self, config: TrainConfig) -> Dataset:
        source = self._source
        if source is not None:
            return source(config)
        return load_dataset(config.dataset, val_fraction=config.val_fraction,
                            subset=config.subset, seed=config.seed)

    def _on_event(self, event: Event) -> None:
        if self.recorder is not None:  # the files are on disk before anyone hears of it
            self.recorder(event)
        if self.on_event is not None:
            self.on_event(event)

    def _save_record(self, path: Path) -> Path:
        """The record's best.npz and final.npz (from the training thread: at once)."""
        assert self.trainer is not None
        return self.trainer.save(path)

    def _forget_record(self) -> None:
        """A run that never started leaves no directory in the run store."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None and self._store is not None:
            try:
                self._store.delete(recorder.name)
            except (NNFSError, OSError):
                pass

