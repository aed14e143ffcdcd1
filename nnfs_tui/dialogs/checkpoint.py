"""Pick a checkpoint to load: type a path (Tab completes it), or choose one of the recent
runs' checkpoints (best, final, or saved by hand with Ctrl+S). And, when F5 continues a
finished run whose schedule decayed, whether to restart the schedule for the added epochs."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.checkpoint import Checkpoint, load_checkpoint, read_summary
from engine.errors import CheckpointError, NNFSError
from engine.runs import RunStore
from nnfs_tui.widgets.path_field import SHOWN_MATCHES, PathField

#: Listed first for each run, in this order; then any other .npz (Ctrl+S saves
#: ``manual-<time>.npz`` into the run's directory), newest first.
CHECKPOINT_FILES = ("best.npz", "final.npz")


def checkpoint_summary(path: Path) -> str:
    """``epoch 23 · val 97.80% · test 97.65%``: the epochs a checkpoint had trained and its
    own accuracies then, from the engine's summary (its JSON document alone); ``unreadable:
    <why>`` when the engine refuses the file."""
    try:
        return read_summary(path).describe()
    except CheckpointError as exc:  # the path is on the line already
        return f"unreadable: {exc.problem}"
    except NNFSError as exc:  # e.g. a config this build refuses
        return f"unreadable: {exc}"


def _run_checkpoints(run_dir: Path) -> list[Path]:
    """best.npz, final.npz, then the run's other checkpoints, newest first."""
    first = [run_dir / name for name in CHECKPOINT_FILES if (run_dir / name).is_file()]
    try:
        others = [p for p in run_dir.glob("*.npz") if p.is_file() and p not in first
                  and not p.name.startswith(".")]
        others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        others = []
    return first + others


def recent_checkpoints(store: RunStore, limit: int = 20) -> list[tuple[Path, str]]:
    """(path, description) of the checkpoints of the newest ``limit`` runs: best, final and
    those saved by hand, each with the epoch and accuracies it was saved at."""
    try:
        runs = store.list()[:limit]
    except (OSError, NNFSError):
        return []
    out = []
    for run in runs:
        if run.status == "unreadable":  # e.g. its folder links out of the store: not looked in
            continue
        for path in _run_checkpoints(run.path):
            summary = checkpoint_summary(path)
            out.append((path, f"{run.name}/{path.name}" + (f" · {summary}" if summary else "")
                              + f" · {run.status}"))
    return out


class LoadCheckpointDialog(ModalScreen[Path | None]):
    """Returns the Path of a checkpoint that loads cleanly, or None when cancelled.

    The file is read and checked before the dialog closes (``checkpoint`` then holds it), so
    a missing, truncated or foreign file is refused inline with the engine's message.
    """

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "focus_recent", "Recent runs", show=False),
    ]

    def __init__(self, store: RunStore | None = None, default: str | Path = "", *,
                 limit: int = 20) -> None:
        super().__init__()
        self.store: RunStore | None = store
        """Where recent runs are listed from (None: no list)."""
        self.default: str = str(default)
        """What the path field holds at first."""
        self.limit: int = limit
        """Runs listed at most, newest first."""
        self.checkpoint: Checkpoint | None = None
        """The checkpoint read when the dialog accepted a path."""

    def compose(self) -> ComposeResult:
        recent = recent_checkpoints(self.store, self.limit) if self.store else []
        with Vertical(classes="dialog -wide") as box:
            box.border_title = "Load a checkpoint"
            box.border_subtitle = "Enter loads · Tab completes · ↓ recent runs · Esc cancels"
            yield PathField(self.default, placeholder="path/to/model.npz", id="path",
                            select_on_focus=False)
            yield Static("", id="path-error", classes="error", markup=False)
            if recent:
                yield Static("Recent runs (↑↓ choose, Enter loads):", classes="hint", markup=False)
                yield OptionList(*(Option(Text(text), id=str(path)) for path, text in recent),
                                 id="recent")
            else:
                yield Static("No recorded runs with checkpoints yet.", classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Load", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        # a notice still up (say "Model saved" from the Ctrl+S just before) would sit on the
        # dialog's key hints; it was read already, and the dialog is what matters now
        self.app.clear_notifications()
        self.query_one("#path", Input).focus()

    @property
    def error(self) -> str:
        """The message under the field ("" when none)."""
        return str(self.query_one("#path-error", Static).render())

    def show_error(self, text: str) -> None:
        self.query_one("#path-error", Static).update(text)
        self.set_class(bool(text), "-invalid")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show_error("")

    def on_path_field_completed(self, event: PathField.Completed) -> None:
        """Several names matched a Tab: list them under the field."""
        if len(event.names) > 1:
            more = len(event.names) - SHOWN_MATCHES
            self.query_one("#path-error", Static).update(
                "  ".join(event.names[:SHOWN_MATCHES]) + (f"  (+{more})" if more > 0 else ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.accept(event.value)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.has_focus and event.option.id:  # moved by the person
            self.query_one("#path", Input).value = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.accept(event.option.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.accept(self.query_one("#path", Input).value)
        else:
            self.dismiss(None)

    def accept(self, text: str) -> None:
        """Read the checkpoint; close with its path, or show why it cannot be loaded."""
        text = text.strip()
        if not text:
            self.show_error("type the path of a .npz checkpoint, or pick a recent run below")
            return
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            self.checkpoint = load_checkpoint(path)
        except NNFSError as exc:  # CheckpointError, or a config the build refuses
            self.show_error(str(exc))
            return
        self.dismiss(path)

    def action_focus_recent(self) -> None:
        """↓ in the path field: into the list of recent runs (the entry fills the field)."""
        if not self.query("#recent"):
            return
        recent = self.query_one("#recent", OptionList)
        recent.focus()
        if recent.highlighted is None:
            recent.highlighted = 0
        option = recent.highlighted_option
        if option is not None and option.id:
            self.query_one("#path", Input).value = option.id

    def action_cancel(self) -> None:
        self.dismiss(None)


class RestartScheduleDialog(ModalScreen[bool | None]):
    """F5 continues a finished run whose schedule decayed (cosine ends near 0): restart the
    schedule for the added epochs? True: restart (r, and the button focused at first, so
    Enter restarts), False: keep it over all the epochs (k), None: do not start (Esc)."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    DEFAULT_CSS = """
    RestartScheduleDialog { align: center middle; }
    """
    BINDINGS = [
        Binding("r", "answer(True)", "Restart"),
        Binding("k", "answer(False)", "Keep"),
        Binding("escape", "answer(None)", "Cancel"),
    ]

    def __init__(self, schedule: str, done: int, epochs: int, *, ended_at: float,
                 restart_at: float, keep_at: float) -> None:
        super().__init__()
        self.schedule: str = schedule
        """The run's schedule (step, exponential or cosine)."""
        added = epochs - done
        self.body: str = (
            f"The run trained its {done} epochs: its {schedule} schedule ended at a learning "
            f"rate of {ended_at:.2g}. Restart the schedule for the {added} added "
            f"epoch{'s' * (added != 1)} (from {restart_at:.3g} down again), or keep it as it "
            f"is over all {epochs} epochs (training goes on at {keep_at:.2g})?")
        """The question in full, with the rate each answer trains the next epoch at."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = f"Continue the run: restart its {self.schedule} schedule?"
            box.border_subtitle = "r restarts · k keeps · Esc cancels"
            yield Static(self.body, classes="body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Restart (r)", variant="primary", id="restart", compact=True)
                yield Button("Keep (k)", id="keep", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#restart", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss({"restart": True, "keep": False}.get(event.button.id or ""))

    def action_answer(self, restart: bool | None) -> None:
        self.dismiss(restart)
