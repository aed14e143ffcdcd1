"""The Textual app: screens, global keys, the command palette and quitting.

Runs belong to the :class:`~nnfs_tui.controller.RunController` (``app.controller``): it starts
the thread workers, which post the messages of :mod:`nnfs_tui.messages` to the
:class:`~nnfs_tui.screens.train.TrainScreen`, and it is the only writer of ``run_state``.
The app's run keys are one-line hand-offs to it.

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

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker

from engine.config import PRESETS, TrainConfig
from engine.data import Dataset
from engine.errors import ConfigError
from nnfs_tui.controller import ACTIVE_STATES, PROGRESS_INTERVAL, RunController
from nnfs_tui.dialogs.sweep import ExecutorChoice
from nnfs_tui.key_order import KeysInOrder
from nnfs_tui.screens import HelpScreen, TrainScreen
from nnfs_tui.screens.draw import DrawScreen
from nnfs_tui.screens.inspect import InspectScreen
from nnfs_tui.screens.runs import RunsResult, RunsScreen
from nnfs_tui.widgets.header import ScreenHeader

#: Garbage-collector thresholds while the app runs (Python's default: 700, 10, 10). Drawing
#: a frame makes tens of thousands of short-lived objects; at 700 many of them are still
#: alive at a collection, reach the oldest generation and make full collections (~50 ms,
#: every thread stopped) twice a second while keys and a fast run keep the screen busy.
#: Measured with `make bench` (key latency): at 10,000 no full collection in the run, the
#: youngest ones take ~3 ms and the middle ones ~20 ms about once a second.
GC_THRESHOLDS = (10_000, 10, 10)

#: Seconds a quit (or a signal) waits for the training thread to write the run's final
#: checkpoint before the app exits anyway (the whole exit stays within 5 seconds).
QUIT_WAIT = 3.5


class NNFSApp(KeysInOrder, App[None]):
    """Train a NumPy MLP from the keyboard: form, live curves, digits, log. Keys that
    arrive together take effect in the order they were typed (:mod:`nnfs_tui.key_order`)."""

    CSS_PATH = "app.tcss"
    TITLE = "nnfs-tui"

    BINDINGS = [
        # F-keys and ctrl-chords work while a text field has focus (htop / mc convention)
        # in the footer's order: a screen's own keys come first, then these as far as the
        # width allows (FittedFooter); F1 and the palette list every one
        Binding("f5", "start", "Start", priority=True),
        Binding("f6", "pause", "Pause", priority=True),
        Binding("f6", "resume", "Resume", priority=True),
        Binding("f7", "stop", "Stop", priority=True),
        Binding("f8", "restart", "Restart", priority=True),
        Binding("f12", "sweep", "Sweep", priority=True),
        Binding("ctrl+s", "save_model", "Save", priority=True),
        Binding("ctrl+o", "load_checkpoint", "Load", priority=True),
        Binding("f2", "runs", "Runs", priority=True),
        Binding("f4", "inspect", "Inspect", priority=True),
        Binding("f9", "draw", "Draw", priority=True),
        Binding("f3", "cycle_view", "View", priority=True),
        Binding("f1", "help", "Help", priority=True),
        Binding("ctrl+t", "main", "Train", show=False, priority=True),
        Binding("f10", "quit", "Quit", priority=True),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        # not a priority: the Draw screen's canvas keeps Ctrl+Z for undo
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
    ]

    #: The screens the F-keys switch to: action name -> the method that builds the screen
    #: (returning it and the callback of its result, or None when it cannot open now). A new
    #: screen is one line here, its binding above and its ``make_*`` method.
    SWITCHED_SCREENS: dict[str, str] = {
        "runs": "make_runs_screen",
        "inspect": "make_inspect_screen",
        "draw": "make_draw_screen",
        "help": "make_help_screen",
    }

    run_state: reactive[str] = reactive("idle", init=False)
    """idle, loading, training, paused, stopping, loaded (a checkpoint), or how the last run
    ended: completed, stopped, diverged, failed. Set by the controller alone; here because the
    footer's keys (``check_action``) and the train screen follow it."""

    run_status: reactive[str] = reactive("idle", init=False)
    """The run's state in a few words for the header of every screen (idle, training epoch
    3/10, paused, sweep trial 2/6, finished 98.3%); written by the train screen."""

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
        self.timing: bool = timing
        """Show measured times and speeds; off makes screenshots reproducible."""
        self.controller: RunController = RunController(
            self, dataset=dataset, batch_interval=batch_interval, threads=threads,
            runs_dir=runs_dir, record=record)
        """Starts, controls and records the runs, one at a time."""
        self.sweep_executor: ExecutorChoice | None = None
        """Where the last sweep started from the sweep dialog trained (the next starts there)."""
        self._exit_code: int | None = None  # set once quitting has begun
        self._gc_thresholds: tuple[int, ...] | None = None  # Python's, while the app runs

    # -- screens ---------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        """The train screen, filled from the config the app was made with."""
        return TrainScreen(self.initial_config, preset=self.preset, timing=self.timing)

    @property
    def train_screen(self) -> TrainScreen:
        """The main screen, always at the bottom of the stack."""
        screen = self.screen_stack[0]
        assert isinstance(screen, TrainScreen)
        return screen

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
        self.controller.load_preview(self.initial_config)

    def action_help(self) -> None:
        """F1: every key and hyperparameter."""
        self.switch_to("help")

    def action_cycle_view(self) -> None:
        """F3: the next view on a small terminal."""
        self.train_screen.action_cycle_view()

    # -- switching screens: they replace each other above the train screen, never stack ----
    def switch_to(self, name: str) -> None:
        """Show the screen ``name`` of SWITCHED_SCREENS in place of whatever covers the train
        screen (another screen or a dialog); its key again, or Esc, goes back to the train
        screen."""
        current = self.screen_stack[-1] if len(self.screen_stack) > 1 else None
        if current is not None and getattr(current, "switched_as", None) == name:
            self.back_to_main()  # the same key again: back
            return
        made = getattr(self, self.SWITCHED_SCREENS[name])()
        if made is None:
            return
        screen, callback = made
        screen.switched_as = name  # type: ignore[attr-defined]
        self.back_to_main()
        self.push_screen(screen, callback)

    def back_to_main(self) -> None:
        """Close every screen and dialog above the train screen."""
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def action_main(self) -> None:
        """Ctrl+T: back to the train screen from anywhere."""
        self.back_to_main()

    def action_inspect(self) -> None:
        """F4: confusion matrix, first-layer weights, layer health of the current model."""
        self.switch_to("inspect")

    def action_draw(self) -> None:
        """F9: draw a digit and watch the model's guesses."""
        self.switch_to("draw")

    def action_runs(self) -> None:
        """F2: the recorded runs: compare, rerun, load, delete, export."""
        self.switch_to("runs")

    def make_inspect_screen(self) -> tuple[Screen, None] | None:
        """The Inspect screen on a snapshot of the current model."""
        network, data = self.controller.model_and_data()
        if data is None:
            self.notify("The test images are still loading…")
            return None
        return InspectScreen(network, data, self.controller.layer_history), None

    def make_draw_screen(self) -> tuple[Screen, None] | None:
        """The Draw screen with a snapshot of the current model."""
        network, data = self.controller.model_and_data()
        if data is None:
            self.notify("The test images are still loading…")
            return None
        return DrawScreen(network, data), None

    def make_help_screen(self) -> tuple[Screen, None]:
        """The help screen: every key and hyperparameter."""
        return HelpScreen(), None

    def make_runs_screen(self) -> tuple[Screen, object]:
        """The Runs screen; what it closes with goes to the controller."""
        return RunsScreen(self.controller.store, timing=self.timing), self.on_runs_result

    def on_runs_result(self, result: RunsResult | None) -> None:
        """The Runs screen closed: the controller reruns, opens or fills the form."""
        if result is not None and result.sweep is not None:  # w: a sweep around a run
            self.controller.sweeps.start(result.sweep)
        elif result is not None:
            self.controller.runs_result(result)

    # -- run keys: the controller acts -----------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer: F6 reads Pause or Resume; keys that would do nothing now are not shown."""
        state = self.run_state
        # a key that would do nothing now is left out of the footer (it still answers)
        if action == "pause":
            return state in ("training", "loading")
        if action == "resume":
            return state == "paused"
        if action == "stop":
            return state in ACTIVE_STATES
        if action == "cycle_view":  # only small terminals show one view at a time, and only
            # the train screen has views
            return bool(len(self.screen_stack) == 1
                        and getattr(self.screen_stack[0], "compact", False)) or False
        return True

    def action_start(self) -> None:
        """F5: start a run with the form's values, unless one is running."""
        self.controller.start()

    def action_pause(self) -> None:
        """F6 while training: pause at the next batch."""
        self.controller.pause()

    def action_resume(self) -> None:
        """F6 while paused: resume."""
        self.controller.resume()

    def action_toggle_pause(self) -> None:
        """Space / palette: pause a training run, resume a paused one."""
        self.controller.toggle_pause()

    def action_stop(self) -> None:
        """F7: stop the run (and a sweep) at the next batch."""
        self.controller.stop()

    def action_restart(self) -> None:
        """F8: stop the run if one is going, then start a fresh one from the form."""
        self.controller.restart()

    def action_sweep(self) -> None:
        """F12: plan a sweep over the form's values (from the train screen, which shows it);
        during a sweep, show its view, and from its view, back to the train screen."""
        view = self.controller.sweeps.view
        if view is not None and self.screen is view:
            self.back_to_main()  # the same key again: back, as with F2, F4 and F9
            return
        self.back_to_main()
        self.controller.sweeps.plan()

    def action_save_model(self) -> None:
        """Ctrl+S: save the current model (mid-run too, at the next batch boundary)."""
        self.controller.files.save_model()

    def action_load_checkpoint(self) -> None:
        """Ctrl+O: load a checkpoint to inspect it or to continue training it."""
        self.controller.files.load_checkpoint()

    def watch_run_status(self, status: str) -> None:
        """Every screen's header says the same."""
        for screen in self.screen_stack:
            for header in screen.query(ScreenHeader):
                header.status = status

    def watch_run_state(self, state: str) -> None:
        """The train screen and the footer's keys follow the run's state."""
        self.train_screen.show_run_state(state, state in ACTIVE_STATES)
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The controller's workers run on the app, so their ends arrive here."""
        self.controller.worker_state_changed(event.worker, event.state)

    # -- the command palette ----------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Ctrl+P: every action of the keys, the digit viewer's keys and the presets."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Start run", "Train with the form's values (F5)", self.action_start)
        yield SystemCommand("Pause / resume run", "F6", self.action_toggle_pause)
        yield SystemCommand("Stop run", "Stop at the next batch (F7)", self.action_stop)
        yield SystemCommand("Start over", "Stop and start a fresh run (F8)", self.action_restart)
        yield SystemCommand("Sweep", "Grid, random or TPE search over the form's values, on "
                            "every core or a Dask cluster (F12)", self.action_sweep)
        yield SystemCommand("Sweep view", "The sweep's trials, curves and leaderboard (F12 "
                            "while it runs)", self.controller.sweeps.toggle_view)
        yield SystemCommand("Resume sweep", "Go on with the sweep stopped last",
                            self.controller.sweeps.resume)
        yield SystemCommand("Help", "Keys and hyperparameters (F1)", self.action_help)
        yield SystemCommand("Train screen", "Back to the form and the run (Ctrl+T, Esc)",
                            self.action_main)
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
        if self.controller.active:
            self.log_line("Presets change locked fields: stop the run first (F7).", "warning")
            return
        self.train_screen.query_one("#preset").value = name

    # -- quitting and notifications -------------------------------------------------------
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
        if self.closing:  # no screen to write to
            return
        self.train_screen.log_line(text, level)

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
        done = self.controller.stop_for_exit(reason)
        if done is None:
            self.exit(return_code=return_code)
            return
        self._exit_when_saved(done, return_code)

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
        return self.controller.wait_for_training(timeout)

    def on_unmount(self) -> None:
        """The app has ended: stop the run, give the garbage collector back its settings."""
        # however the app ends, the training thread must not outlive it
        self.controller.cancel()
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
