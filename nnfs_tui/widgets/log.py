"""The run log: started, paused, live changes, epochs, diverged with the reason, finished."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from rich.text import Text
from textual.widgets import RichLog

from nnfs_tui.widgets.live import LiveView

#: Lines kept; older ones scroll away for good.
MAX_LINES = 2000

#: Style of each kind of line.
LEVEL_STYLES = {
    "info": "",
    "epoch": "dim",
    "change": "magenta",
    "warning": "yellow",
    "error": "bold red",
    "success": "green",
}


class RunLog(LiveView, RichLog):
    """A scrolling log of run events; keeps a plain-text copy for tests and screen readers."""

    DEFAULT_CSS = """
    RunLog { height: 1fr; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], str] | None = None) -> None:
        super().__init__(id=id, classes=classes, wrap=True, markup=False, max_lines=MAX_LINES,
                         min_width=8, auto_scroll=True)
        self.clock = clock if clock is not None else (lambda: time.strftime("%H:%M:%S"))
        """Returns the time stamp of a line ("" for none)."""
        self.lines_text: deque[str] = deque(maxlen=MAX_LINES)
        """The lines kept, as plain text."""
        # held back while the screen is covered (the newest MAX_LINES: the rest would scroll
        # away at once)
        self._unwritten: deque[Text] = deque(maxlen=MAX_LINES)
        # every line as styled text: wrapped again when the width changes (RichLog wraps a
        # line once, at the width it has when written, and cuts it if it narrows later)
        self._styled: deque[Text] = deque(maxlen=MAX_LINES)
        self._wrapped_width = 0

    def add(self, message: str, level: str = "info") -> None:
        """Append one line, time-stamped, styled by ``level`` (see LEVEL_STYLES)."""
        stamp = self.clock()
        line = Text()
        if stamp:
            line.append(stamp + " ", style="dim")
        line.append(message, style=LEVEL_STYLES.get(level, ""))
        self.lines_text.append(message)
        self._styled.append(line)
        self._unwritten.append(line)
        self.redraw_soon()

    def on_resize(self) -> None:
        """Another width: wrap every line again, so none is cut."""
        width = self.scrollable_content_region.width
        if width != self._wrapped_width and self._styled:
            self._wrapped_width = width
            self.clear()
            self._unwritten = deque(self._styled, maxlen=MAX_LINES)
            self.redraw_soon()

    def redraw(self) -> None:
        """Write the lines held back, in order."""
        width = self.scrollable_content_region.width
        self._wrapped_width = width
        # the width the lines wrap at leaves room for the scrollbar that the first lines to
        # overflow bring (it narrows the log by a column after they were wrapped)
        if not self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        while self._unwritten:
            line = self._unwritten.popleft()
            self.write(line, width=max(width, 8)) if width > 0 else self.write(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines_text)
