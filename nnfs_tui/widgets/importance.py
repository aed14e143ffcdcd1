"""ImportancePanel: how much each varied field explains the score, as a bar chart.

It draws an :class:`~engine.runs.importance.Importance` (computed elsewhere, off the UI
thread); with too few runs it shows the engine's line saying so instead of noise::

    importance · 16 runs
    learning_rate ██████▍  71%
    optimizer     ██▏      21%
    hidden_sizes  ▌         6%

A field's full name is shown where it fits beside a readable bar, else the short name the
parallel plot's axes use (``lr``, ``wd``, ``restart``).
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from engine.runs.importance import Importance
from nnfs_tui.widgets.parallel_plot import short_name

#: Eighths of a cell, for bars that grow smoothly.
EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_STYLE = "rgb(86,180,233)"
#: Cells of the shortest bar worth drawing beside full names, and of the share (`` 71%``).
MIN_BAR, SHARE_WIDTH = 6, 5


def bar(share: float, width: int) -> str:
    """A bar of ``share`` (0..1) of ``width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


class ImportancePanel(Widget):
    """The importance of each varied field for the score of the runs shown."""

    DEFAULT_CSS = """
    ImportancePanel {
        width: 25%; min-width: 26; max-width: 34; height: 1fr; padding: 0 1;
        border-left: vkey $foreground 20%;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.importance: Importance | None = None
        """What is drawn (None: being computed)."""

    def show(self, importance: Importance | None) -> None:
        """Draw ``importance`` (None: say it is being computed)."""
        self.importance = importance
        self.refresh()

    def render(self) -> RenderableType:
        found = self.importance
        if found is None:
            return Text("importance\ncomputing…", style="dim")
        text = Text.assemble(("importance", "bold"), f" · {found.n_runs} runs\n")
        if found.problem:
            text.append(found.problem, style="dim")
            return text
        fields = [field for field, _ in found.shares[: max(1, self.size.height - 3)]]
        names = self.names(fields, self.size.width or 24)
        name_width = max(len(name) for name in names.values())
        bar_width = max(3, (self.size.width or 24) - name_width - 1 - SHARE_WIDTH)
        for field, share in found.shares[: len(fields)]:
            text.append(f"{names[field]:<{name_width}} ")
            text.append(bar(share, bar_width), style=BAR_STYLE)
            text.append(f"{100 * share:4.0f}%\n")
        text.append(found.method, style="dim")
        return text

    @staticmethod
    def names(fields: list[str], width: int) -> dict[str, str]:
        """Field → name shown in ``width`` cells: the full name where it fits beside a bar of
        ``MIN_BAR`` cells, else its short name on the parallel plot's axes."""
        room = max(4, width - 1 - MIN_BAR - SHARE_WIDTH)
        return {field: short_name(field, room) for field in fields}
