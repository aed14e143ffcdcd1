"""ScreenHeader: the line on top of every screen, saying where you are and what the run does.

    nnfs-tui › Runs                                          sweep trial 2/6 · training 3/10

The screen's name is fixed when the screen composes it; the run's state comes from the app
(``app.run_status``, kept by the train screen), so every screen reads the same words.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class ScreenHeader(Widget):
    """One line: ``nnfs-tui › <screen>`` on the left, the run's state on the right."""

    DEFAULT_CSS = """
    ScreenHeader { dock: top; height: 1; width: 1fr; }
    """

    status: reactive[str] = reactive("idle")
    """What the run is doing, in a few words (idle, training epoch 3/10, paused, finished
    98.3%); the app sets it on every header when it changes."""

    def __init__(self, screen_name: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.screen_name = screen_name
        """The screen's name as the header shows it (Train, Runs, Inspect, Draw)."""

    def on_mount(self) -> None:
        # a screen opened mid-run starts with the app's current words (no import of the app:
        # widgets never depend on it)
        self.status = str(getattr(self.app, "run_status", self.status))

    def render(self) -> Text:
        left = Text.assemble(("nnfs-tui", "bold"), " › ", (self.screen_name, "bold reverse"))
        right = Text(self.status, style="bold")
        gap = self.size.width - left.cell_len - right.cell_len
        if gap < 1:  # narrow: the state matters more than the app's name
            left = Text.assemble((self.screen_name, "bold reverse"))
            gap = max(1, self.size.width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
