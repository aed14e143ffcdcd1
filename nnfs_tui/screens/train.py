"""The main screen: form on the left; progress, curves, digits and log on the right.

At 110x34 and larger everything is on screen at once. Smaller terminals (down to 80x24)
show one view at a time on the right (loss, accuracy, digits or log; F3 or v switches), and below
80x24 the screen says how big the terminal needs to be instead of drawing garbage.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from engine.config import FIELDS, TrainConfig, architecture, format_field
from engine.errors import ConfigError
from engine.events import EpochEnded as EngineEpochEnded
from nnfs_tui import messages as msg
from nnfs_tui.screens.inspect import InspectScreen
from nnfs_tui.widgets import (
    AccuracyPlot,
    DigitViewer,
    HyperparameterForm,
    LossPlot,
    ProgressLine,
    RunLog,
)
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.header import ScreenHeader
from nnfs_tui.widgets.plots import PlotPanel
from nnfs_tui.widgets.progress import format_duration, format_percent

if TYPE_CHECKING:
    from nnfs_tui.app import NNFSApp
    from nnfs_tui.controller import RunController

MIN_SIZE = (80, 24)
"""The smallest terminal the screen draws in (columns, rows)."""
WIDE_SIZE = (110, 34)
#: Below this width the digit viewer narrows (shorter probability bars) so the log beside it
#: keeps a readable width (about 30 columns at 110, 40 at 120).
ROOMY_WIDTH = 140
"""From this size on, curves, digits and log are all visible."""
VIEWS = ("loss", "accuracy", "digits", "log")
#: Seconds between redraws of the progress line while another screen covers this one (help,
#: a dialog, Runs ...); the curves, digits and log catch up when it is on top again. Each
#: redraw under a dialog repaints the dialog's whole screen (see widgets/live.py).
COVERED_REDRAW_INTERVAL = 1.0


class TrainScreen(Screen[None]):
    """Edit hyperparameters, watch the run."""

    BINDINGS = [
        # letters: only when no text field has focus (an Input takes them first)
        Binding("space", "app.toggle_pause", "Pause/resume", show=False),
        Binding("s", "app.start", "Start", show=False),
        Binding("i", "app.inspect", "Inspect", show=False),
        Binding("d", "app.draw", "Draw", show=False),
        Binding("v", "cycle_view", "Next view", show=False),
        Binding("question_mark", "app.help", "Help", show=False),
        Binding("q", "app.quit", "Quit", show=False),
        Binding("escape", "leave_form", "Leave the form", show=False),
        Binding("ctrl+l", "lr_find", "LR find", show=False, priority=True),
    ]

    view: reactive[str] = reactive("loss")
    """What the right side shows on a small terminal: loss, accuracy, digits or log."""
    compact: reactive[bool] = reactive(False)
    """True below WIDE_SIZE: one view at a time."""

    _sweep_had_state: bool = False
    """The last run state came from a sweep (the next one, its end, is the sweep's too)."""

    def __init__(self, config: TrainConfig, *, preset: str | None = None,
                 timing: bool = True) -> None:
        super().__init__()
        self.config = config
        self.preset = preset
        self.timing = timing
        self._covered_redraws: Timer | None = None

    def compose(self) -> ComposeResult:
        yield ScreenHeader("Train")
        with Horizontal(id="main"):
            form = HyperparameterForm(self.config, preset=self.preset, id="form")
            form.border_title = "hyperparameters"
            yield form
            with Vertical(id="right"):
                progress = ProgressLine(id="progress")
                progress.timing = self.timing
                progress.epochs = self.config.epochs
                yield progress
                with Horizontal(id="curves"):
                    yield PlotPanel(LossPlot(id="loss"), id="loss-panel")
                    yield PlotPanel(AccuracyPlot(id="accuracy"), id="accuracy-panel")
                with Horizontal(id="lower"):
                    digits = DigitViewer(id="digits")
                    digits.border_title = "test digits · n/p/r/m"
                    yield digits
                    log = RunLog(id="log", clock=None if self.timing else (lambda: ""))
                    log.border_title = "log"
                    yield log
        yield Static("", id="too-small", markup=False)
        yield FittedFooter()

    # -- typed access for the app ------------------------------------------------------------
    @property
    def form(self) -> HyperparameterForm:
        return self.query_one(HyperparameterForm)

    @property
    def progress(self) -> ProgressLine:
        return self.query_one(ProgressLine)

    @property
    def loss_plot(self) -> LossPlot:
        return self.query_one(LossPlot)

    @property
    def accuracy_plot(self) -> AccuracyPlot:
        return self.query_one(AccuracyPlot)

    @property
    def digits(self) -> DigitViewer:
        return self.query_one(DigitViewer)

    @property
    def log_view(self) -> RunLog:
        return self.query_one(RunLog)

    # -- layout ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        self.watch_view(self.view)

    def on_screen_suspend(self) -> None:
        """Another screen covers this one: the live views hold their redraws back, but for
        the progress line once a second (a dialog shows it dimmed: the run goes on)."""
        if self._covered_redraws is None:
            self._covered_redraws = self.set_interval(COVERED_REDRAW_INTERVAL,
                                                      lambda: self.catch_up(covered=True))

    def on_screen_resume(self) -> None:
        """On top again: first show the screen as it was, then what the run did meanwhile."""
        if self._covered_redraws is not None:
            self._covered_redraws.stop()
            self._covered_redraws = None
        self.call_after_refresh(self.catch_up)

    def catch_up(self, covered: bool = False) -> None:
        """Redraw the live views that held back a redraw (see widgets/live.py); only the
        progress line while ``covered``."""
        try:
            views = (self.progress,) if covered else (
                self.progress, self.loss_plot, self.accuracy_plot, self.digits, self.log_view)
        except NoMatches:  # the app is closing
            return
        for view in views:
            view.catch_up()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(too_small, "-too-small")
        self.set_class(width < ROOMY_WIDTH, "-medium")
        self.compact = width < WIDE_SIZE[0] or height < WIDE_SIZE[1]
        if too_small:
            self.query_one("#too-small", Static).update(
                f"This terminal is {width}x{height}.\n"
                f"nnfs-tui needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]}: "
                "enlarge the window or make the font smaller.\n\n"
                "Training goes on; F10 quits.")

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")
        # at 80 columns every F-key must fit, F10 Quit included: tighter spacing, and the
        # palette hint goes (Ctrl+P still opens it; F1 lists it)
        for footer in self.query(Footer):
            footer.compact = compact
            footer.show_command_palette = not compact
        self.app.refresh_bindings()

    def watch_view(self, view: str) -> None:
        for name in VIEWS:
            self.set_class(name == view, f"-view-{name}")

    def action_cycle_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]

    def action_leave_form(self) -> None:
        """Esc in the form: focus the digit viewer, whose letter keys then work."""
        digits = self.digits
        if self.compact and self.view != "digits":
            self.view = "digits"
        digits.focus()

    def action_lr_find(self) -> None:
        """Ctrl+L: the learning-rate finder on a copy of the form's model; Enter in it puts
        the suggestion into the form's learning_rate (a live field: Enter applies it)."""
        from nnfs_tui.dialogs.lr_find import LRFindDialog

        try:
            config = self.form.config()
        except ConfigError as exc:
            self.notify(str(exc), title="The form has an error", severity="error")
            return

        def use(rate: float | None) -> None:
            if rate is not None:
                field = self.form.control("learning_rate")
                field.value = format_field("learning_rate", float(f"{rate:.3g}"))
                field.focus()

        self.app.push_screen(LRFindDialog(config, self.controller.dataset_for,
                                          timing=self.timing), use)

    # -- the run, as the controller and its workers report it --------------------------------
    @property
    def _app(self) -> NNFSApp:
        return cast("NNFSApp", self.app)

    @property
    def controller(self) -> RunController:
        """The app's run controller, told of every transition a message reports."""
        return self._app.controller

    @property
    def run_number(self) -> int:
        """Where the current run comes in this app session (the log's "Run 2")."""
        return self.controller.runs_started

    def _current(self, message: msg.RunMessage) -> bool:
        """True when the message comes from the current run (a stale one is dropped), and
        the app is not taking its widgets down. Either way the message ends here."""
        # RunMessage says bubble=False, but Message.__init_subclass__ sets bubble=True again on
        # each subclass: without this the app's queue would get every message a second time
        message.stop()
        return not self._app.closing and self.controller.is_current(message.run)

    def _seconds(self, seconds: float) -> str:
        return format_duration(seconds) if self.timing else "--:--"

    def log_line(self, text: str, level: str = "info") -> None:
        """A line in the run log (and the Textual devtools log); none once the app exits."""
        if self._app.closing:
            return
        self.log_view.add(text, level)
        self.app.log.info(text)

    def show_run_state(self, state: str, active: bool) -> None:
        """``app.run_state`` changed: the progress line and the form follow it. The states
        of a sweep (its start, F7, its end) are the sweep view's: the progress line keeps
        showing the last form run as it ended."""
        sweeping = self.controller.sweeps.running
        sweeps_state = sweeping or self._sweep_had_state  # the sweep's end: no longer running
        self._sweep_had_state = sweeping
        self.form.locked = active
        if not sweeps_state:
            # on the progress line, not the screen: a class on the screen restyles every widget
            self.progress.set_class(active, "-training")
            self.progress.set_class(state == "paused", "-paused")
            self.progress.status = state
        self.update_run_status()
        if active:  # locking the form takes focus from a locked field: the first live one
            self.call_after_refresh(self._focus_live_field)

    def _focus_live_field(self) -> None:
        """Focus learning_rate unless a live field of the form already has the focus."""
        focused = self.focused
        form = self.form
        if focused is not None and focused in form.query("Input, Select") \
                and not focused.disabled and not focused.is_disabled:
            return
        if focused is None or focused in form.query("*") or focused is self.log_view:
            form.control("learning_rate").focus()

    def run_status(self) -> str:
        """The run's state in a few words, for the header of every screen: idle, training
        epoch 3/10, paused at epoch 3/10, finished · best val 98.3%, or the sweep's."""
        state = self._app.run_state
        progress = self.progress
        epochs = progress.epochs
        epoch = f"epoch {progress.epoch_now}/{epochs}"  # as the progress line counts
        # the best validation accuracy, named: the notice at the end gives the test accuracy
        best = (f" · {progress.best_words} {format_percent(progress.best_val)}"
                if progress.best_val is not None else "")
        words = {
            "training": f"training {epoch}",
            "paused": f"paused at {epoch}",
            "loading": "loading the data",
            "stopping": "stopping",
            "loaded": "checkpoint loaded",
            "completed": f"finished{best}",
            "stopped": f"stopped at {epoch}{best}",
            "diverged": "diverged (loss not finite)",
            "failed": "failed (see the log)",
        }.get(state, state)
        sweeps = self.controller.sweeps
        if sweeps.running:  # the trials, not the train screen's last run
            return sweeps.status_words(state)
        view = sweeps.view
        if view is not None and self.controller.session is None and state in (
                "completed", "stopped", "failed"):  # a sweep was the last thing to run
            return f"sweep {view.sweep_state} · {view.finished}/{view.settings.total} trials"
        return words

    def update_run_status(self) -> None:
        """Tell the app (and so every header) the run's state in words."""
        self._app.run_status = self.run_status()

    def reset_for_run(self, epochs: int) -> None:
        """A run starts: no errors of the last one, empty curves and guesses."""
        self._sweep_had_state = False  # the states from here on are this run's
        self.form.clear_run_errors()
        self.loss_plot.reset(epochs)
        self.accuracy_plot.reset(epochs)
        self.digits.clear_predictions()
        self.progress.reset(epochs)

    def _plot_history(self, history: Iterable[dict]) -> None:
        """The epochs of a loaded or resumed run's history (its batch losses are not kept)."""
        events = tuple(EngineEpochEnded(**entry) for entry in history)
        for e in events:
            self.progress.update_epoch(e)
        self.loss_plot.add_epochs(events, ())
        self.accuracy_plot.add_epochs(events)

    # -- messages from the form ----------------------------------------------------------------
    def on_hyperparameter_form_live_edit(self, message: HyperparameterForm.LiveEdit) -> None:
        """Enter (or leaving the field) on a live field during a run: send it to the trainer."""
        app = self._app
        try:
            if not self.controller.change(message.changes):
                return
        except ConfigError as exc:
            self.form.show_error(exc.field, str(exc))
            self.log_line(f"Live change refused: {exc}", "error")
            return
        if app.run_state in ("paused", "loading"):  # no batch boundary comes until then
            changed = ", ".join(c.describe() for c in message.changes)
            when = "training resumes (F6)" if app.run_state == "paused" else "training starts"
            self.log_line(f"Live change {changed}: applied when {when}.")

    def on_hyperparameter_form_edited(self, message: HyperparameterForm.Edited) -> None:
        """A field changed: the epochs on the progress line, and whether F5 would continue a
        loaded checkpoint."""
        if self._app.closing:  # an edit still queued while the app exits
            return
        if self.controller.active:
            return
        self.controller.form_edited(self.form.config)
        if "epochs" not in self.form.errors:
            self.progress.set_epochs(self.form.values["epochs"])

    # -- messages from the workers -------------------------------------------------------------
    def on_dataset_loaded(self, message: msg.DatasetLoaded) -> None:
        """The digit viewer's images, and the input and output sizes the form shows."""
        if self._app.closing:
            return
        self.digits.set_dataset(message.dataset)
        self.form.n_features = message.dataset.n_features
        self.form.n_classes = message.dataset.n_classes

    def on_run_started(self, message: msg.RunStarted) -> None:
        """The trainer is built: reset the progress line and curves, log the run's shape."""
        if not self._current(message):
            return
        e = message.event
        c = e.config
        self.progress.start(e)
        self.update_run_status()
        self.loss_plot.reset(c.epochs)
        self.accuracy_plot.reset(c.epochs)
        if e.start_epoch:  # a resumed run: its curves so far
            self._plot_history(e.history[:e.start_epoch])
        self.controller.started()
        layers = architecture(c, e.n_features, e.n_classes)
        self.log_line(
            f"Run {self.run_number} started: {layers} {c.activation}, {c.optimizer} "
            f"lr {format_field('learning_rate', c.learning_rate)} ({c.schedule}), "
            f"batch {c.batch_size}, {c.epochs} epochs on {message.dataset_name} "
            f"({e.n_train:,} train / {e.n_val:,} val / {e.n_test:,} test), "
            f"{e.parameter_count:,} parameters.")

    def on_batch_ended(self, message: msg.BatchEnded) -> None:
        """The newest batch: the progress line and the smoothed loss."""
        if not self._current(message):
            return
        self.progress.update_batch(message.event)
        self.update_run_status()  # the next epoch's first batch: the header says its number
        self.loss_plot.set_live(message.loss_points)

    def on_epochs_ended(self, message: msg.EpochsEnded) -> None:
        """One epoch, or every epoch since the last message when they end faster than the
        relay posts: each reaches the plots, the progress line and the log."""
        if not self._current(message):
            return
        warned = self.progress.warning
        for e in message.events:
            self.progress.update_epoch(e)
        self.update_run_status()
        self.loss_plot.add_epochs(message.events, message.loss_points)
        self.accuracy_plot.add_epochs(message.events)
        for e in message.events:
            val = (f" · val {e.val_loss:.4f} {format_percent(e.val_acc)}"
                   if e.val_acc is not None else "")
            self.log_line(
                f"Epoch {e.epoch}/{e.epochs}: train {e.train_loss:.4f} "
                f"{format_percent(e.train_acc)}{val} · test {e.test_loss:.4f} "
                f"{format_percent(e.test_acc)} ({self._seconds(e.epoch_seconds)})", "epoch")
        warning = self.progress.warning
        if warning is not None and (warned is None or warning.short != warned.short):
            self.log_line(f"Warning after epoch {message.events[-1].epoch}: "
                          f"{warning.short}: {warning.detail}.", "warning")

    def on_layer_stats_ready(self, message: msg.LayerStatsReady) -> None:
        """Layer statistics of the epochs that ended: kept for F4, and shown if it is open."""
        if not self._current(message):
            return
        self.controller.layer_history.extend(message.events)
        for screen in self.app.screen_stack:
            if isinstance(screen, InspectScreen):
                screen.add_layer_stats(*message.events)

    def on_model_snapshot(self, message: msg.ModelSnapshot) -> None:
        """A copy of the model (a run that stopped mid-epoch): guess the test images with it."""
        if not self._current(message):
            return
        self.controller.predict_latest(message)

    def on_predictions_ready(self, message: msg.PredictionsReady) -> None:
        """The model's guesses for every test image: the digit viewer shows them."""
        if not self._current(message):
            return
        self.digits.set_predictions(message.predicted, message.probabilities, message.epoch)

    def on_hyperparameters_changed(self, message: msg.HyperparametersChanged) -> None:
        """A live change took effect: marked in the form, on both curves and in the log."""
        if not self._current(message):
            return
        e = message.event
        self.form.mark_applied(e.values)
        self.loss_plot.mark(e.epoch_progress)
        self.accuracy_plot.mark(e.epoch_progress)
        changes = ", ".join(f"{c.field} = {format_field(c.field, c.value)}" for c in e.changes)
        self.log_line(
            f"Live change at epoch {e.epoch_progress:.2f} (step {e.step}): {changes}", "change")

    def on_paused(self, message: msg.Paused) -> None:
        """The trainer paused at a batch boundary."""
        if not self._current(message):
            return
        self.controller.paused()
        self.log_line(
            f"Paused after step {message.event.step} (F6 resumes).", "warning")

    def on_resumed(self, message: msg.Resumed) -> None:
        """The trainer resumed."""
        if not self._current(message):
            return
        self.controller.resumed()
        self.log_line(f"Resumed at step {message.event.step + 1}.")

    def on_run_finished(self, message: msg.RunFinished) -> None:
        """The run completed, stopped or diverged: say so, then the controller moves on."""
        if not self._current(message):
            return
        app = self._app
        e = message.event
        self.progress.finish(e)
        took = self._seconds(e.seconds)
        epochs = f"{e.epochs_completed} epoch{'s' * (e.epochs_completed != 1)}"
        test = (f"test accuracy {format_percent(e.test_acc)} (loss {e.test_loss:.4f})"
                if e.test_acc is not None else "")
        if e.status == "completed":
            self.log_line(f"Run {self.run_number} finished: {epochs}, {test}, in {took}.",
                          "success")
            app.notify(f"Run {self.run_number} finished: {test}", title="Training done")
        elif e.status == "stopped":
            self.log_line(f"Run {self.run_number} stopped after {epochs} (step {e.step})"
                          f"{', ' + test if test else ''}, in {took}.", "warning")
        else:
            self.log_line(f"Run {self.run_number} DIVERGED: {e.reason}. Try a smaller "
                          "learning_rate, then F5.", "error")
            app.notify(e.reason, title="Training diverged", severity="error", timeout=8)
        self.controller.finished(e.status)

    def on_run_failed(self, message: msg.RunFailed) -> None:
        """The dataset or the config was refused: the error in the log, at its field and in a
        toast (run 0: the preview's images could not load)."""
        message.stop()  # see _current
        app = self._app
        if app.closing:
            return
        if not message.run:  # the preview could not load
            self.digits.status = message.error
            self.digits.refresh()
            self.log_line(message.error, "error")
            return
        if not self._current(message):
            return
        self.log_line(f"Run {self.run_number} could not start: {message.error}", "error")
        if message.field in FIELDS:  # and back to it, so typing goes to the field
            self.form.show_error(message.field, message.error)
            self.form.control(message.field).focus()
        app.notify(message.error, title="Cannot start", severity="error", timeout=8)
        self.controller.failed()

    def on_model_saved(self, message: msg.ModelSaved) -> None:
        """Ctrl+S finished: where the model went, or why it did not."""
        app = self._app
        if message.error:
            self.log_line(f"Save failed: {message.error} (the model is still in memory; "
                          "Ctrl+S tries again)", "error")
            app.notify(message.error, title="Save failed", severity="error", timeout=8)
        else:
            self.log_line(f"Saved the model after epoch {message.epoch}, step {message.step} "
                          f"to {message.path}", "success")
            app.notify(str(message.path), title="Model saved")

    def on_checkpoint_opened(self, message: msg.CheckpointOpened) -> None:
        """A checkpoint is loaded: the form, curves and progress show its run so far."""
        app = self._app
        summary = message.summary
        if summary is None or message.dataset is None:
            self.log_line(f"Cannot open the checkpoint: {message.error}", "error")
            app.notify(message.error, title="Cannot open", severity="error", timeout=8)
            return
        if self.controller.active:
            return
        config = summary.config
        self.form.set_config(config)
        self.loss_plot.reset(config.epochs)
        self.accuracy_plot.reset(config.epochs)
        self.progress.reset(config.epochs, epoch_done=summary.epoch,
                            history=list(summary.history), elapsed=summary.elapsed)
        self.controller.checkpoint_opened(message)
        self._plot_history(summary.history)
        self.post_message(msg.DatasetLoaded(message.dataset))
        last = summary.last
        acc = f", test accuracy {format_percent(last['test_acc'])}" if last else ""
        # the same condition F5 checks: a finished run continues only with more epochs
        go_on = ("F5 continues training it" if not summary.trained_all(config.epochs) else
                 f"to train it further, raise epochs above {summary.epoch}, then F5")
        self.log_line(f"Loaded {message.path}: epoch {summary.epoch}, step {summary.step}{acc}. "
                      f"F4 inspects it, F9 draws for it, {go_on}.", "success")
