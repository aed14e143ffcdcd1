"""The learning-rate finder: a range test on a copy of the form's model, its curve, and Enter to
put the suggestion into the form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import get_current_worker

from engine.config import TrainConfig, architecture
from engine.data import Dataset
from engine.lr_find import LRFindResult, lr_find
from nnfs_tui.widgets.lr_plot import LRFindPlot


@dataclass(eq=False)
class LRFindDone(Message, bubble=False):
    """The range test ended (posted by the dialog's thread worker)."""

    result: LRFindResult | None
    """The curve and suggestions (None when it failed)."""
    error: str = ""
    """Why it failed, in one line."""


class LRFindDialog(ModalScreen[float | None]):
    """Runs :func:`engine.lr_find.lr_find` in a thread worker and shows its curve.

    Returns the suggested learning rate on Enter, None on Esc (which also stops a test still
    running, at its next batch). The model being trained is never touched: the test builds
    its own from the config.
    """

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    BINDINGS = [
        Binding("enter", "use", "Use it", priority=True),
        Binding("escape", "cancel", "Close", priority=True),
    ]

    def __init__(self, config: TrainConfig, load: Callable[[TrainConfig], Dataset], *,
                 timing: bool = True, threads: int | str = 1) -> None:
        super().__init__()
        self.config: TrainConfig = config
        """The form's config: the copy trained here is built from it."""
        self.load: Callable[[TrainConfig], Dataset] = load
        """Loads (or returns the cached) dataset of a config; called in the worker."""
        self.timing: bool = timing
        """Show the test's time (off for reproducible screenshots)."""
        self.threads: int | str = threads
        """BLAS threads of the test."""
        self.result: LRFindResult | None = None
        """The finished test (None while it runs or after a failure)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="lr-find") as box:
            box.border_title = "learning-rate finder"
            box.border_subtitle = "Enter puts the suggestion in the form · Esc closes"
            yield Static(f"Training a copy of {architecture(self.config)} "
                         f"{self.config.optimizer} on an exponential ramp of the learning "
                         "rate…", id="lr-find-status", markup=False)
            yield LRFindPlot(id="lr-find-plot")

    def on_mount(self) -> None:
        self.find()

    @work(thread=True, exclusive=True, group="lr-find", exit_on_error=False)
    def find(self) -> None:
        """The range test, off the UI thread; posts :class:`LRFindDone`."""
        worker = get_current_worker()
        try:
            dataset = self.load(self.config)
            result = lr_find(self.config, dataset, should_stop=lambda: worker.is_cancelled,
                             threads=self.threads)
        except Exception as exc:  # noqa: BLE001 (shown in the dialog, never a crash)
            self.post_message(LRFindDone(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(LRFindDone(result))

    def on_lrfind_done(self, message: LRFindDone) -> None:
        status = self.query_one("#lr-find-status", Static)
        result = message.result
        if result is None:
            status.update(f"The range test failed: {message.error}")
            return
        self.result = result
        self.query_one(LRFindPlot).set_curve(result.lrs, result.smoothed, result.suggestion,
                                             result.steepest)
        status.update(describe(result, timing=self.timing))

    def action_use(self) -> None:
        """Enter: the suggestion to the form (nothing when there is none yet)."""
        if self.result is not None and self.result.suggestion is not None:
            self.dismiss(self.result.suggestion)

    def action_cancel(self) -> None:
        """Esc: close; a test still running stops at its next batch."""
        self.workers.cancel_group(self, "lr-find")
        self.dismiss(None)


def describe(result: LRFindResult, *, timing: bool = True) -> str:
    """Two lines under the title: what ran and what it suggests."""
    if result.suggestion is None:
        return f"No suggestion: {result.reason} after {len(result.lrs)} batches."
    took = f" in {result.seconds:.1f}s" if timing else ""
    steep = "-" if result.steepest is None else f"{result.steepest:.3g}"
    return (f"{len(result.lrs)} batches, learning_rate {result.lrs[0]:.0e} to "
            f"{result.lrs[-1]:.3g} ({result.reason}){took}.\n"
            f"Suggested learning_rate {result.suggestion:.3g} (minimum / 10, orange); "
            f"steepest descent {steep} (green).")
