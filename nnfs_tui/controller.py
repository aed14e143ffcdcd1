"""The app's run controller: one run at a time, its workers, save and open.

The app owns one :class:`RunController` (``app.controller``), the one place that starts,
pauses, resumes, stops and restarts runs, and the only writer of ``app.run_state`` (a
reactive of the app, because the footer's bindings and the train screen follow it).

Its thread workers run on the app (``app.run_worker``); they never touch widgets, they post
the messages of :mod:`nnfs_tui.messages` to the
:class:`~nnfs_tui.screens.train.TrainScreen`, whose handlers show them and tell the controller
of each transition (:meth:`RunController.started`, :meth:`~RunController.finished`, ...).
Controls go the other way through a :class:`~nnfs_tui.training.RunControl`, whose methods
are safe from the UI thread; only :meth:`RunController._train_run` builds and runs a Trainer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from engine.checkpoint import load_checkpoint
from engine.config import FIELDS, LIVE_FIELDS, TrainConfig
from engine.data import Dataset, load_dataset
from engine.errors import ConfigError, NNFSError
from engine.events import Event, LayerStats
from engine.events import RunFinished as EngineRunFinished
from engine.metrics import predict
from engine.network import MLP
from engine.runs import RunRecorder, RunStore
from engine.training import Trainer
from nnfs_tui import messages as msg
from nnfs_tui.dialogs import LoadCheckpointDialog, SaveModelDialog, default_save_path
from nnfs_tui.screens.runs import RunsResult
from nnfs_tui.sweeps import SweepRunner
from nnfs_tui.training import EventRelay, RunControl

if TYPE_CHECKING:
    from nnfs_tui.app import NNFSApp
    from nnfs_tui.screens.train import TrainScreen

#: Seconds between progress messages from the training thread: four a second. Measured by
#: `make bench` on 784-256-10: at ten a second the app trained at 0.86x the headless speed
#: (median), at four a second at 0.96x; redrawing the progress line and the plots on the UI
#: thread competes with the training thread for the GIL.
PROGRESS_INTERVAL = 0.25

#: States in which a run is in progress (one at a time).
ACTIVE_STATES = ("loading", "training", "paused", "stopping")

Post = Callable[[Message], object]


class RunController:
    """Runs, one at a time: the state machine, the workers, sweeps, save and open."""

    def __init__(
        self,
        app: NNFSApp,
        *,
        dataset: Dataset | None = None,
        batch_interval: float = PROGRESS_INTERVAL,
        threads: int | str = "auto",
        runs_dir: str | Path | None = None,
        record: bool = True,
    ) -> None:
        self.app: NNFSApp = app
        """The app whose ``run_state`` this controller sets and whose workers it runs."""
        self.dataset: Dataset | None = dataset
        """A dataset given by the caller (tests, notebooks), used for every run as it is."""
        self.batch_interval: float = batch_interval
        """Seconds between progress messages from the worker (see PROGRESS_INTERVAL)."""
        self.threads: int | str = threads
        """BLAS threads of the training loop ("auto": one, so the UI thread keeps a core)."""
        self.store: RunStore = RunStore(runs_dir)
        """The runs directory every run is recorded in (F2 lists it)."""
        self.record: bool = record
        """Record runs in the store (off for throwaway sessions)."""
        self.run: RunControl | None = None
        """The current or last run."""
        self.layer_history: list[LayerStats] = []
        """LayerStats of the current or last run, one per epoch (F4 shows them)."""
        self.runs_started: int = 0
        """Runs started since the app opened."""
        self.sweeps: SweepRunner = SweepRunner(self)
        """Runs a sweep's trials one after another (F12)."""
        self.loaded: Trainer | None = None
        """A checkpoint opened with Ctrl+O or from F2, not running; F5 continues it while the
        form still describes its run."""
        self._restart = False
        self._quitting = False
        self._next_snapshot: msg.ModelSnapshot | None = None
        self._cache_lock = threading.Lock()
        self._cache: tuple[tuple, Dataset] | None = None
        self._training_lock = threading.Lock()  # one training thread at a time, always

    # -- state -----------------------------------------------------------------------------
    @property
    def screen(self) -> TrainScreen:
        """The screen the workers post to and the form is read from."""
        return self.app.train_screen

    @property
    def active(self) -> bool:
        """A run is in progress (loading, training, paused or stopping)."""
        return self.app.run_state in ACTIVE_STATES

    @property
    def trainer(self) -> Trainer | None:
        """The engine's Trainer of the current or last run (None before the first)."""
        return self.run.trainer if self.run is not None else None

    @property
    def run_name(self) -> str | None:
        """The run store's name of the current or last run (None when it is not recorded)."""
        recorder = self.run.recorder if self.run is not None else None
        return recorder.name if recorder is not None else None

    @property
    def stop_requested(self) -> bool:
        """F7 (or a quit) asked the current or last run to stop."""
        return self.run is not None and self.run.stop_requested

    def is_current(self, run_id: int) -> bool:
        """True when ``run_id`` names the current run (a stale message is dropped)."""
        return self.run is not None and run_id == self.run.id

    def started(self) -> None:
        """The run's first message arrived: it has left ``loading``."""
        if self.app.run_state == "loading":
            self.app.run_state = "training"

    def paused(self) -> None:
        """The trainer paused at a batch boundary."""
        if self.app.run_state in ("training", "loading"):
            self.app.run_state = "paused"

    def resumed(self) -> None:
        """The trainer resumed."""
        if self.app.run_state == "paused":
            self.app.run_state = "training"

    def finished(self, status: str) -> None:
        """The run ended (completed, stopped or diverged): on to a sweep's next trial or F8's
        fresh run."""
        self.app.run_state = status
        self._after_run()

    def failed(self) -> None:
        """The run could not start or crashed."""
        self.app.run_state = "failed"
        self._after_run()

    def _after_run(self) -> None:
        if self.sweeps.progress is not None:
            self.sweeps.after_run(self.app.run_state)
        if self._restart:
            self._restart = False
            self.start()

    # -- starting and controlling a run ------------------------------------------------------
    def start(self) -> None:
        """F5: start a run with the form's values, unless one is running."""
        app, form = self.app, self.screen.form
        if self.active:
            app.log_line(f"Run {self.run.id} is still {app.run_state}; one run at a time "
                         "(F7 stops it, F8 starts over).", "warning")
            app.bell()
            return
        try:
            config = form.config()
        except ConfigError as exc:
            app.log_line(f"Cannot start: {exc}", "error")
            app.bell()
            if exc.field in form.errors or exc.field != "config":
                try:
                    form.control(exc.field).focus()
                except Exception:  # noqa: BLE001 - a field the form does not show
                    pass
            return
        loaded = self.loaded
        if (loaded is not None and self.matches_loaded(config)
                and loaded.state.epoch >= config.epochs and loaded.state.position == 0):
            app.log_line(f"The loaded checkpoint has already trained {loaded.state.epoch}/"
                         f"{config.epochs} epochs: raise epochs in the form to train it further "
                         "(F5 continues it), or change the network or seed to start afresh.",
                         "warning")
            app.bell()
            form.control("epochs").focus()
            return
        self.start_run(config)

    def start_run(self, config: TrainConfig, *, prefix: str = "",
                  planned_changes: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        """Start a run with exactly this config (F5, or a rerun from the Runs screen, which
        also replays the live changes of the run it repeats: ``planned_changes``)."""
        if self._quitting:  # no new run (F8 or a sweep would start one)
            return
        screen = self.screen
        self.runs_started += 1
        resume = self._resumable(config)
        run = self.run = RunControl(self.runs_started, config)
        run.resume_from = resume
        if resume is None and planned_changes:
            run.planned_changes = list(planned_changes)
        run.recorder = self._create_recorder(config, prefix)
        self.layer_history = []
        screen.reset_for_run(config.epochs)
        self.app.run_state = "loading"
        if resume is not None:
            self.app.log_line(f"Run {run.id}: continuing the loaded checkpoint from epoch "
                              f"{resume.state.epoch} (step {resume.state.step}).")
        else:
            self.app.log_line(f"Run {run.id}: loading {config.dataset}…")
        run.thread_done = threading.Event()
        self.app.run_worker(partial(self._train, run, screen.post_message), thread=True,
                            exclusive=True, group="training", name="training",
                            exit_on_error=False)

    def _resumable(self, config: TrainConfig) -> Trainer | None:
        """The loaded checkpoint's Trainer when the form still describes its run (fields that
        cannot change mid-run are equal), else None: then F5 starts afresh."""
        loaded, self.loaded = self.loaded, None
        if loaded is None:
            return None
        if not self.matches_loaded(config, loaded):
            self.app.log_line("The form no longer matches the loaded checkpoint: starting a "
                              "new run instead of continuing it.", "warning")
            return None
        if config.epochs != loaded.config.epochs:
            loaded.config = loaded.config.replace(epochs=config.epochs)
        return loaded

    def matches_loaded(self, config: TrainConfig, loaded: Trainer | None = None) -> bool:
        """True when ``config`` describes the loaded checkpoint's run: the fields that cannot
        change mid-run (epochs aside) are equal."""
        loaded = loaded or self.loaded
        fixed = [k for k in FIELDS if not FIELDS[k].live and k != "epochs"]
        return loaded is not None and all(getattr(config, k) == getattr(loaded.config, k)
                                          for k in fixed)

    def form_edited(self, config: Callable[[], TrainConfig]) -> None:
        """The form changed while no run is going: F5 continues a loaded checkpoint only
        while ``config()`` (the form's values) still describes its run."""
        if self.loaded is not None and self.app.run_state in ("loaded", "idle"):
            try:
                matches = self.matches_loaded(config())
            except ConfigError:
                matches = False
            self.app.run_state = "loaded" if matches else "idle"

    def _create_recorder(self, config: TrainConfig, prefix: str = "") -> RunRecorder | None:
        if not self.record:
            return None
        try:
            recorder = self.store.create(config, self.store.new_name(config, prefix))
        except NNFSError as exc:
            self.app.log_line(f"This run will not be recorded: {exc}", "warning")
            return None
        self.app.log_line(f"Recording to {recorder.path}")
        return recorder

    def set_hyperparameters(self, changes: dict[str, Any]) -> bool:
        """Send live changes to the running trainer (applied at its next batch); False when
        no run is going. Raises ConfigError for a refused value."""
        if self.run is None or not self.active:
            return False
        self.run.set_hyperparameters(**changes)
        return True

    def pause(self) -> None:
        """F6: pause the run at its next batch boundary."""
        if self.run is not None and self.app.run_state in ("training", "loading"):
            self.run.pause()

    def resume(self) -> None:
        """F6: resume a paused run."""
        if self.run is not None and self.app.run_state == "paused":
            self.run.resume()

    def toggle_pause(self) -> None:
        """Space / palette: pause a training run, resume a paused one."""
        if self.app.run_state == "paused":
            self.resume()
        elif self.app.run_state in ("training", "loading"):
            self.pause()
        else:
            self.app.log_line("No run to pause (F5 starts one).", "warning")

    def stop(self) -> None:
        """F7: stop the run at its next batch boundary."""
        if self.run is None or not self.active:
            self.app.log_line("No run to stop.", "warning")
            return
        if self.app.run_state != "stopping":
            self.app.log_line(f"Stopping run {self.run.id} at the next batch…", "warning")
        self.run.stop()
        self.app.run_state = "stopping"

    def restart(self) -> None:
        """F8: stop the run if one is going, then start a fresh one from the form."""
        if self.active:
            self._restart = True
            self.stop()
        else:
            self.start()

    def stop_for_exit(self, reason: str = "") -> threading.Event | None:
        """Quitting: no new run from now on; stop the run at its next batch. Returns the event
        set once its training thread has written the final checkpoint (None: none running)."""
        self._quitting = True
        self._restart = False
        run = self.run
        if run is None or run.thread_done is None or run.thread_done.is_set():
            return None
        run.stop()
        self.app.log_line(f"{reason + ': ' if reason else ''}stopping run {run.id} and writing "
                          "its checkpoint before exiting…", "warning")
        return run.thread_done

    def wait_for_training(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the training thread; False when it still runs."""
        run = self.run
        if run is None or run.thread_done is None:
            return True
        return run.thread_done.wait(timeout)

    def cancel(self) -> None:
        """The app is ending: the training thread must not outlive it."""
        if self.run is not None:
            self.run.stop()

    # -- the workers -----------------------------------------------------------------------
    def _dataset_for(self, config: TrainConfig) -> Dataset:
        """The dataset a config trains on (the given one, else loaded once per split)."""
        if self.dataset is not None:
            return self.dataset
        key = (config.dataset, config.val_fraction, config.subset, config.seed)
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
        dataset = load_dataset(config.dataset, val_fraction=config.val_fraction,
                               subset=config.subset, seed=config.seed)
        with self._cache_lock:
            self._cache = (key, dataset)
        return dataset

    def load_preview(self, config: TrainConfig) -> None:
        """Fetch the test images for the digit viewer without blocking the first paint."""
        post = self.screen.post_message
        if self.dataset is not None:
            post(msg.DatasetLoaded(self.dataset))
            return
        self.app.run_worker(partial(self._load_preview, config, post), thread=True,
                            exclusive=True, group="preview", name="preview",
                            exit_on_error=False)

    def _load_preview(self, config: TrainConfig, post: Post) -> None:
        try:
            dataset = self._dataset_for(config)
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            post(msg.RunFailed(0, f"cannot load the dataset: {exc}", "dataset"))
            return
        post(msg.DatasetLoaded(dataset))

    def _train(self, run: RunControl, post: Post) -> None:
        """The training thread of one run.

        A new run's thread waits here until the last one has returned (F8 and sweeps start
        the next run as soon as the last one reports its end), and ``run.thread_done`` tells
        a quit when the run's final checkpoint is on disk.
        """
        try:
            with self._training_lock:
                self._train_run(run, post)
        finally:
            if run.thread_done is not None:
                run.thread_done.set()

    def _train_run(self, run: RunControl, post: Post) -> None:
        """Build the Trainer and run it; everything else happens through messages."""
        worker = get_current_worker()
        try:
            dataset = self._dataset_for(run.config)
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            self._forget_recording(run)
            post(msg.RunFailed(run.id, str(exc), "dataset"))
            return
        post(msg.DatasetLoaded(dataset))
        relay = EventRelay(run.id, post, dataset, interval=self.batch_interval,
                           cancelled=lambda: worker.is_cancelled)
        recorder = run.recorder

        def on_event(event: Event) -> None:
            if recorder is not None:  # the files are on disk before the UI hears of it
                recorder(event)
            relay(event)

        try:
            if run.resume_from is not None:  # continue a loaded checkpoint
                trainer = run.resume_from
                trainer.on_event = on_event
                trainer.batch_event_interval = 0
                trainer.threads = self.threads
                trainer.set_hyperparameters(**{k: getattr(run.config, k) for k in LIVE_FIELDS})
            else:
                # every batch reaches the relay, which smooths the loss and throttles posting
                trainer = Trainer(run.config, dataset, on_event=on_event, batch_event_interval=0,
                                  threads=self.threads, planned_changes=run.planned_changes)
        except ConfigError as exc:  # e.g. a batch larger than the training set
            self._forget_recording(run)
            post(msg.RunFailed(run.id, str(exc), exc.field))
            return
        relay.trainer = trainer
        if recorder is not None:
            recorder.attach(trainer)
        if not run.attach(trainer):
            self._forget_recording(run)
            post(msg.RunFinished(run.id, EngineRunFinished("stopped", 0, 0, 0.0)))
            return
        try:
            trainer.run()
        except Exception as exc:  # shown by worker_state_changed; the record says so too
            if recorder is not None:
                recorder.fail(f"{type(exc).__name__}: {exc}")
            raise

    def _forget_recording(self, run: RunControl) -> None:
        """A run that never started leaves no directory in the run store."""
        if run.recorder is not None:
            try:
                self.store.delete(run.recorder.name)
            except (NNFSError, OSError):
                pass

    def predict_latest(self, snapshot: msg.ModelSnapshot) -> None:
        """Guess every test image with this copy of the model, once the guesses under way
        are done; only the newest snapshot waits (older ones are not worth it)."""
        self._next_snapshot = snapshot
        self._predict_next()

    def _predict_next(self) -> None:
        """Start predicting with the newest snapshot, unless a prediction is under way."""
        if self.app.closing:  # no screen left to show the guesses (nor to post them to)
            return
        busy = any(w.group == "predict" and not w.is_finished for w in self.app.workers)
        if self._next_snapshot is not None and not busy:
            snapshot, self._next_snapshot = self._next_snapshot, None
            self.app.run_worker(partial(self._predict, snapshot, self.screen.post_message),
                                thread=True, exclusive=True, group="predict", name="predict",
                                exit_on_error=False)

    def _predict(self, snapshot: msg.ModelSnapshot, post: Post) -> None:
        """The digit viewer's guesses for every test image, from a copy of the model.

        Runs beside the training thread (the matrix products release the GIL), so training
        does not wait for it.
        """
        predicted, probabilities = predict(snapshot.network, snapshot.images)
        post(msg.PredictionsReady(snapshot.run_id, snapshot.epoch, predicted, probabilities))

    def worker_state_changed(self, worker: Worker, state: WorkerState) -> None:
        """A worker changed state: the next prediction may start; a crashed training thread
        ends the run as failed."""
        if worker.group == "predict" and worker.is_finished:
            self._predict_next()
        if worker.group != "training" or state != WorkerState.ERROR:
            return
        self.app.log_line(f"Training stopped by an unexpected error: {worker.error!r}", "error")
        self.app.notify(repr(worker.error), title="Training crashed", severity="error")
        if self.active:
            self.failed()

    # -- save, open, the Runs screen's results ----------------------------------------------
    def save_model(self) -> None:
        """Ctrl+S: save the current model (mid-run too, at the next batch boundary)."""
        trainer = self.trainer
        if trainer is None:
            self.app.log_line("Nothing to save yet: train a model first (F5).", "warning")
            return
        recorder = self.run.recorder if self.run is not None else None
        default = default_save_path(recorder.path if recorder is not None else None)
        post = self.screen.post_message

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.app.run_worker(partial(self._save_model, trainer, path, post),
                                    thread=True, group="save", exit_on_error=False)

        self.app.push_screen(SaveModelDialog(default), chosen)

    def _save_model(self, trainer: Trainer, path: Path, post: Post) -> None:
        """Saving mid-run waits for a batch boundary: never on the UI thread."""
        try:
            out = trainer.save(path, timeout=60)
        except (NNFSError, TimeoutError) as exc:
            post(msg.ModelSaved(path, error=str(exc)))
        else:
            post(msg.ModelSaved(out, epoch=trainer.state.epoch, step=trainer.state.step))

    def load_checkpoint(self) -> None:
        """Ctrl+O: choose a checkpoint to inspect it or to continue training it."""
        if self.active:
            self.app.log_line("Stop the run (F7) before loading a checkpoint.", "warning")
            self.app.bell()
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.open_checkpoint(path)

        self.app.push_screen(LoadCheckpointDialog(self.store), chosen)

    def open_checkpoint(self, path: Path) -> None:
        """Load the checkpoint at ``path`` (and its dataset) in a worker; the train screen
        shows it when it is ready."""
        if self.active:
            self.app.log_line("Stop the run (F7) before opening a checkpoint.", "warning")
            return
        self.app.log_line(f"Opening {path}…")
        self.app.run_worker(partial(self._open_checkpoint, Path(path), self.screen.post_message),
                            thread=True, exclusive=True, group="open", name="open",
                            exit_on_error=False)

    def _open_checkpoint(self, path: Path, post: Post) -> None:
        """Load the dataset and the checkpoint into a Trainer that is not running yet."""
        try:
            checkpoint = load_checkpoint(path)  # read once: its config picks the dataset
            trainer = Trainer.from_checkpoint(checkpoint, self._dataset_for(checkpoint.config),
                                              threads=self.threads)
        except (NNFSError, OSError) as exc:
            post(msg.CheckpointOpened(path, None, str(exc)))
            return
        post(msg.CheckpointOpened(path, trainer))

    def checkpoint_opened(self, trainer: Trainer) -> None:
        """An opened checkpoint becomes the loaded model: state ``loaded``, a run id of its
        own for its messages, and the digit viewer's guesses from it."""
        self.loaded = trainer
        self.app.run_state = "loaded"
        self.runs_started += 1
        self.run = RunControl(self.runs_started, trainer.config)
        self.run.trainer = trainer
        self.predict_latest(msg.ModelSnapshot(self.run.id, trainer.state.epoch,
                                              trainer.state.step, msg.snapshot(trainer.network),
                                              trainer.dataset.x_test))

    def runs_result(self, result: RunsResult) -> None:
        """What the Runs screen closed with: open a checkpoint, rerun a run, or fill the form
        from one."""
        if result.action == "open_checkpoint":
            if result.checkpoint is not None:
                self.open_checkpoint(result.checkpoint)
            return
        if self.active:
            self.app.log_line(f"Run {self.run.id} is still {self.app.run_state}: stop it (F7) "
                              "first.", "warning")
            self.app.bell()
            return
        self.loaded = None
        self.screen.form.set_config(result.config)
        if result.action == "rerun":
            changes = result.live_changes
            also = (f", replaying its {len(changes)} live change{'s' * (len(changes) != 1)}"
                    if changes else "")
            self.app.log_line(f"Rerunning {result.run_name} with the same config and "
                              f"seed{also}.")
            self.start_run(result.config, planned_changes=list(changes))
        else:
            self.app.log_line(f"Form filled from {result.run_name}; F5 starts it.")

    def model_and_data(self) -> tuple[MLP | None, Dataset | None]:
        """The model F4 and F9 show (the loaded checkpoint's, else the current run's) and its
        data (the test images alone before any model exists)."""
        trainer = self.loaded or self.trainer
        if trainer is not None:
            return trainer.network, trainer.dataset
        return None, self.screen.digits.dataset
