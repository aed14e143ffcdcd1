"""What the app's form dialogs share: Enter in a field or the OK button accepts, Cancel
closes with None."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen
from textual.widgets import Button, Input

ResultT = TypeVar("ResultT")


class FormDialog(ModalScreen[ResultT]):
    """A modal form; subclasses implement :meth:`accept` (dismiss with a result, or say why
    not). The OK button has id "ok"; any other button cancels."""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.accept()
        else:
            self.dismiss(None)

    def accept(self) -> None:
        raise NotImplementedError
