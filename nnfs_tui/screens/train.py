"""The main screen: form on the left; progress, curves, digits and log on the right.

At 110x34 and larger everything is on screen at once. Smaller terminals (down to 80x24)
show one view at a time on the right (loss, accuracy, digits or log; F3 or v switches), and below
80x24 the screen says how big the terminal needs to be instead of drawing garbage.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from engine.config import TrainConfig
from nnfs_tui.widgets import (
    AccuracyPlot,
    DigitViewer,
    HyperparameterForm,
    LossPlot,
    ProgressLine,
    RunLog,
)
from nnfs_tui.widgets.plots import PlotPanel

MIN_SIZE = (80, 24)
"""The smallest terminal the screen draws in (columns, rows)."""
WIDE_SIZE = (110, 34)
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
    ]

    view: reactive[str] = reactive("loss")
    """What the right side shows on a small terminal: loss, accuracy, digits or log."""
    compact: reactive[bool] = reactive(False)
    """True below WIDE_SIZE: one view at a time."""

    def __init__(self, config: TrainConfig, *, preset: str | None = None,
                 timing: bool = True) -> None:
        super().__init__()
        self.config = config
        self.preset = preset
        self.timing = timing
        self._covered_redraws: Timer | None = None

    def compose(self) -> ComposeResult:
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
        yield Footer()

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
