"""The Textual app: owns the training worker and routes its messages to the screen.

Training runs in a thread worker; the worker never touches widgets, it posts the messages of
:mod:`nnfs_tui.messages` (through :class:`~nnfs_tui.training.EventRelay`), each handled by one
``on_*`` method here. Controls go the other way through a
:class:`~nnfs_tui.training.RunControl`, whose methods are safe from the UI thread.

    from nnfs_tui.app import create_app
    create_app(preset="fast").run()
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from engine.checkpoint import load_checkpoint
from engine.config import FIELDS, LIVE_FIELDS, PRESETS, TrainConfig, format_field
from engine.data import Dataset, load_dataset
from engine.errors import ConfigError, NNFSError
from engine.events import EpochEnded as EngineEpochEnded
from engine.events import Event, LayerStats
from engine.events import RunFinished as EngineRunFinished
from engine.metrics import predict
from engine.network import MLP
from engine.runs import RunRecorder, RunStore
from engine.sweep import Trial, leaderboard
from engine.training import Trainer
from nnfs_tui import messages as msg
from nnfs_tui.dialogs import LoadCheckpointDialog, SaveModelDialog, default_save_path
from nnfs_tui.dialogs.sweep import SweepDialog, SweepProgress
from nnfs_tui.screens import HelpScreen, TrainScreen
from nnfs_tui.screens.draw import DrawScreen
from nnfs_tui.screens.inspect import InspectScreen
from nnfs_tui.screens.runs import RunsResult, RunsScreen
from nnfs_tui.training import EventRelay, RunControl
from nnfs_tui.widgets.form import HyperparameterForm
from nnfs_tui.widgets.progress import format_duration, format_percent

#: Seconds between progress messages from the training thread: four a second. Measured by
#: `make bench` on 784-256-10: at ten a second the app trained at 0.86x the headless speed
#: (median), at four a second at 0.96x; redrawing the progress line and the plots on the UI
#: thread competes with the training thread for the GIL.
PROGRESS_INTERVAL = 0.25

#: Garbage-collector thresholds while the app runs (Python's default: 700, 10, 10). Drawing
#: a frame makes tens of thousands of short-lived objects; at 700 many of them are still
#: alive at a collection, reach the oldest generation and make full collections (~50 ms,
#: every thread stopped) twice a second while keys and a fast run keep the screen busy.
#: Measured with `make bench` (key latency): at 10,000 no full collection in the run, the
#: youngest ones take ~3 ms and the middle ones ~20 ms about once a second.
GC_THRESHOLDS = (10_000, 10, 10)

#: States in which a run is in progress (one at a time).
ACTIVE_STATES = ("loading", "training", "paused", "stopping")

#: Seconds a quit (or a signal) waits for the training thread to write the run's final
#: checkpoint before the app exits anyway (the whole exit stays within 5 seconds).
QUIT_WAIT = 3.5


class NNFSApp(App[None]):
    """Train a NumPy MLP from the keyboard: form, live curves, digits, log."""

    CSS_PATH = "app.tcss"
    TITLE = "nnfs-tui"

    BINDINGS = [
        # F-keys and ctrl-chords work while a text field has focus (htop / mc convention)
        Binding("f1", "help", "Help", priority=True),
        Binding("f2", "runs", "Runs", priority=True),
        Binding("f3", "cycle_view", "View", priority=True),
        Binding("f4", "inspect", "Inspect", priority=True),
        Binding("f5", "start", "Start", priority=True),
        Binding("f6", "pause", "Pause", priority=True),
        Binding("f6", "resume", "Resume", priority=True),
        Binding("f7", "stop", "Stop", priority=True),
        Binding("f8", "restart", "Restart", show=False, priority=True),
        Binding("f9", "draw", "Draw", priority=True),
        Binding("ctrl+s", "save_model", "Save", show=False, priority=True),
        Binding("ctrl+o", "load_checkpoint", "Load", show=False, priority=True),
        Binding("f12", "sweep", "Sweep", show=False, priority=True),
        Binding("f10", "quit", "Quit", priority=True),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        # not a priority: the Draw screen's canvas keeps Ctrl+Z for undo
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
    ]

    run_state: reactive[str] = reactive("idle", init=False)
    """idle, loading, training, paused, stopping, or how the last run ended: completed,
    stopped, diverged, failed."""

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        preset: str | None = None,
        dataset: Dataset | None = None,
        timing: bool = True,
        batch_interval: float = PROGRESS_INTERVAL,
        threads: int | str = "auto",
        runs_dir: str | Path | None = None,
        record: bool = True,
    ) -> None:
        super().__init__()
        if config is None:
            preset = preset or "default"
            config = PRESETS[preset]
        self.initial_config: TrainConfig = config
        """What the form shows at start."""
        self.preset: str | None = preset
        """The preset the form starts from (None: a custom config)."""
        self.dataset: Dataset | None = dataset
        """A dataset given by the caller (tests, notebooks), used for every run as it is."""
        self.timing: bool = timing
        """Show measured times and speeds; off makes screenshots reproducible."""
        self.batch_interval: float = batch_interval
        """Seconds between progress messages from the worker (see PROGRESS_INTERVAL)."""
        self.threads: int | str = threads
        """BLAS threads of the training loop ("auto": one, so the UI thread keeps a core)."""
        self.current_run: RunControl | None = None
        """The current or last run."""
        self.store: RunStore = RunStore(runs_dir)
        """The runs directory every run is recorded in (F2 lists it)."""
        self.record: bool = record
        """Record runs in the store (off for throwaway sessions)."""
        self.layer_history: list[LayerStats] = []
        """LayerStats of the current or last run, one per epoch (F4 shows them)."""
        self.runs_started = 0
        """Runs started since the app opened."""
        self._restart = False
        self._loaded: Trainer | None = None
        self._next_snapshot: msg.ModelSnapshot | None = None
        self._cache_lock = threading.Lock()
        self._cache: tuple[tuple, Dataset] | None = None
        self._training_lock = threading.Lock()  # one training thread at a time, always
        self._exit_code: int | None = None  # set once quitting has begun
        self._gc_thresholds: tuple[int, ...] | None = None  # Python's, while the app runs
        self.sweep: SweepProgress | None = None
        """The sweep under way (F12), whose trials run one after another; None when none."""

    # -- screens ---------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return TrainScreen(self.initial_config, preset=self.preset, timing=self.timing)

    @property
    def train_screen(self) -> TrainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, TrainScreen)
        return screen

    @property
    def trainer(self) -> Trainer | None:
        """The engine's Trainer of the current or last run (None before the first)."""
        return self.current_run.trainer if self.current_run is not None else None

    @property
    def run_active(self) -> bool:
        return self.run_state in ACTIVE_STATES

    def on_ready(self) -> None:
        """The first frame is on screen: now fetch the test images for the digit viewer."""
        # What exists now (modules, widgets, styles: ~120,000 objects) lives as long as the
        # app: keep it out of the garbage collector's full passes (they stop every thread;
        # ~90 ms with these objects, ~15-30 ms without: the slowest key presses were the
        # ones that met one), and collect less often (GC_THRESHOLDS). Undone when it ends.
        gc.freeze()
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        self.log_line("Ready. Edit the form (Tab moves between fields), F5 starts a run, "
                      "F1 lists every key.")
        if self.dataset is not None:
            self.post_message(msg.DatasetLoaded(self.dataset))
        else:
            self._load_preview(self.initial_config)

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview", name="preview")
    def _load_preview(self, config: TrainConfig) -> None:
        """Load the test images for the digit viewer without blocking the first paint."""
        try:
            dataset = self._dataset_for(config)
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            self.post_message(msg.RunFailed(0, f"cannot load the dataset: {exc}", "dataset"))
            return
        self.post_message(msg.DatasetLoaded(dataset))

    @work(thread=True, exclusive=True, exit_on_error=False, group="training", name="training")
    def _train(self, run: RunControl) -> None:
        """The training thread of one run.

        A new run's thread waits here until the last one has returned (F8 and sweeps start
        the next run as soon as the last one reports its end), and ``run.thread_done`` tells
        a quit when the run's final checkpoint is on disk.
        """
        try:
            with self._training_lock:
                self._train_run(run)
        finally:
            if run.thread_done is not None:
                run.thread_done.set()

    def _train_run(self, run: RunControl) -> None:
        """Build the Trainer and run it; everything else happens through messages."""
        worker = get_current_worker()
        try:
            dataset = self._dataset_for(run.config)
        except (NNFSError, OSError) as exc:  # OSError: a download without network, say
            self._forget_recording(run)
            self.post_message(msg.RunFailed(run.id, str(exc), "dataset"))
            return
        self.post_message(msg.DatasetLoaded(dataset))
        relay = EventRelay(run.id, self.post_message, dataset, interval=self.batch_interval,
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
            self.post_message(msg.RunFailed(run.id, str(exc), exc.field))
            return
        relay.trainer = trainer
        if recorder is not None:
            recorder.attach(trainer)
        if not run.attach(trainer):
            self._forget_recording(run)
            self.post_message(msg.RunFinished(run.id, EngineRunFinished("stopped", 0, 0, 0.0)))
            return
        try:
            trainer.run()
        except Exception as exc:  # shown by on_worker_state_changed; the record says so too
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="predict", name="predict")
    def _predict(self, snapshot: msg.ModelSnapshot) -> None:
        """The digit viewer's guesses for every test image, from a copy of the model.

        Runs beside the training thread (the matrix products release the GIL), so training
        does not wait for it.
        """
        predicted, probabilities = predict(snapshot.network, snapshot.images)
        self.post_message(msg.PredictionsReady(snapshot.run_id, snapshot.epoch, predicted,
                                               probabilities))

    def _predict_next(self) -> None:
        """Start predicting with the newest snapshot, unless a prediction is under way."""
        busy = any(w.group == "predict" and not w.is_finished for w in self.workers)
        if self._next_snapshot is not None and not busy:
            snapshot, self._next_snapshot = self._next_snapshot, None
            self._predict(snapshot)

    # -- actions ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer: F6 reads Pause or Resume; keys that do nothing now are dimmed."""
        state = self.run_state
        if action == "pause":
            return True if state in ("training", "loading") else (
                False if state == "paused" else None)
        if action == "resume":
            return state == "paused"
        if action == "stop":
            return True if self.run_active else None
        if action == "cycle_view":  # only small terminals show one view at a time
            return bool(self.screen_stack and getattr(self.screen_stack[0], "compact", False))
        return True

    def action_start(self) -> None:
        """F5: start a run with the form's values, unless one is running."""
        screen = self.train_screen
        if self.run_active:
            self.log_line(f"Run {self.current_run.id} is still {self.run_state}; one run at a time "
                          "(F7 stops it, F8 starts over).", "warning")
            self.bell()
            return
        try:
            config = screen.form.config()
        except ConfigError as exc:
            self.log_line(f"Cannot start: {exc}", "error")
            self.bell()
            if exc.field in screen.form.errors or exc.field != "config":
                try:
                    screen.form.control(exc.field).focus()
                except Exception:  # noqa: BLE001 - a field the form does not show
                    pass
            return
        loaded = self._loaded
        if (loaded is not None and self._matches_loaded(config)
                and loaded.state.epoch >= config.epochs and loaded.state.position == 0):
            self.log_line(f"The loaded checkpoint has already trained {loaded.state.epoch}/"
                          f"{config.epochs} epochs: raise epochs in the form to train it further "
                          "(F5 continues it), or change the network or seed to start afresh.",
                          "warning")
            self.bell()
            screen.form.control("epochs").focus()
            return
        self.start_run(config)

    def start_run(self, config: TrainConfig, *, prefix: str = "",
                  planned_changes: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        """Start a run with exactly this config (F5, or a rerun from the Runs screen, which
        also replays the live changes of the run it repeats: ``planned_changes``)."""
        if self._exit_code is not None:  # quitting: no new run (F8 or a sweep would start one)
            return
        screen = self.train_screen
        screen.form.clear_run_errors()
        self.runs_started += 1
        resume = self._resumable(config)
        self.current_run = RunControl(self.runs_started, config)
        self.current_run.resume_from = resume
        if resume is None and planned_changes:
            self.current_run.planned_changes = list(planned_changes)
        self.current_run.recorder = self._create_recorder(config, prefix)
        self.layer_history = []
        screen.loss_plot.reset(config.epochs)
        screen.accuracy_plot.reset(config.epochs)
        screen.digits.clear_predictions()
        screen.progress.reset(config.epochs)
        self.run_state = "loading"
        if resume is not None:
            self.log_line(f"Run {self.current_run.id}: continuing the loaded checkpoint from "
                          f"epoch {resume.state.epoch} (step {resume.state.step}).")
        else:
            self.log_line(f"Run {self.current_run.id}: loading {config.dataset}…")
        self.current_run.thread_done = threading.Event()
        self._train(self.current_run)

    def _resumable(self, config: TrainConfig) -> Trainer | None:
        """The loaded checkpoint's Trainer when the form still describes its run (fields that
        cannot change mid-run are equal), else None: then F5 starts afresh."""
        loaded, self._loaded = self._loaded, None
        if loaded is None:
            return None
        if not self._matches_loaded(config, loaded):
            self.log_line("The form no longer matches the loaded checkpoint: starting a new "
                          "run instead of continuing it.", "warning")
            return None
        if config.epochs != loaded.config.epochs:
            loaded.config = loaded.config.replace(epochs=config.epochs)
        return loaded

    def _matches_loaded(self, config: TrainConfig, loaded: Trainer | None = None) -> bool:
        """True when ``config`` describes the loaded checkpoint's run: the fields that cannot
        change mid-run (epochs aside) are equal."""
        loaded = loaded or self._loaded
        fixed = [k for k in FIELDS if not FIELDS[k].live and k != "epochs"]
        return loaded is not None and all(getattr(config, k) == getattr(loaded.config, k)
                                          for k in fixed)

    def _create_recorder(self, config: TrainConfig, prefix: str = "") -> RunRecorder | None:
        if not self.record:
            return None
        try:
            recorder = self.store.create(config, self.store.new_name(config, prefix))
        except NNFSError as exc:
            self.log_line(f"This run will not be recorded: {exc}", "warning")
            return None
        self.log_line(f"Recording to {recorder.path}")
        return recorder

    def action_pause(self) -> None:
        if self.current_run is not None and self.run_state in ("training", "loading"):
            self.current_run.pause()

    def action_resume(self) -> None:
        if self.current_run is not None and self.run_state == "paused":
            self.current_run.resume()

    def action_toggle_pause(self) -> None:
        """Space / palette: pause a training run, resume a paused one."""
        if self.run_state == "paused":
            self.action_resume()
        elif self.run_state in ("training", "loading"):
            self.action_pause()
        else:
            self.log_line("No run to pause (F5 starts one).", "warning")

    def action_stop(self) -> None:
        if self.current_run is None or not self.run_active:
            self.log_line("No run to stop.", "warning")
            return
        if self.run_state != "stopping":
            self.log_line(f"Stopping run {self.current_run.id} at the next batch…", "warning")
        self.current_run.stop()
        self.run_state = "stopping"

    def action_restart(self) -> None:
        """F8: stop the run if one is going, then start a fresh one from the form."""
        if self.run_active:
            self._restart = True
            self.action_stop()
        else:
            self.action_start()

    # -- quitting ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """F10 / Ctrl+Q: stop the run at the next batch, write its final checkpoint, exit 0."""
        self.shut_down(0)

    def exit_on_signal(self, signum: int) -> None:
        """SIGINT, SIGTERM or SIGHUP (``nnfs-tui`` routes them here): as a quit, but the exit
        code is 128 + the signal's number (130, 143, 129)."""
        self.shut_down(128 + signum, f"{signal.Signals(signum).name} received")

    def terminal_lost(self) -> None:
        """The terminal is gone (a dropped connection while SIGHUP is ignored, as under
        ``nohup``): as SIGHUP, exit code 129."""
        self.shut_down(128 + signal.SIGHUP, "the terminal is gone")

    def shut_down(self, return_code: int = 0, reason: str = "") -> None:
        """Stop the run at its next batch boundary, wait until its training thread has
        written the final checkpoint (at most QUIT_WAIT seconds), then exit with
        ``return_code``. Asked again meanwhile, it exits at once (with the first code)."""
        if self._exit_code is not None:
            self.exit(return_code=self._exit_code)
            return
        self._exit_code = return_code
        self._restart = False
        run = self.current_run
        if run is None or run.thread_done is None or run.thread_done.is_set():
            self.exit(return_code=return_code)
            return
        run.stop()
        self.log_line(f"{reason + ': ' if reason else ''}stopping run {run.id} and writing its "
                      "checkpoint before exiting…", "warning")
        self._exit_when_saved(run.thread_done, return_code)

    @work(exclusive=True, exit_on_error=False, group="quit", name="quit")
    async def _exit_when_saved(self, done: threading.Event, return_code: int) -> None:
        """Wait without blocking the UI (the run's last messages still arrive), then exit."""
        deadline = time.monotonic() + QUIT_WAIT
        while not done.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.exit(return_code=return_code)

    def on_driver_signal_resume(self) -> None:
        """Back from Ctrl+Z (``fg``): the shell drew over the screen, so draw all of it."""
        self.refresh(layout=True)

    def wait_for_training(self, timeout: float) -> bool:
        """After the app has exited: wait up to ``timeout`` seconds for the training thread;
        False when it is still running (``nnfs-tui`` then ends the process without it)."""
        run = self.current_run
        if run is None or run.thread_done is None:
            return True
        return run.thread_done.wait(timeout)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_cycle_view(self) -> None:
        self.train_screen.action_cycle_view()

    def _model_and_data(self) -> tuple[MLP | None, Dataset | None]:
        trainer = self._loaded or self.trainer
        if trainer is not None:
            return trainer.network, trainer.dataset
        return None, self.train_screen.digits.dataset

    def action_inspect(self) -> None:
        """F4: confusion matrix, first-layer weights, layer health of the current model."""
        network, data = self._model_and_data()
        if data is None:
            self.notify("The test images are still loading…")
            return
        if not isinstance(self.screen, InspectScreen):
            self.push_screen(InspectScreen(network, data, self.layer_history))

    def action_draw(self) -> None:
        """F9: draw a digit and watch the model's guesses."""
        network, data = self._model_and_data()
        if data is None:
            self.notify("The test images are still loading…")
            return
        if not isinstance(self.screen, DrawScreen):
            self.push_screen(DrawScreen(network, data))

    def action_runs(self) -> None:
        """F2: the recorded runs: compare, rerun, load, delete, export."""
        if isinstance(self.screen, RunsScreen):
            self.screen.dismiss(None)
        elif len(self.screen_stack) == 1:
            self.push_screen(RunsScreen(self.store, timing=self.timing), self.on_runs_result)

    def on_runs_result(self, result: RunsResult | None) -> None:
        if result is None:
            return
        if result.action == "open_checkpoint":
            if result.checkpoint is not None:
                self.open_checkpoint(result.checkpoint)
            return
        if self.run_active:
            self.log_line(f"Run {self.current_run.id} is still {self.run_state}: stop it (F7) "
                          "first.", "warning")
            self.bell()
            return
        self._loaded = None
        self.train_screen.form.set_config(result.config)
        if result.action == "rerun":
            changes = result.live_changes
            also = (f", replaying its {len(changes)} live change{'s' * (len(changes) != 1)}"
                    if changes else "")
            self.log_line(f"Rerunning {result.run_name} with the same config and seed{also}.")
            self.start_run(result.config, planned_changes=list(changes))
        else:
            self.log_line(f"Form filled from {result.run_name}; F5 starts it.")

    # -- sweeps ----------------------------------------------------------------------------
    def action_sweep(self) -> None:
        """F12: plan a sweep over the form's values; its trials then run one after another."""
        if self.run_active:
            self.log_line(f"Run {self.current_run.id} is still {self.run_state}: stop it (F7) "
                          "before starting a sweep.", "warning")
            self.bell()
            return
        if len(self.screen_stack) != 1:
            return
        try:
            base = self.train_screen.form.config()
        except ConfigError as exc:
            self.log_line(f"Cannot plan a sweep: {exc}", "error")
            self.bell()
            return
        self.push_screen(SweepDialog(base), lambda trials: self.start_sweep(trials or [], base))

    def start_sweep(self, trials: list[Trial], base: TrainConfig) -> None:
        """Train ``trials`` one after another, each a recorded run; the form shows ``base``
        again when the sweep ends. F7 stops the trial and the sweep."""
        if not trials:
            return
        if self.run_active:
            self.log_line("A run is in progress: the sweep did not start.", "warning")
            self.bell()
            return
        self._loaded = None  # every trial starts afresh, never from a loaded checkpoint
        self.sweep = SweepProgress(list(trials), base)
        n = len(trials)
        where = "recorded as sweep-* runs" if self.record else "not recorded (--no-record)"
        self.log_line(f"Sweep of {n} trial{'s' * (n != 1)}, one after another, {where}; "
                      "F7 stops it.")
        self._start_trial()

    def _start_trial(self) -> None:
        sweep = self.sweep
        assert sweep is not None
        self.log_line(f"Sweep {sweep.label()}")
        self.train_screen.form.set_config(sweep.trial.config)  # the form shows what trains
        self.start_run(sweep.trial.config, prefix="sweep-")

    def _sweep_after_run(self) -> None:
        """A trial ended: start the next, unless it was stopped or failed, or was the last."""
        sweep, run, status = self.sweep, self.current_run, self.run_state
        if sweep is None or not self.screen_stack:
            self.sweep = None
            return
        if run is not None and run.recorder is not None and status != "failed":
            sweep.runs.append((sweep.index, run.recorder.name))
        left = len(sweep.trials) - sweep.index - 1
        if run is None or run.stop_requested or status not in ("completed", "diverged"):
            self._end_sweep(f"Sweep ended at {sweep.label()} ({status}): {left} "
                            f"trial{'s' * (left != 1)} not run.", "warning")
        elif left == 0:
            self._end_sweep(f"Sweep done: {len(sweep.trials)} trials.", "success")
        else:
            sweep.index += 1
            self._start_trial()

    def _end_sweep(self, text: str, level: str) -> None:
        sweep, self.sweep = self.sweep, None
        assert sweep is not None
        self.train_screen.form.set_config(sweep.base)
        names = {name: index for index, name in sweep.runs}
        infos = []
        for name in names:
            try:
                infos.append(self.store.load(name))
            except (NNFSError, OSError):  # deleted meanwhile from the Runs screen
                continue
        ranked = leaderboard(infos)
        best = ranked[0] if ranked else None
        score = None if best is None else best.score
        if best is not None and score is not None:
            which = "val" if best.best_val_acc is not None else "test"
            text += (f" Best: {sweep.label(names[best.name])}, {which} "
                     f"{format_percent(score)} ({best.name}). F2 ranks them all.")
        self.log_line(text, level)
        self.notify(text, title="Sweep", severity="warning" if level == "warning" else
                    "information", timeout=8)

    def action_save_model(self) -> None:
        """Ctrl+S: save the current model (mid-run too, at the next batch boundary)."""
        trainer = self.trainer
        if trainer is None:
            self.log_line("Nothing to save yet: train a model first (F5).", "warning")
            return
        recorder = self.current_run.recorder if self.current_run is not None else None
        default = default_save_path(recorder.path if recorder is not None else None)

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._save_model(trainer, path)

        self.push_screen(SaveModelDialog(default), chosen)

    @work(thread=True, exit_on_error=False, group="save")
    def _save_model(self, trainer: Trainer, path: Path) -> None:
        """Saving mid-run waits for a batch boundary: never on the UI thread."""
        try:
            out = trainer.save(path, timeout=60)
        except (NNFSError, TimeoutError) as exc:
            self.post_message(msg.ModelSaved(path, error=str(exc)))
        else:
            self.post_message(msg.ModelSaved(out, epoch=trainer.state.epoch,
                                             step=trainer.state.step))

    def on_model_saved(self, message: msg.ModelSaved) -> None:
        if message.error:
            self.log_line(f"Save failed: {message.error} (the model is still in memory; "
                          "Ctrl+S tries again)", "error")
            self.notify(message.error, title="Save failed", severity="error", timeout=8)
        else:
            self.log_line(f"Saved the model after epoch {message.epoch}, step {message.step} "
                          f"to {message.path}", "success")
            self.notify(str(message.path), title="Model saved")

    def action_load_checkpoint(self) -> None:
        """Ctrl+O: load a checkpoint to inspect it or to continue training it."""
        if self.run_active:
            self.log_line("Stop the run (F7) before loading a checkpoint.", "warning")
            self.bell()
            return
        self.push_screen(LoadCheckpointDialog(self.store), self._checkpoint_chosen)

    def _checkpoint_chosen(self, path: Path | None) -> None:
        if path is not None:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: Path) -> None:
        if self.run_active:
            self.log_line("Stop the run (F7) before opening a checkpoint.", "warning")
            return
        self.log_line(f"Opening {path}…")
        self._open_checkpoint(Path(path))

    @work(thread=True, exclusive=True, exit_on_error=False, group="open", name="open")
    def _open_checkpoint(self, path: Path) -> None:
        """Load the dataset and the checkpoint into a Trainer that is not running yet."""
        try:
            checkpoint = load_checkpoint(path)  # read once: its config picks the dataset
            trainer = Trainer.from_checkpoint(checkpoint, self._dataset_for(checkpoint.config),
                                              threads=self.threads)
        except (NNFSError, OSError) as exc:
            self.post_message(msg.CheckpointOpened(path, None, str(exc)))
            return
        self.post_message(msg.CheckpointOpened(path, trainer))

    def on_checkpoint_opened(self, message: msg.CheckpointOpened) -> None:
        trainer = message.trainer
        if trainer is None:
            self.log_line(f"Cannot open the checkpoint: {message.error}", "error")
            self.notify(message.error, title="Cannot open", severity="error", timeout=8)
            return
        if self.run_active:
            return
        self._loaded = trainer
        screen = self.train_screen
        screen.form.set_config(trainer.config)
        screen.loss_plot.reset(trainer.config.epochs)
        screen.accuracy_plot.reset(trainer.config.epochs)
        screen.progress.reset(trainer.config.epochs, epoch_done=trainer.state.epoch,
                              history=trainer.history, elapsed=trainer.state.elapsed)
        self.run_state = "loaded"
        self._plot_history(trainer.history)
        self.post_message(msg.DatasetLoaded(trainer.dataset))
        self.runs_started += 1
        self.current_run = RunControl(self.runs_started, trainer.config)
        self.current_run.trainer = trainer
        self._next_snapshot = msg.ModelSnapshot(self.current_run.id, trainer.state.epoch,
                                                trainer.state.step,
                                                msg.snapshot(trainer.network),
                                                trainer.dataset.x_test)
        self._predict_next()
        st = trainer.state
        last = trainer.history[-1] if trainer.history else None
        acc = f", test accuracy {format_percent(last['test_acc'])}" if last else ""
        self.log_line(f"Loaded {message.path}: epoch {st.epoch}, step {st.step}{acc}. F4 "
                      "inspects it, F9 draws for it, F5 continues training it.", "success")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Start run", "Train with the form's values (F5)", self.action_start)
        yield SystemCommand("Pause / resume run", "F6", self.action_toggle_pause)
        yield SystemCommand("Stop run", "Stop at the next batch (F7)", self.action_stop)
        yield SystemCommand("Start over", "Stop and start a fresh run (F8)", self.action_restart)
        yield SystemCommand("Sweep", "Grid or random search over the form's values, one run "
                            "per trial (F12)", self.action_sweep)
        yield SystemCommand("Help", "Keys and hyperparameters (F1)", self.action_help)
        yield SystemCommand("Runs", "Compare, rerun, load or delete recorded runs (F2)",
                            self.action_runs)
        yield SystemCommand("Inspect model", "Confusion matrix, weights, layer health (F4)",
                            self.action_inspect)
        yield SystemCommand("Draw a digit", "Draw and watch the guesses (F9)",
                            self.action_draw)
        yield SystemCommand("Save model", "Write a checkpoint now (Ctrl+S)",
                            self.action_save_model)
        yield SystemCommand("Load checkpoint", "Inspect or continue a saved model (Ctrl+O)",
                            self.action_load_checkpoint)
        yield SystemCommand("Next view", "Loss, accuracy, digits, log below 110x34 (F3)",
                            self.action_cycle_view)
        digits = self.train_screen.digits
        yield SystemCommand("Next digit", "Digit viewer (n)", lambda: digits.action_step(1))
        yield SystemCommand("Previous digit", "Digit viewer (p)",
                            lambda: digits.action_step(-1))
        yield SystemCommand("Random digit", "Digit viewer (r)", digits.action_random)
        yield SystemCommand("Toggle only mistakes", "Digit viewer (m)",
                            digits.action_toggle_mistakes)
        for name in PRESETS:
            yield SystemCommand(f"Preset: {name}", "Fill the form with this preset",
                                lambda name=name: self._apply_preset(name))

    def _apply_preset(self, name: str) -> None:
        if self.run_active:
            self.log_line("Presets change locked fields: stop the run first (F7).", "warning")
            return
        self.train_screen.query_one("#preset").value = name

    # -- state -----------------------------------------------------------------------------
    def watch_run_state(self, state: str) -> None:
        screen = self.train_screen
        # on the progress line, not the screen: a class on the screen restyles every widget
        screen.progress.set_class(state in ACTIVE_STATES, "-training")
        screen.progress.set_class(state == "paused", "-paused")
        screen.form.locked = state in ACTIVE_STATES
        screen.progress.status = state
        self.refresh_bindings()

    @property
    def closing(self) -> bool:
        """The app is exiting: its widgets are being taken down, so late messages from the
        worker threads are dropped."""
        return self._exit or not self.screen_stack

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast, always as plain text: run names, paths, sweep labels and error messages
        hold brackets that are not markup (``Widget.notify`` asks for markup by default)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def log_line(self, text: str, level: str = "info") -> None:
        """A line in the run log (and the Textual devtools log)."""
        if self.closing:
            return
        self.train_screen.log_view.add(text, level)
        self.log.info(text)

    def _current(self, message: msg.RunMessage) -> bool:
        """True when the message comes from the current run (a stale one is dropped)."""
        if self.closing:
            return False
        return self.current_run is not None and message.run_id == self.current_run.id

    def _seconds(self, seconds: float) -> str:
        return format_duration(seconds) if self.timing else "--:--"

    # -- messages from the form ------------------------------------------------------------
    def on_hyperparameter_form_live_edit(self, message: HyperparameterForm.LiveEdit) -> None:
        """Enter (or leaving the field) on a live field during a run: send it to the trainer."""
        if self.current_run is None or not self.run_active:
            return
        try:
            self.current_run.set_hyperparameters(**message.changes)
        except ConfigError as exc:
            self.train_screen.form.show_error(exc.field, str(exc))
            self.log_line(f"Live change refused: {exc}", "error")
            return
        if self.run_state in ("paused", "loading"):  # no batch boundary comes until then
            changed = ", ".join(f"{k} → {format_field(k, v)}" for k, v in message.changes.items())
            when = "training resumes (F6)" if self.run_state == "paused" else "training starts"
            self.log_line(f"Live change {changed}: applied when {when}.")

    def on_hyperparameter_form_edited(self, message: HyperparameterForm.Edited) -> None:
        if self.closing:  # an edit still queued while the app exits
            return
        form = self.train_screen.form
        if self.run_active:
            return
        if self._loaded is not None and self.run_state in ("loaded", "idle"):
            # F5 continues the checkpoint only while the form still describes its run
            try:
                matches = self._matches_loaded(form.config())
            except ConfigError:
                matches = False
            self.run_state = "loaded" if matches else "idle"
        if "epochs" not in form.errors:
            self.train_screen.progress.set_epochs(form.values["epochs"])

    # -- messages from the worker ----------------------------------------------------------
    def on_dataset_loaded(self, message: msg.DatasetLoaded) -> None:
        if self.closing:
            return
        screen = self.train_screen
        screen.digits.set_dataset(message.dataset)
        screen.form.n_features = message.dataset.n_features
        screen.form.n_classes = message.dataset.n_classes

    def on_run_started(self, message: msg.RunStarted) -> None:
        if not self._current(message):
            return
        e = message.event
        c = e.config
        screen = self.train_screen
        screen.progress.start(e)
        screen.loss_plot.reset(c.epochs)
        screen.accuracy_plot.reset(c.epochs)
        if e.start_epoch and self.trainer is not None:  # a resumed run: its curves so far
            self._plot_history(list(self.trainer.history)[:e.start_epoch])
        if self.run_state == "loading":
            self.run_state = "training"
        shape = "-".join(str(s) for s in (screen.form.n_features, *c.hidden_sizes,
                                          screen.form.n_classes))
        self.log_line(
            f"Run {message.run_id} started: {shape} {c.activation}, {c.optimizer} "
            f"lr {format_field('learning_rate', c.learning_rate)} ({c.schedule}), "
            f"batch {c.batch_size}, {c.epochs} epochs on {message.dataset_name} "
            f"({e.n_train:,} train / {e.n_val:,} val / {e.n_test:,} test), "
            f"{e.parameter_count:,} parameters.")

    def on_batch_ended(self, message: msg.BatchEnded) -> None:
        if not self._current(message):
            return
        screen = self.train_screen
        screen.progress.update_batch(message.event)
        screen.loss_plot.set_live(message.loss_points)

    def on_epochs_ended(self, message: msg.EpochsEnded) -> None:
        """One epoch, or every epoch since the last message when they end faster than the
        relay posts: each reaches the plots, the progress line and the log."""
        if not self._current(message):
            return
        screen = self.train_screen
        for e in message.events:
            screen.progress.update_epoch(e)
        screen.loss_plot.add_epochs(message.events, message.loss_points)
        screen.accuracy_plot.add_epochs(message.events)
        for e in message.events:
            val = (f" · val {e.val_loss:.4f} {format_percent(e.val_acc)}"
                   if e.val_acc is not None else "")
            self.log_line(
                f"Epoch {e.epoch}/{e.epochs}: train {e.train_loss:.4f} "
                f"{format_percent(e.train_acc)}{val} · test {e.test_loss:.4f} "
                f"{format_percent(e.test_acc)} ({self._seconds(e.epoch_seconds)})", "epoch")

    def _plot_history(self, history: Iterable[dict]) -> None:
        """The epochs of a loaded or resumed run's history (its batch losses are not kept)."""
        events = tuple(EngineEpochEnded(**entry) for entry in history)
        screen = self.train_screen
        for e in events:
            screen.progress.update_epoch(e)
        screen.loss_plot.add_epochs(events, ())
        screen.accuracy_plot.add_epochs(events)

    def on_layer_stats_ready(self, message: msg.LayerStatsReady) -> None:
        if not self._current(message):
            return
        self.layer_history.extend(message.events)
        for screen in self.screen_stack:
            if isinstance(screen, InspectScreen):
                screen.add_layer_stats(*message.events)

    def on_model_snapshot(self, message: msg.ModelSnapshot) -> None:
        if not self._current(message):
            return
        self._next_snapshot = message  # only the newest waits; older ones are not worth it
        self._predict_next()

    def on_predictions_ready(self, message: msg.PredictionsReady) -> None:
        if not self._current(message):
            return
        self.train_screen.digits.set_predictions(message.predicted, message.probabilities,
                                                 message.epoch)

    def on_hyperparameters_changed(self, message: msg.HyperparametersChanged) -> None:
        if not self._current(message):
            return
        e = message.event
        screen = self.train_screen
        screen.form.mark_applied(e.changes)
        screen.loss_plot.mark(e.epoch_progress)
        screen.accuracy_plot.mark(e.epoch_progress)
        changes = ", ".join(f"{k} = {format_field(k, v)}" for k, v in e.changes.items())
        self.log_line(f"Live change at epoch {e.epoch_progress:.2f} (step {e.step}): "
                      f"{changes}", "change")

    def on_paused(self, message: msg.Paused) -> None:
        if not self._current(message):
            return
        if self.run_state in ("training", "loading"):
            self.run_state = "paused"
        self.log_line(f"Paused after step {message.event.step} (F6 resumes).", "warning")

    def on_resumed(self, message: msg.Resumed) -> None:
        if not self._current(message):
            return
        if self.run_state == "paused":
            self.run_state = "training"
        self.log_line(f"Resumed at step {message.event.step + 1}.")

    def on_run_finished(self, message: msg.RunFinished) -> None:
        if not self._current(message):
            return
        e = message.event
        screen = self.train_screen
        screen.progress.finish(e)
        took = self._seconds(e.seconds)
        epochs = f"{e.epochs_completed} epoch{'s' * (e.epochs_completed != 1)}"
        test = (f"test accuracy {format_percent(e.test_acc)} (loss {e.test_loss:.4f})"
                if e.test_acc is not None else "")
        if e.status == "completed":
            self.log_line(f"Run {message.run_id} finished: {epochs}, {test}, in {took}.",
                          "success")
            self.notify(f"Run {message.run_id} finished: {test}", title="Training done")
        elif e.status == "stopped":
            self.log_line(f"Run {message.run_id} stopped after {epochs} (step {e.step})"
                          f"{', ' + test if test else ''}, in {took}.", "warning")
        else:
            self.log_line(f"Run {message.run_id} DIVERGED: {e.reason}. Try a smaller "
                          "learning_rate, then F5.", "error")
            self.notify(e.reason, title="Training diverged", severity="error", timeout=8)
        self.run_state = e.status
        self._after_run()

    def on_run_failed(self, message: msg.RunFailed) -> None:
        if self.closing:
            return
        if message.run_id == 0:  # the preview could not load
            self.train_screen.digits.status = message.error
            self.train_screen.digits.refresh()
            self.log_line(message.error, "error")
            return
        if not self._current(message):
            return
        self.log_line(f"Run {message.run_id} could not start: {message.error}", "error")
        if message.field in FIELDS:  # and back to it, so typing goes to the field
            self.train_screen.form.show_error(message.field, message.error)
            self.train_screen.form.control(message.field).focus()
        self.notify(message.error, title="Cannot start", severity="error", timeout=8)
        self.run_state = "failed"
        self._after_run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "predict" and worker.is_finished:
            self._predict_next()
        if worker.group != "training" or event.state != WorkerState.ERROR:
            return
        self.log_line(f"Training stopped by an unexpected error: {worker.error!r}", "error")
        self.notify(repr(worker.error), title="Training crashed", severity="error")
        if self.run_active:
            self.run_state = "failed"
            self._after_run()

    def _after_run(self) -> None:
        if self.sweep is not None:
            self._sweep_after_run()
        if self._restart:
            self._restart = False
            self.action_start()

    def on_unmount(self) -> None:
        # however the app ends, the training thread must not outlive it
        if self.current_run is not None:
            self.current_run.stop()
        gc.unfreeze()  # the app's objects can be collected again
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)


def create_app(
    config: TrainConfig | None = None,
    *,
    preset: str | None = None,
    dataset: Dataset | str | Path | None = None,
    timing: bool = True,
    batch_interval: float = PROGRESS_INTERVAL,
    threads: int | str = "auto",
    runs_dir: str | Path | None = None,
    record: bool = True,
) -> NNFSApp:
    """The app as ``nnfs-tui`` runs it; the tests and figs/ build it the same way.

    ``config`` (or a ``preset`` name, default "default") fills the form. ``dataset`` is a
    loaded Dataset used for every run as it is (tests pass a small one); a name or path
    instead goes into the form's dataset field. ``timing=False`` hides measured times so
    screenshots are reproducible.
    """
    if config is None:
        name = preset or "default"
        if name not in PRESETS:
            raise ConfigError("preset", name, "one of " + ", ".join(PRESETS))
        config = PRESETS[name]
        preset = name
    loaded: Dataset | None = None
    if isinstance(dataset, Dataset):
        loaded = dataset
    elif dataset is not None:
        config = config.replace(dataset=str(dataset))
    return NNFSApp(config, preset=preset, dataset=loaded, timing=timing,
                   batch_interval=batch_interval, threads=threads, runs_dir=runs_dir,
                   record=record)
