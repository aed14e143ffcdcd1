"""A yes/no question, for things that cannot be undone (deleting a run)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    """Returns True for ``y`` / the confirm button, False for ``n``, Esc or Cancel.

    Cancel has the focus at first, so an Enter pressed by habit destroys nothing.
    """

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str, *, confirm: str = "Delete") -> None:
        super().__init__()
        self.title_text: str = title
        """The question, e.g. "Delete run X?"."""
        self.body: str = body
        """What confirming does, in a sentence or two."""
        self.confirm_label: str = confirm
        """Text of the confirm button."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -danger") as box:
            box.border_title = self.title_text
            box.border_subtitle = "y confirms · n / Esc cancels"
            yield Static(self.body, classes="body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="error", id="confirm",
                             compact=True)
                yield Button("Cancel (n)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
