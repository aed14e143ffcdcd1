"""Parts of the Runs screen: reading the store off the UI thread, the detail line of the
highlighted run, and the overlaid loss and accuracy plots of the selected runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from engine.config import format_field
from engine.errors import NNFSError
from engine.runs import RunInfo, RunStore
from engine.runs.importance import Importance
from nnfs_tui.widgets.overlay_plot import Curve, OverlayPlot, RunStyle, legend
from nnfs_tui.widgets.runs_table import HEADERS, cells

Metrics = list[dict[str, float | None]]
"""The rows of a run's metrics.csv."""


def store_signature(store: RunStore) -> tuple[int, ...]:
    """Changes when a run is added to or deleted from the store (its directory's mtime)."""
    try:
        return (store.root.stat().st_mtime_ns,)
    except OSError:
        return ()


@dataclass(frozen=True)
class StoreSnapshot:
    """What a read of the run store found: plain data, made on a worker thread."""

    runs: list[RunInfo]
    """Every run in the store, newest first."""
    signature: tuple[int, ...]
    """The store's :func:`store_signature` when it was read."""
    metrics: dict[str, Metrics] = field(default_factory=dict)
    """Fresh metrics of the plotted runs that were read."""
    reread: tuple[str, ...] = ()
    """Runs read again: their cached metrics are stale."""
    full: bool = True
    """The whole store was listed (False: only the runs still training were read again)."""
    error: str = ""
    """Why the store could not be read (then ``runs`` is empty)."""
    announce: bool = False
    """Say how many runs there are (a reload asked for with Ctrl+R)."""


class StoreRead(Message, bubble=False):
    """The Runs screen's worker read the store."""

    def __init__(self, snapshot: StoreSnapshot) -> None:
        super().__init__()
        self.snapshot: StoreSnapshot = snapshot
        """What it found."""


class ImportanceFound(Message, bubble=False):
    """The Runs screen's worker weighed the fields of the runs shown."""

    def __init__(self, key: tuple, importance: Importance) -> None:
        super().__init__()
        self.key: tuple = key
        """Which runs it was computed for (the screen drops it when they changed)."""
        self.importance: Importance = importance
        """What it found."""


def read_store(store: RunStore, known: Sequence[RunInfo], signature: tuple[int, ...],
               plotted: Iterable[str], *, full: bool, announce: bool = False,
               ) -> StoreSnapshot | None:
    """Read the store (blocking: for a worker thread). Runs added or deleted (``signature``
    changed) or ``full``: list it all; else re-read only the runs still training (cheap, so
    a long list is not re-read every two seconds); None when there is nothing to re-read.
    The metrics of the ``plotted`` runs that were read come along."""
    plotted = set(plotted)
    now = store_signature(store)
    if full or now != signature:
        try:
            runs = store.list()
        except (OSError, NNFSError) as exc:
            return StoreSnapshot([], now, error=f"Cannot read the runs in {store.root}: {exc}",
                                 announce=announce)
        metrics = {run.name: run.metrics() for run in runs if run.name in plotted}
        return StoreSnapshot(runs, now, metrics, announce=announce)
    runs, reread = list(known), {}
    for i, run in enumerate(runs):
        if run.status != "running":
            continue
        try:
            runs[i] = reread[run.name] = store.load(run.name)
        except (OSError, NNFSError):
            continue  # deleted meanwhile: the next full read drops it
    if not reread:
        return None
    metrics = {name: run.metrics() for name, run in reread.items() if name in plotted}
    return StoreSnapshot(runs, signature, metrics, tuple(reread), full=False)


class RunDetail(Static):
    """One line about the highlighted run: why it failed, the values of the columns the
    table's width left out, when it started, and the settings the table does not show."""

    def show(self, run: RunInfo | None, *, hidden: Sequence[str], timing: bool,
             root: Path, any_runs: bool, loaded: bool = True) -> None:
        """Describe ``run``; without one, say why the table is empty."""
        if run is None:
            if not loaded:
                self.update(f"Reading the runs in {root}…")
            elif not any_runs:
                self.update(f"No runs recorded yet in {root}: runs started in the app or "
                            "with nnfs-train appear here.")
            else:
                self.update("No run matches the filter.")
            return
        text = Text(run.name, style="bold")
        if run.reason:
            text.append(f" · {run.reason}", style="red")
        if run.problem:
            text.append(f" · {run.problem}", style="red")
        if run.continued_from is not None:
            text.append(f" · continued a checkpoint from step {run.continued_from}")
        if hidden:  # columns the width left out: their values here
            shown = cells(run, timing=timing)
            text.append(" · " + " · ".join(f"{HEADERS[key]} {shown[key].plain}"
                                             for key in hidden))
        if timing and run.started_at:
            text.append(f" · started {run.started_at}")
        c = run.config
        if c is not None:
            text.append(f" · {c.dataset} · init {c.init} · {c.schedule} · seed {c.seed}")
            for name in ("dropout", "weight_decay", "val_fraction", "subset"):
                value = getattr(c, name)
                if value:
                    text.append(f" · {name} {format_field(name, value)}")
        self.update(text)


class RunPlots(Horizontal):
    """Loss and accuracy of one split, the curves of several runs overlaid."""

    def compose(self) -> ComposeResult:
        yield OverlayPlot("test loss", id="runs-loss")
        yield OverlayPlot("test accuracy %", percent=True, id="runs-accuracy")

    def plot(self, items: Sequence[tuple[RunInfo, RunStyle]], split: str,
             metrics_of: Callable[[RunInfo], Metrics]) -> Text:
        """Draw the ``split``'s curves of each run in its style; returns the legend."""
        loss, accuracy = [], []
        for run, style in items:
            rows = metrics_of(run)
            loss.append(Curve(run.name, style, tuple(
                (r["epoch"], r[f"{split}_loss"]) for r in rows)))
            accuracy.append(Curve(run.name, style, tuple(
                (r["epoch"], None if r[f"{split}_acc"] is None else 100 * r[f"{split}_acc"])
                for r in rows)))
        loss_plot = self.query_one("#runs-loss", OverlayPlot)
        accuracy_plot = self.query_one("#runs-accuracy", OverlayPlot)
        loss_plot.set_curves(loss, f"{split} loss")
        accuracy_plot.set_curves(accuracy, f"{split} accuracy %")
        return legend(accuracy_plot.curves)
