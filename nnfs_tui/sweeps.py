"""Sweeps in the app (F12): plan one in a dialog, then let the engine's
:class:`~engine.sweep.Sweep` drive it in a thread worker, on this machine's cores (one
process per trial) or a Dask cluster, while the sweep view (:mod:`nnfs_tui.screens.sweep`)
shows every trial.

The driver thread never touches a widget: its :class:`~engine.sweep.TrialUpdate` callbacks
become the small messages of :mod:`nnfs_tui.messages` (:class:`TrialRelay`), posted to the
sweep view; per-epoch ones are throttled per trial and coalesce. The UI thread trains
nothing. F7 stops the whole sweep (running trials stop at their next batch); every trial is
an ordinary recorded run, so when the sweep ends the Runs screen (F2) ranks them. Trials train
on the app's dataset when it was given one (``create_app(dataset=...)``: sent to each worker
once, checked there by SHA-256), else on the one their config names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from engine.config import format_field
from engine.errors import ConfigError, NNFSError
from engine.events import EpochEnded
from engine.runs import score
from engine.sweep import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    LocalProcessExecutor,
    Sweep,
    SweepError,
    TrialUpdate,
    count_trials,
    resolve_workers,
)
from engine.sweep.executors import WORKER_NICE, resolve_workers_any
from nnfs_tui import messages as msg
from nnfs_tui.dialogs.sweep import SweepDialog, SweepSettings, next_prefill
from nnfs_tui.screens.sweep import SweepScreen
from nnfs_tui.widgets.progress import format_percent

if TYPE_CHECKING:
    from nnfs_tui.controller import RunController

Post = Callable[[Message], object]

#: How a sweep's end sets the app's run state.
END_STATES = {"completed": "completed", "stopped": "stopped"}


class TrialRelay:
    """Turns the driver's :class:`TrialUpdate` callbacks (in its thread) into messages: one
    per change of a trial's status, and per-epoch ones at most every ``interval`` seconds per
    trial (the newest waits; it is sent before the trial's end)."""

    def __init__(self, sweep: str, post: Post, interval: float = 0.25) -> None:
        self.sweep = sweep
        self.post = post
        self.interval = interval
        self._curves: dict[str, list[tuple[float, float]]] = {}
        self._sent: dict[str, float] = {}
        self._pending: dict[str, msg.TrialEpoch] = {}

    def __call__(self, update: TrialUpdate) -> None:
        run, status = update.run, update.status
        if status in ("queued", "retrying"):
            varied = tuple((k, format_field(k, v)) for k, v in update.trial.varied.items())
            self.post(msg.TrialQueued(self.sweep, run, update.trial.index, varied,
                                      update.reason if status == "retrying" else ""))
        elif status == "running" and isinstance(update.event, EpochEnded):
            event = update.event
            value = score(event.val_acc, event.test_acc)
            curve = self._curves.setdefault(run, [])
            if value is not None:
                curve.append((float(event.epoch), 100.0 * value))
            self._pending[run] = msg.TrialEpoch(self.sweep, run, event.epoch,
                                                update.trial.config.epochs, value, tuple(curve))
            now = time.monotonic()
            if now - self._sent.get(run, -1e9) >= self.interval:
                self._flush(run, now)
        elif status == "running":
            self.post(msg.TrialStarted(self.sweep, run))
        else:
            self._flush(run)
            info = update.info
            self.post(msg.TrialEnded(self.sweep, run, status,
                                     info.score if info is not None else None,
                                     info.epochs_completed if info is not None else 0,
                                     update.reason))

    def _flush(self, run: str, now: float | None = None) -> None:
        pending = self._pending.pop(run, None)
        if pending is not None:
            self._sent[run] = time.monotonic() if now is None else now
            self.post(pending)


def make_sweep_executor(settings: SweepSettings) -> Executor:
    """The executor the dialog asked for: the Dask cluster at its address (connecting can
    take seconds: called in the sweep's thread), else this machine's processes, else (one
    worker) this process. The field, not ``$NNFS_DASK_SCHEDULER``, decides: the dialog was
    prefilled from it, and a blank field means this machine."""
    if settings.cluster:
        workers = None if settings.workers == "auto" else resolve_workers_any(settings.workers)
        return DaskExecutor(settings.cluster, workers)
    count = resolve_workers(settings.workers)
    return InProcessExecutor() if count == 1 else LocalProcessExecutor(count, nice=WORKER_NICE)


class SweepRunner:
    """The sweep under way, if any: its engine driver runs in a thread worker, its view shows
    it."""

    def __init__(self, controller: RunController) -> None:
        self.controller: RunController = controller
        """Owns the app's run state, the run store and the workers."""
        self.sweep: Sweep | None = None
        """The engine's driver of the sweep under way (None when none)."""
        self.view: SweepScreen | None = None
        """The sweep view of the sweep under way or the last one."""
        self.done: threading.Event = threading.Event()
        """Set when the sweep's thread has returned (every record written)."""
        self.done.set()
        self.last: SweepSettings | None = None
        """The last sweep started in this session: the next F12 starts from its fields."""
        self.executor_for: Callable[[SweepSettings], Executor] = make_sweep_executor
        """Builds the executor of a sweep (tests and the snapshots may pick another)."""

    @property
    def running(self) -> bool:
        """A sweep is under way."""
        return self.sweep is not None

    def status_words(self, state: str) -> str:
        """The header's words while the sweep runs: ``sweep trial 2/6`` (the latest trial a
        worker began, of all), ``· 1 done``, and ``stopping`` once F7 was pressed."""
        view = self.view
        if view is None:
            return "sweep starting"
        total = view.settings.total
        begun = sum(r.status != "queued" for r in view.rows.values())
        words = f"sweep trial {min(max(begun, 1), total)}/{total} · {view.finished} done"
        return words + (" · stopping" if state == "stopping" else "")

    # -- F12 ---------------------------------------------------------------------------------
    def plan(self) -> None:
        """F12: show the sweep under way (or hide it), else plan a sweep over the form's
        values."""
        controller, app = self.controller, self.controller.app
        if self.running:
            self.toggle_view()
            return
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
        last = next_prefill(self.last) if self.last is not None else None
        app.push_screen(SweepDialog(base, last=last),
                        lambda settings: settings and self.start(settings))

    def toggle_view(self) -> None:
        """Show the sweep view (of the sweep under way, else the last one), or close it."""
        app, view = self.controller.app, self.view
        if view is None:
            app.log_line("No sweep yet: F12 plans one.", "warning")
            return
        if app.screen is view:
            app.pop_screen()
        elif len(app.screen_stack) == 1:
            app.push_screen(view)

    def start(self, settings: SweepSettings, name: str | None = None) -> None:
        """Start the sweep ``settings`` describes (named ``name``, else ``sweep-`` and the
        time): its driver in a thread worker, its view on screen."""
        controller, app = self.controller, self.controller.app
        if controller.active or self.running:
            app.log_line("A run is in progress: the sweep did not start.", "warning")
            app.bell()
            return
        store = controller.store
        try:
            sweep = Sweep(settings.base, store=store, vary=settings.vary,
                          samples=settings.samples, trials=settings.trials, seed=settings.seed,
                          search=settings.search, budget=settings.budget, prune=settings.prune,
                          name=name or store.new_name(settings.base, "sweep-"),
                          workers=settings.workers, cluster=settings.cluster or None,
                          dataset=controller.dataset_for.given)
        except (ConfigError, NNFSError) as exc:
            app.log_line(f"Cannot start the sweep: {exc}", "error")
            app.bell()
            return
        self.last = settings
        self._launch(sweep, settings)

    def resume(self) -> None:
        """Palette: go on with the sweep last stopped in this app (F7, a quit, a cluster that
        went away): its finished trials are kept, interrupted ones continue from their last
        epoch. (``nnfs-train sweep --resume NAME`` resumes any recorded sweep.)"""
        controller, app, view = self.controller, self.controller.app, self.view
        if controller.active or self.running:
            app.log_line("A run or sweep is in progress: stop it (F7) first.", "warning")
            app.bell()
            return
        if view is None or view.sweep_state not in ("stopped", "interrupted"):
            app.log_line("No stopped sweep to resume in this session; nnfs-train sweep "
                         "--resume NAME resumes any recorded sweep.", "warning")
            return
        settings = view.settings
        try:
            sweep = Sweep.resume(controller.store, view.sweep_name, workers=settings.workers,
                                 cluster=settings.cluster or None,
                                 dataset=controller.dataset_for.given)
        except (ConfigError, NNFSError) as exc:
            app.log_line(f"Cannot resume the sweep: {exc}", "error")
            app.bell()
            return
        if app.screen is view:
            app.pop_screen()
        self._launch(sweep, settings)
        assert self.view is not None
        self.view.restore(list(sweep.entries.values()))

    def _launch(self, sweep: Sweep, settings: SweepSettings) -> None:
        """Run ``sweep`` in a thread worker, with a new view of it on screen."""
        controller, app, store = self.controller, self.controller.app, self.controller.store
        controller.loaded = None
        controller.session = None  # F6 and F7 act on the sweep, not on an earlier run
        self.sweep = sweep
        self.done.clear()
        old = self.view
        if old is not None and old not in app.screen_stack:
            app.uninstall_screen(old)
            old.remove()  # as Textual does with a popped screen that is not installed
        self.view = SweepScreen(sweep.name, settings, timing=app.timing)
        app.install_screen(self.view, f"sweep:{sweep.name}")  # kept while F12 hides it
        n = settings.total
        where = f"the Dask cluster at {settings.cluster}" if settings.cluster else (
            f"{settings.workers} worker{'s' * (settings.workers != '1')}"
            if settings.workers != "auto" else "one worker per core")
        again = "resumed, " if sweep.entries else ""
        app.log_line(f"Sweep {sweep.name}: {again}{n} trial{'s' * (n != 1)} ({settings.search} "
                     f"search, pruning {settings.prune}) on {where}, recorded in "
                     f"{store.root}; F12 shows it, F7 stops it.")
        app.run_state = "training"
        app.push_screen(self.view)
        app.run_worker(partial(self._drive, sweep, settings, self.view.post_message),
                       thread=True, exclusive=True, group="sweep", name="sweep",
                       exit_on_error=False)

    def _drive(self, sweep: Sweep, settings: SweepSettings, post: Post) -> None:
        """The sweep's thread: build the executor, run the driver, report how it ended."""
        relay = TrialRelay(sweep.name, post, self.controller.batch_interval)
        sweep.on_update = relay
        status, reason = "failed", ""
        try:
            if sweep.stopping:  # stopped (or the app quit) before it began
                status = "stopped"
            else:
                sweep.executor = self.executor_for(settings)
                sweep.run()
                status = sweep.status
        except SweepError as exc:
            status, reason = ("interrupted" if sweep.status == "interrupted" else "failed",
                              str(exc))
        except (NNFSError, OSError) as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the view and the log, not lost
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()
            post(msg.SweepEnded(sweep.name, status, reason))

    # -- F7, quitting ---------------------------------------------------------------------------
    def stop(self) -> None:
        """F7: stop the whole sweep; running trials stop at their next batch and stay
        resumable (``nnfs-train sweep --resume NAME``)."""
        sweep, app = self.sweep, self.controller.app
        if sweep is None:
            return
        if not sweep.stopping:
            app.log_line(f"Stopping sweep {sweep.name}: running trials stop at their next "
                         "batch…", "warning")
        sweep.stop()
        app.run_state = "stopping"
        if self.view is not None:
            self.view.sweep_state = "stopping"

    def stop_for_exit(self) -> threading.Event:
        """Quitting: stop the sweep; returns the event set once every record is written."""
        if self.sweep is not None:
            self.sweep.stop()
        return self.done

    def ended(self, message: msg.SweepEnded, ranked: list[tuple[str, str, float]]) -> None:
        """The sweep view has shown the sweep's end: the run state, the log and a toast say
        how it ended and which trial is best (``ranked``: run, varied text, score)."""
        app, sweep = self.controller.app, self.sweep
        if sweep is None or sweep.name != message.sweep:
            return
        self.sweep = None
        app.run_state = END_STATES.get(message.status, "failed")
        counted = count_trials((str(e["status"]) for e in sweep.entries.values()),
                               sweep.search.total)
        if message.status == "completed":
            text, level = f"Sweep {sweep.name} done: {counted}.", "success"
        else:
            why = f" ({message.reason})" if message.reason else ""
            text = f"Sweep {sweep.name} {message.status}{why}: {counted}"
            text += (f"; continue with Resume sweep (Ctrl+P) or: nnfs-train sweep --resume "
                     f"{sweep.name}." if sweep.path.exists() else ".")
            level = "warning" if message.status == "stopped" else "error"
        if ranked:
            run, varied, best = ranked[0]
            so_far = "" if message.status == "completed" else " so far"
            text += (f" Best{so_far}: {run} [{varied}] {format_percent(best)}. "
                     "F2 ranks them all.")
        app.log_line(text, level)
        app.notify(text, title="Sweep", severity="information" if level == "success"
                   else "warning" if level == "warning" else "error", timeout=8)
