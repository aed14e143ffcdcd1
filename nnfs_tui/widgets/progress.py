"""The Keras/Lightning-style progress line: epoch, bar, times, speed, loss, accuracy, lr."""

from __future__ import annotations

import math

from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from engine import events as ev
from engine.metrics import RunWarning, training_warning
from nnfs_tui.widgets.live import LiveView

NO_TIME = "--:--"


def format_duration(seconds: float | None) -> str:
    """``MM:SS``, or ``H:MM:SS`` from an hour; ``--:--`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return NO_TIME
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_rate(per_second: float | None) -> str:
    """Samples per second, short: ``950``, ``12.3k``, ``1.2M``; ``-`` when unknown."""
    if per_second is None or not math.isfinite(per_second) or per_second <= 0:
        return "-"
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if per_second >= scale:
            return f"{per_second / scale:.1f}{suffix}"
    return f"{per_second:.0f}"


def format_percent(share: float | None) -> str:
    return "-" if share is None or not math.isfinite(share) else f"{100 * share:.1f}%"


def format_number(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4f}"


class ProgressLine(LiveView, Widget):
    """What the run is doing now, in two lines: the bar, then the numbers that fit (the best
    score, the state and a warning always; loss, accuracy, lr and times as room allows)."""

    DEFAULT_CSS = """
    ProgressLine { height: auto; min-height: 2; }
    """

    status: reactive[str] = reactive("idle")
    """idle, loaded (a checkpoint), loading, training, paused, stopping, completed, stopped,
    diverged or failed."""
    timing: reactive[bool] = reactive(True)
    """Show measured times and speeds (tests turn it off for reproducible screenshots)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.epochs = 0
        """Epochs planned for the run."""
        self.last_batch: ev.BatchEnded | None = None
        """The latest batch report."""
        self.epoch_done = 0
        """Whole epochs finished."""
        self.best_val: float | None = None
        """Best validation accuracy so far (test accuracy when there is no validation split)."""
        self.best_epoch = 0
        """The epoch that reached it."""
        self.has_val = True
        """False when the run has no validation split: "best" then means test."""
        self.elapsed: float | None = None
        """Training seconds of the run so far (pauses excluded)."""
        self.learning_rate: float | None = None
        """Learning rate of the latest update (after the schedule)."""
        self.n_classes = 10
        """Classes of the run's data: what chance accuracy and chance loss are."""
        self.warning: RunWarning | None = None
        """What looks wrong after the latest epoch (exploding loss, chance accuracy)."""

    # -- updates from the app ----------------------------------------------------------------
    def start(self, event: ev.RunStarted) -> None:
        self.reset(event.config.epochs, epoch_done=event.start_epoch, elapsed=0.0)
        self.has_val = event.n_val > 0
        self.n_classes = event.n_classes

    def update_batch(self, event: ev.BatchEnded) -> None:
        self.last_batch = event
        self.elapsed = event.elapsed
        self.learning_rate = event.lr
        self.redraw_soon()

    def update_epoch(self, event: ev.EpochEnded) -> None:
        self.epoch_done = event.epoch
        self.epochs = event.epochs
        score = event.val_acc if self.has_val else event.test_acc
        if score is not None and math.isfinite(score) and (
                self.best_val is None or score > self.best_val):
            self.best_val, self.best_epoch = score, event.epoch
        self.warning = training_warning(event.train_loss, event.train_acc, self.n_classes)
        self.redraw_soon()

    def finish(self, event: ev.RunFinished) -> None:
        self.elapsed = event.seconds
        self.refresh()

    def set_epochs(self, epochs: int) -> None:
        """The planned epochs, shown before a run starts (and with a loaded checkpoint, how
        far F5 will take it); the line of a run that ended stays as that run left it."""
        if self.status in ("idle", "loaded"):
            self.epochs = epochs
            self.refresh()

    def reset(self, epochs: int, *, epoch_done: int = 0, history: list[dict] | None = None,
              elapsed: float | None = None) -> None:
        """Nothing of an earlier run: ``epochs`` planned, and for a loaded checkpoint the
        epochs it has done, its per-epoch history (for the best score) and its time."""
        self.epochs = epochs
        self.last_batch = None
        self.epoch_done = epoch_done
        self.best_val, self.best_epoch = None, 0
        rows = history or []
        self.has_val = not rows or rows[-1].get("val_acc") is not None
        for row in rows:
            score = row.get("val_acc") if self.has_val else row.get("test_acc")
            if score is not None and math.isfinite(score) and (
                    self.best_val is None or score > self.best_val):
                self.best_val, self.best_epoch = score, int(row.get("epoch", 0))
        last = rows[-1] if rows else {}
        self.warning = (training_warning(last["train_loss"], last["train_acc"], self.n_classes)
                        if last.get("train_loss") is not None
                        and last.get("train_acc") is not None else None)
        self.elapsed = elapsed
        self.learning_rate = None
        self.refresh(layout=True)

    def watch_status(self) -> None:
        self.refresh(layout=True)

    def watch_timing(self) -> None:
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    @property
    def fraction(self) -> float:
        """Share of the planned run done, 0..1."""
        if not self.epochs:
            return 0.0
        done = self.last_batch.epoch_progress if self.last_batch else float(self.epoch_done)
        return min(1.0, max(done, float(self.epoch_done)) / self.epochs)

    def remaining(self) -> float | None:
        """Seconds of training left, from the speed so far."""
        fraction = self.fraction
        if self.elapsed is None or fraction <= 0 or self.status not in ("training", "paused"):
            return 0.0 if fraction >= 1 else None
        return self.elapsed * (1 - fraction) / fraction

    def _bar(self, width: int, ratio: float) -> Text:
        width = max(width, 4)
        full = int(ratio * width)
        bar = Text("━" * full, style="bold green")
        if full < width:
            bar.append("╸" if ratio * width - full >= 0.5 else " ", style="green")
            bar.append("━" * (width - full - 1), style="grey35")
        return bar

    def render(self) -> Text:
        return Text("\n").join(self._lines(self.size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    @property
    def epoch_now(self) -> int:
        """The epoch the line shows: the one of the latest batch (the epoch in progress, or
        the one whose last batch just ended), the next one before its first batch, the last
        one done for a completed run or a loaded checkpoint. The header says the same."""
        b = self.last_batch
        if self.status in ("completed", "loaded") or (
                b is None and self.epoch_done >= self.epochs > 0):
            return self.epoch_done
        return b.epoch if b else min(self.epoch_done + 1, max(self.epochs, 1))

    @property
    def best_words(self) -> str:
        """Which score ``best_val`` is: ``best val`` (validation accuracy) or ``best test``
        when the run has no validation split."""
        return "best val" if self.has_val else "best test"

    def _lines(self, width: int) -> list[Text]:
        width = max(width, 20)
        b = self.last_batch
        epoch_now = self.epoch_now
        head = Text.assemble(("Epoch ", "bold"), (f"{epoch_now}/{self.epochs or '-'}", "bold"))
        if b is not None:
            counts = f"{b.batch}/{b.batches_per_epoch}"
            ratio = b.batch / b.batches_per_epoch
        else:
            counts, ratio = "-/-", (1.0 if self.status == "completed" else 0.0)
        if self.timing:
            times = f"{format_duration(self.elapsed)}<{format_duration(self.remaining())}"
            speed = f"{format_rate(b.samples_per_second if b else None)} samples/s"
        else:
            times, speed = f"{NO_TIME}<{NO_TIME}", "- samples/s"
        state = {
            "idle": ("ready: F5 starts a run", "dim"),
            "loaded": ("loaded: F5 continues it" if self.epoch_done < self.epochs
                       else "loaded: raise epochs for F5", "cyan"),
            "loading": ("loading data…", "yellow"),
            "paused": ("PAUSED (F6 resumes)", "bold yellow"),
            "stopping": ("stopping…", "yellow"),
            "completed": ("completed", "green"),
            "stopped": ("stopped", "yellow"),
            "diverged": ("DIVERGED", "bold red"),
            "failed": ("could not start", "bold red"),
        }.get(self.status)
        loss = Text.assemble(("loss ", "dim"), format_number(b.loss if b else None))
        acc = Text.assemble(("acc ", "dim"), format_percent(b.accuracy if b else None))
        lr = Text.assemble(("lr ", "dim"),
                           "-" if self.learning_rate is None else f"{self.learning_rate:.2e}")
        which = self.best_words + " "
        best = format_percent(self.best_val)
        best_long = Text.assemble((which, "dim"), best, (
            f" (ep {self.best_epoch})" if self.best_val is not None else "", "dim"))
        best_mid = Text.assemble((which, "dim"), best)
        best_short = Text.assemble(("best ", "dim"), best)
        tail = []
        if state is not None:
            tail.append(Text(state[0], style=state[1]))
        if self.warning is not None and self.status != "diverged":
            tail.append(Text(f"⚠ {self.warning.short}", style="bold red"))
        timing = Text(f"{times}  {speed}")
        lines: list[Text] = []
        bar_width = width - len(head) - len(counts) - len(timing) - 4
        if bar_width >= 10:
            lines.append(Text(" ").join([head, self._bar(bar_width, ratio), Text(counts), timing]))
            timed: list[Text] = []
        else:
            bar_width = width - len(head) - len(counts) - 2
            lines.append(Text(" ").join([head, self._bar(bar_width, ratio), Text(counts)]))
            timed = [timing]
        # the second line holds what fits, dropping the least needed first: the best score,
        # the state and a warning stay (a 80x24 terminal has two lines for all of this)
        variants = [
            [*timed, loss, acc, lr, best_long, *tail],
            [loss, acc, lr, best_long, *tail],
            [loss, acc, best_long, *tail],
            [loss, best_long, *tail],
            [loss, best_mid, *tail],
            [best_mid, *tail],
            [best_short, *tail],
        ]
        for chunks in variants:
            line = Text("  ").join(chunks)
            if line.cell_len <= width:
                break
        else:
            line.truncate(width, overflow="ellipsis")
        lines.append(line)
        return lines
