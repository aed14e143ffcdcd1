"""The app's run controller: one run at a time, its workers, save and open.

The app owns one :class:`RunController` (``app.controller``), the one place that starts,
pauses, resumes, stops and restarts runs, and the only writer of ``app.run_state`` (a
reactive of the app, because the footer's bindings and the train screen follow it).

Its thread workers run on the app (``app.run_worker``); they never touch widgets, they post
the messages of :mod:`nnfs_tui.messages` to the
:class:`~nnfs_tui.screens.train.TrainScreen`, whose handlers show them and tell the controller
of each transition (:meth:`RunController.started`, :meth:`~RunController.finished`, ...).
Controls go the other way through the run's :class:`~engine.session.RunSession`, whose
methods are safe from the UI thread; only :meth:`RunController._train_run` runs one. Save
and open live in :mod:`nnfs_tui.model_files`, sweeps in :mod:`nnfs_tui.sweeps`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from engine.config import TrainConfig, format_field
from engine.data import Dataset, DatasetCache
from engine.errors import ConfigError, NNFSError
from engine.events import LayerStats, LiveChange
from engine.metrics import predict
from engine.network import MLP
from engine.runs import RunStore
from engine.schedules import lr_factor
from engine.session import RunSession, fixed_fields_differ
from nnfs_tui import messages as msg
from nnfs_tui.dialogs.checkpoint import RestartScheduleDialog
from nnfs_tui.model_files import ModelFiles
from nnfs_tui.screens.runs import RunsResult
from nnfs_tui.sweeps import SweepRunner
from nnfs_tui.training import EventRelay

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
        self.dataset_for: DatasetCache = DatasetCache(dataset)
        """The dataset a config trains on: one given by the caller (tests, notebooks) for
        every run, else the split loaded last when it is the same, else a new one."""
        self.batch_interval: float = batch_interval
        """Seconds between progress messages from the worker (see PROGRESS_INTERVAL)."""
        self.threads: int | str = threads
        """BLAS threads of the training loop ("auto": one, so the UI thread keeps a core)."""
        self.store: RunStore = RunStore(runs_dir)
        """The runs directory every run is recorded in (F2 lists it)."""
        self.record: bool = record
        """Record runs in the store (off for throwaway sessions)."""
        self.session: RunSession | None = None
        """The current or last run."""
        self.run: str = ""
        """The current or last run's name (for a run not recorded, its number): what its
        messages carry, so a late message of an earlier run is told apart and dropped."""
        self.layer_history: list[LayerStats] = []
        """LayerStats of the current or last run, one per epoch (F4 shows them)."""
        self.runs_started: int = 0
        """Runs started since the app opened."""
        self.sweeps: SweepRunner = SweepRunner(self)
        """The sweep under way (F12): the engine's driver in a thread worker, its view."""
        self.files: ModelFiles = ModelFiles(self)
        """Save (Ctrl+S) and open (Ctrl+O, F2) checkpoints."""
        self.loaded: msg.CheckpointOpened | None = None
        """A checkpoint opened with Ctrl+O or from F2, not running; F5 continues it while the
        form still describes its run."""
        self._restart = False
        self._quitting = False
        self._next_snapshot: msg.ModelSnapshot | None = None
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
    def run_name(self) -> str | None:
        """The run store's name of the current or last run (None when it is not recorded)."""
        return self.session.name if self.session is not None else None

    @property
    def stop_requested(self) -> bool:
        """F7 (or a quit) asked the current or last run to stop."""
        return self.session is not None and self.session.stop_requested

    def is_current(self, run: str) -> bool:
        """True when ``run`` names the current run (a stale message is dropped)."""
        return bool(self.run) and run == self.run

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
        if self._restart:
            self._restart = False
            self.start()

    # -- starting and controlling a run ------------------------------------------------------
    def start(self) -> None:
        """F5: start a run with the form's values, unless one is running."""
        app, form = self.app, self.screen.form
        if self.active:
            app.log_line(f"Run {self.runs_started} is still {app.run_state}; one run at a time "
                         "(F7 stops it, F8 starts over).", "warning")
            app.bell()
            return
        try:
            config = form.config()
        except ConfigError as exc:
            # the field's own error may be scrolled out of view: a notice names it too
            app.log_line(f"Cannot start: {exc}", "error")
            app.notify(str(exc), title="Cannot start", severity="error")
            app.bell()
            if exc.field in form.errors or exc.field != "config":
                try:
                    form.control(exc.field).focus()
                except Exception:  # noqa: BLE001 - a field the form does not show
                    pass
            return
        loaded = self.loaded.summary if self.loaded is not None else None
        if (loaded is not None and self.matches_loaded(config)
                and loaded.trained_all(config.epochs)):
            app.log_line(f"The loaded checkpoint has already trained {loaded.epoch}/"
                         f"{config.epochs} epochs: raise epochs in the form to train it further "
                         "(F5 continues it), or change the network or seed to start afresh.",
                         "warning")
            app.bell()
            form.control("epochs").focus()
            return
        if self._offer_restart(config):
            return
        self.start_run(config)

    def _offer_restart(self, config: TrainConfig) -> bool:
        """F5 continues a finished run whose schedule decayed (cosine ends near 0): ask
        whether the added epochs get the schedule again (``lr_restart`` at the epoch
        it ended); True when the dialog is up (its answer starts the run)."""
        loaded = self.loaded
        ckpt = loaded.checkpoint if loaded is not None else None
        if (loaded is None or ckpt is None or loaded.summary is None
                or config.schedule == "constant" or not self.matches_loaded(config)
                or not loaded.summary.trained_all(ckpt.config.epochs)):
            return False
        done = loaded.summary.epoch
        if config.lr_restart >= done:  # restarts there already (set in the form)
            return False
        last = loaded.summary.last

        def rate_at(c: TrainConfig) -> float:  # where the next epoch starts under ``c``
            return c.learning_rate * lr_factor(
                c.schedule, done, c.epochs, warmup=c.warmup_epochs, step_epochs=c.lr_step_epochs,
                gamma=c.lr_gamma, restart=c.lr_restart)
        restarted = config.replace(lr_restart=float(done))

        def answer(restart: bool | None) -> None:
            if restart is None:
                self.app.log_line("Not started: F5 asks again.")
                return
            # the restart belongs to this continuation only: the form keeps its lr_restart,
            # so a fresh run started later never inherits it (the log says so)
            self.start_run(restarted if restart else config)

        self.app.push_screen(RestartScheduleDialog(
            config.schedule, done, config.epochs, ended_at=float(last["lr"]) if last else 0.0,
            restart_at=rate_at(restarted), keep_at=rate_at(config)), answer)
        return True

    def start_run(self, config: TrainConfig, *, prefix: str = "",
                  planned_changes: tuple[LiveChange, ...] = ()) -> None:
        """Start a run with exactly this config (F5, or a rerun from the Runs screen, which
        also replays the live changes of the run it repeats: ``planned_changes``)."""
        if self._quitting:  # no new run (F8 or a sweep would start one)
            return
        screen = self.screen
        self.runs_started += 1
        resume = self._resumable(config)
        start = partial(RunSession, config,
                        checkpoint=resume.checkpoint if resume is not None else None,
                        dataset=self.dataset_for, prefix=prefix, batch_event_interval=0,
                        threads=self.threads,
                        planned_changes=planned_changes if resume is None else ())
        try:
            session = start(store=self.store if self.record else None)
        except NNFSError as exc:  # the runs directory cannot take it: train unrecorded
            self.app.log_line(f"This run will not be recorded: {exc}", "warning")
            session = start(store=None)
        self.session = session
        self.run = session.name or str(self.runs_started)
        if session.path is not None:
            self.app.log_line(f"Recording to {session.path}")
        self.layer_history = []
        screen.reset_for_run(config.epochs)
        self.app.run_state = "loading"
        if resume is not None:
            restarted = ""
            if config.lr_restart == resume.summary.epoch:
                restarted = f", its {config.schedule} schedule restarted for the added epochs"
                kept = screen.form.values["lr_restart"]
                if kept != config.lr_restart:  # chosen in the restart dialog
                    restarted += (f" (lr_restart {format_field('lr_restart', config.lr_restart)}"
                                  f" for this run only: the form keeps "
                                  f"{format_field('lr_restart', kept)})")
            self.app.log_line(f"Run {self.runs_started}: continuing the loaded checkpoint from "
                              f"epoch {resume.summary.epoch} (step {resume.summary.step})"
                              f"{restarted}.")
        else:
            self.app.log_line(f"Run {self.runs_started}: loading {config.dataset}…")
        self.app.run_worker(partial(self._train, session, self.run, screen.post_message),
                            thread=True, exclusive=True, group="training", name="training",
                            exit_on_error=False)

    def _resumable(self, config: TrainConfig) -> msg.CheckpointOpened | None:
        """The loaded checkpoint when the form still describes its run (fields that cannot
        change mid-run are equal), else None: then F5 starts afresh."""
        loaded, self.loaded = self.loaded, None
        if loaded is None:
            return None
        if not self.matches_loaded(config, loaded):
            self.app.log_line("The form no longer matches the loaded checkpoint: starting a "
                              "new run instead of continuing it.", "warning")
            return None
        return loaded

    def matches_loaded(self, config: TrainConfig,
                       loaded: msg.CheckpointOpened | None = None) -> bool:
        """True when ``config`` describes the loaded checkpoint's run: the fields that cannot
        change mid-run (epochs aside) are equal."""
        loaded = loaded or self.loaded
        return (loaded is not None and loaded.checkpoint is not None
                and not fixed_fields_differ(config, loaded.checkpoint))

    def form_edited(self, config: Callable[[], TrainConfig]) -> None:
        """The form changed while no run is going: F5 continues a loaded checkpoint only
        while ``config()`` (the form's values) still describes its run."""
        if self.loaded is not None and self.app.run_state in ("loaded", "idle"):
            try:
                matches = self.matches_loaded(config())
            except ConfigError:
                matches = False
            self.app.run_state = "loaded" if matches else "idle"

    def change(self, changes: tuple[LiveChange, ...]) -> bool:
        """Send live changes to the run (applied at its next batch); False when no run is
        going. Raises ConfigError for a refused value (the engine checks it)."""
        if self.session is None or not self.active:
            return False
        self.session.change(*changes)
        return True

    def pause(self) -> None:
        """F6: pause the run at its next batch boundary (a sweep's trials do not pause)."""
        if self.sweeps.running:
            self.app.log_line("F6 does nothing during a sweep: its trials do not pause. F7 "
                              "stops the whole sweep (Resume sweep, Ctrl+P, goes on).",
                              "warning")
            self.app.bell()
            return
        if self.session is not None and self.app.run_state in ("training", "loading"):
            self.session.pause()

    def resume(self) -> None:
        """F6: resume a paused run."""
        if self.session is not None and self.app.run_state == "paused":
            self.session.resume()

    def toggle_pause(self) -> None:
        """Space / palette: pause a training run, resume a paused one."""
        if self.app.run_state == "paused":
            self.resume()
        elif self.app.run_state in ("training", "loading"):
            self.pause()
        else:
            self.app.log_line("No run to pause (F5 starts one).", "warning")

    def stop(self) -> None:
        """F7: stop the run (or the whole sweep) at its next batch boundary."""
        if self.sweeps.running:
            return self.sweeps.stop()
        if self.session is None or not self.active:
            self.app.log_line("No run to stop.", "warning")
            return
        if self.app.run_state != "stopping":
            self.app.log_line(f"Stopping run {self.runs_started} at the next batch…",
                              "warning")
        self.session.stop()
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
        if self.sweeps.running:
            return self.sweeps.stop_for_exit()
        session = self.session
        if session is None or session.done.is_set():
            return None
        session.stop()
        self.app.log_line(f"{reason + ': ' if reason else ''}stopping run {self.runs_started} "
                          "and writing its checkpoint before exiting…", "warning")
        return session.done

    def wait_for_training(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the training thread; False when it still runs."""
        session = self.session
        return (session is None or session.done.wait(timeout)) and self.sweeps.done.wait(timeout)

    def cancel(self) -> None:
        """The app is ending: the training thread (or the sweep) must not outlive it."""
        self.sweeps.stop_for_exit()
        if self.session is not None:
            self.session.stop()

    # -- the workers -----------------------------------------------------------------------
    def load_preview(self, config: TrainConfig) -> None:
        """Fetch the test images for the digit viewer without blocking the first paint."""
        post = self.screen.post_message
        if self.dataset_for.given is not None:
            post(msg.DatasetLoaded(self.dataset_for.given))
            return
        self.app.run_worker(partial(self._load_preview, config, post), thread=True,
                            exclusive=True, group="preview", name="preview",
                            exit_on_error=False)

    def _load_preview(self, config: TrainConfig, post: Post) -> None:
        try:
            dataset = self.dataset_for(config)
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            post(msg.RunFailed("", f"cannot load the dataset: {exc}", "dataset"))
            return
        post(msg.DatasetLoaded(dataset))

    def _train(self, session: RunSession, run: str, post: Post) -> None:
        """The training thread of one run.

        A new run's thread waits here until the last one has returned (F8 and sweeps start
        the next run as soon as the last one reports its end); ``session.done`` tells a quit
        when the run's final checkpoint is on disk.
        """
        with self._training_lock:
            self._train_run(session, run, post)

    def _train_run(self, session: RunSession, run: str, post: Post) -> None:
        """Load the data and run the session; everything else happens through messages."""
        worker = get_current_worker()
        try:
            dataset = session.load()
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            post(msg.RunFailed(run, str(exc), "dataset"))
            return
        post(msg.DatasetLoaded(dataset))
        # every batch reaches the relay, which smooths the loss and throttles posting
        session.on_event = EventRelay(run, post, dataset, snapshot=session.snapshot,
                                      stop=session.stop, interval=self.batch_interval,
                                      cancelled=lambda: worker.is_cancelled)
        try:
            session.run()
        except ConfigError as exc:  # e.g. a batch larger than the training set
            post(msg.RunFailed(run, str(exc), exc.field))

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
        post(msg.PredictionsReady(snapshot.run, snapshot.epoch, predicted, probabilities))

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

    # -- the Runs screen's results, the model to show ------------------------------------------
    def checkpoint_opened(self, opened: msg.CheckpointOpened) -> None:
        """An opened checkpoint becomes the loaded model: state ``loaded``, a run of its own
        for its messages, and the digit viewer's guesses from it."""
        assert opened.summary is not None and opened.network is not None
        assert opened.dataset is not None
        self.loaded = opened
        self.app.run_state = "loaded"
        self.runs_started += 1
        self.session = None
        self.run = str(opened.path)
        self.predict_latest(msg.ModelSnapshot(self.run, opened.summary.epoch,
                                              opened.summary.step, opened.network,
                                              opened.dataset.x_test))

    def runs_result(self, result: RunsResult) -> None:
        """What the Runs screen closed with: open a checkpoint, rerun a run, or fill the form
        from one."""
        if result.action == "open_checkpoint":
            if result.checkpoint is not None:
                self.files.open_checkpoint(result.checkpoint)
            return
        if self.active:
            self.app.log_line(f"Run {self.runs_started} is still {self.app.run_state}: stop it "
                              "(F7) first.", "warning")
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
            self.start_run(result.config, planned_changes=changes)
        else:
            self.app.log_line(f"Form filled from {result.run_name}; F5 starts it.")

    def model_and_data(self) -> tuple[MLP | None, Dataset | None]:
        """The model F4 and F9 show (the loaded checkpoint's, else a consistent copy of the
        current run's, taken under the trainer's lock) and its data (the test images alone
        before any model exists)."""
        if self.loaded is not None:
            return self.loaded.network, self.loaded.dataset
        snapshot = self.session.snapshot() if self.session is not None else None
        if snapshot is not None and snapshot.network is not None:  # a copy, never live weights
            return snapshot.network, self.session.dataset
        return None, self.screen.digits.dataset
