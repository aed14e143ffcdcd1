"""Sweeps in the app (F12): plan one in a dialog, then train its trials one after another.

Each trial is an ordinary run started through the :class:`~nnfs_tui.controller.RunController`
(recorded as a ``sweep-*`` run); when one ends, the controller hands the outcome here and the
next trial starts, until the last, a stop or a failure, when the log ranks the trials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.config import TrainConfig
from engine.errors import ConfigError, NNFSError
from engine.sweep import Trial, leaderboard
from nnfs_tui.dialogs.sweep import SweepDialog, SweepProgress
from nnfs_tui.widgets.progress import format_percent

if TYPE_CHECKING:
    from nnfs_tui.controller import RunController


class SweepRunner:
    """The sweep under way, if any, trained one trial at a time through the controller."""

    def __init__(self, controller: RunController) -> None:
        self.controller: RunController = controller
        """Starts each trial as a run and reports how it ended."""
        self.progress: SweepProgress | None = None
        """The sweep under way (F12), whose trials run one after another; None when none."""

    def plan(self) -> None:
        """F12: plan a sweep over the form's values; its trials then run one after another."""
        controller, app = self.controller, self.controller.app
        if controller.active:
            app.log_line(f"Run {controller.runs_started} is still {app.run_state}: stop it (F7) "
                         "before starting a sweep.", "warning")
            app.bell()
            return
        if len(app.screen_stack) != 1:
            return
        try:
            base = controller.screen.form.config()
        except ConfigError as exc:
            app.log_line(f"Cannot plan a sweep: {exc}", "error")
            app.bell()
            return
        app.push_screen(SweepDialog(base), lambda trials: self.start(trials or [], base))

    def start(self, trials: list[Trial], base: TrainConfig) -> None:
        """Train ``trials`` one after another, each a recorded run; the form shows ``base``
        again when the sweep ends. F7 stops the trial and the sweep."""
        controller, app = self.controller, self.controller.app
        if not trials:
            return
        if controller.active:
            app.log_line("A run is in progress: the sweep did not start.", "warning")
            app.bell()
            return
        controller.loaded = None  # every trial starts afresh, never from a loaded checkpoint
        self.progress = SweepProgress(list(trials), base)
        n = len(trials)
        where = "recorded as sweep-* runs" if controller.record else "not recorded (--no-record)"
        app.log_line(f"Sweep of {n} trial{'s' * (n != 1)}, one after another, {where}; "
                     "F7 stops it.")
        self._start_trial()

    def _start_trial(self) -> None:
        sweep = self.progress
        assert sweep is not None
        self.controller.app.log_line(f"Sweep {sweep.label()}")
        self.controller.screen.form.set_config(sweep.trial.config)  # the form shows what trains
        self.controller.start_run(sweep.trial.config, prefix="sweep-")

    def after_run(self, status: str) -> None:
        """A trial ended with ``status``: start the next, unless it was stopped or failed, or
        was the last."""
        sweep, controller = self.progress, self.controller
        if sweep is None or not controller.app.screen_stack:
            self.progress = None
            return
        name = controller.run_name
        if name is not None and status != "failed":
            sweep.runs.append((sweep.index, name))
        left = len(sweep.trials) - sweep.index - 1
        if (controller.session is None or controller.stop_requested
                or status not in ("completed", "diverged")):
            self._end(f"Sweep ended at {sweep.label()} ({status}): {left} "
                      f"trial{'s' * (left != 1)} not run.", "warning")
        elif left == 0:
            self._end(f"Sweep done: {len(sweep.trials)} trials.", "success")
        else:
            sweep.index += 1
            self._start_trial()

    def _end(self, text: str, level: str) -> None:
        sweep, self.progress = self.progress, None
        assert sweep is not None
        controller = self.controller
        controller.screen.form.set_config(sweep.base)
        names = {name: index for index, name in sweep.runs}
        infos = []
        for name in names:
            try:
                infos.append(controller.store.load(name))
            except (NNFSError, OSError):  # deleted meanwhile from the Runs screen
                continue
        ranked = leaderboard(infos)
        best = ranked[0] if ranked else None
        score = None if best is None else best.score
        if best is not None and score is not None:
            which = "val" if best.best_val_acc is not None else "test"
            text += (f" Best: {sweep.label(names[best.name])}, {which} "
                     f"{format_percent(score)} ({best.name}). F2 ranks them all.")
        controller.app.log_line(text, level)
        controller.app.notify(text, title="Sweep", severity="warning" if level == "warning"
                              else "information", timeout=8)
