"""A line of entries (a legend, a list of keys) that wraps between entries, never inside one.

Rich wraps text at any space, which splits an entry such as "│ live change" or "d pen
down/up" across lines; here each entry stays whole, and continuation lines get a hanging
indent.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget


def flow_lines(entries: Sequence[Text], width: int, *, gap: int = 2,
               indent: int = 0) -> list[Text]:
    """Entries joined by ``gap`` spaces, a new line (starting with ``indent`` spaces) where
    the next entry would pass ``width``. An entry wider than a line is cut with an ellipsis.
    """
    lines: list[Text] = []
    line: Text | None = None
    for entry in entries:
        if line is not None and line.cell_len + gap + entry.cell_len <= width:
            line.append(" " * gap)
            line.append_text(entry)
            continue
        line = Text(" " * indent if lines else "")
        line.append_text(entry)
        line.truncate(max(1, width), overflow="ellipsis")
        lines.append(line)
    return lines


class Flow(Widget):
    """Entries on as many lines as the width needs, wrapped between entries."""

    DEFAULT_CSS = """
    Flow { height: auto; }
    """

    def __init__(self, entries: Sequence[Text] = (), *, gap: int = 2, indent: int = 0,
                 style: str = "", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries: tuple[Text, ...] = tuple(entries)
        """What is shown, in order."""
        self.gap = gap
        """Spaces between two entries on a line."""
        self.indent = indent
        """Spaces before the first entry of a continuation line."""
        self.base_style = style
        """Rich style under every entry's own (e.g. "bold")."""

    def set_entries(self, entries: Sequence[Text], *, indent: int | None = None) -> None:
        """Show these entries (a new layout only when they changed)."""
        entries = tuple(entries)
        if indent is not None:
            self.indent = indent
        if entries != self.entries:
            self.entries = entries
            self.refresh(layout=True)

    def lines(self, width: int) -> list[Text]:
        return flow_lines(self.entries, max(1, width), gap=self.gap,
                          indent=min(self.indent, max(0, width // 2)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        text = Text("\n").join(self.lines(self.content_size.width))
        if self.base_style:
            text.stylize_before(self.base_style)
        text.no_wrap = True
        return text
