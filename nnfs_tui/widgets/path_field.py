"""A text field for file paths: Tab completes the name being typed, as a shell does."""

from __future__ import annotations

import os
from pathlib import Path

from textual.binding import Binding
from textual.message import Message

from nnfs_tui.widgets.text_field import TextField

#: Names listed at most after a Tab that matched several.
SHOWN_MATCHES = 6


def complete_path(text: str) -> tuple[str, list[str]]:
    """The text completed as far as the names in its directory agree, and those names.

    A single match is completed whole (a directory gains its ``/``); several complete to
    their common prefix; none leaves the text as it is. ``~`` is understood, and kept.
    """
    head, sep, prefix = text.rpartition("/")
    folder = Path(os.path.expanduser(head + sep) if sep else ".")
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.startswith(prefix)
                       and (prefix.startswith(".") or not e.name.startswith(".")))
    except OSError:
        return text, []
    if not names:
        return text, []
    common = os.path.commonprefix(names)
    done = head + sep + common
    if len(names) == 1 and (folder / common).is_dir():
        done += "/"
    return done, names


class PathField(TextField):
    """A path: Tab completes it (a second Tab moves on when nothing is left to complete)."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]

    class Completed(Message):
        """A Tab found these names (several: the dialog may list them)."""

        def __init__(self, field: PathField, names: list[str]) -> None:
            super().__init__()
            self.field: PathField = field
            """The field completed."""
            self.names: list[str] = names
            """The matching names in the typed directory."""

    def action_complete(self) -> None:
        """Complete the typed path; when it is already complete, Tab moves the focus."""
        done, names = complete_path(self.value)
        if done == self.value and len(names) <= 1:
            self.screen.focus_next()
            return
        self.value = done
        self.cursor_position = len(done)
        self.post_message(self.Completed(self, names))
