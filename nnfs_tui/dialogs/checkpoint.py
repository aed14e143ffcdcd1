"""Pick a checkpoint to load: type a path, or choose a recent run's best / final model."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.checkpoint import Checkpoint, load_checkpoint
from engine.errors import NNFSError
from engine.runs import RunStore
from nnfs_tui.widgets.runs_table import cells

CHECKPOINT_FILES = ("best.npz", "final.npz")


def recent_checkpoints(store: RunStore, limit: int = 20) -> list[tuple[Path, str]]:
    """(path, description) of the best and final checkpoints of the newest ``limit`` runs."""
    try:
        runs = store.list()[:limit]
    except (OSError, NNFSError):
        return []
    out = []
    for run in runs:
        row = cells(run)
        for name in CHECKPOINT_FILES:
            path = run.path / name
            if path.is_file():
                epoch = (f" (epoch {run.best_epoch})" if name == "best.npz"
                         and run.best_epoch is not None else "")
                out.append((path, f"{run.name}/{name}{epoch} · test {row['test_acc'].plain}"
                                  f" · {run.status}"))
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
            box.border_subtitle = "Enter loads · ↓ recent runs · Esc cancels"
            yield Input(self.default, placeholder="path/to/model.npz", id="path",
                        select_on_focus=False)
            yield Static("", id="path-error", classes="error")
            if recent:
                yield Static("Recent runs (↑↓ choose, Enter loads):", classes="hint")
                yield OptionList(*(Option(text, id=str(path)) for path, text in recent),
                                 id="recent")
            else:
                yield Static("No recorded runs with checkpoints yet.", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Load", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
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
