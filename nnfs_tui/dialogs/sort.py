"""The Runs screen's sort menu: every column one choice away."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from nnfs_tui.widgets.runs_table import HEADERS

#: The sort menu: "as recorded" (newest first), then every column.
SORT_CHOICES: tuple[str | None, ...] = (None, *HEADERS)


class SortMenu(ModalScreen[str | None]):
    """Pick the column to sort by: ↑↓ and Enter (or a click); the current one again reverses
    the order. Returns the column key, "" for newest first, or None when cancelled."""

    BINDINGS = [Binding("escape,s,q", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SortMenu { align: center middle; }
    SortMenu OptionList {
        width: 34; height: auto; max-height: 90%;
        border: round $accent; background: $surface;
    }
    """

    def __init__(self, column: str | None, descending: bool) -> None:
        super().__init__()
        self.column: str | None = column
        """The column the rows are sorted by now."""
        self.descending: bool = descending
        """Its direction."""

    def compose(self) -> ComposeResult:
        options = []
        for key in SORT_CHOICES:
            label = "newest first (as recorded)" if key is None else HEADERS[key]
            if key == self.column:
                label += "  ▼" if self.descending else "  ▲"
                label += " (Enter reverses)" if key is not None else ""
            options.append(Option(label, id=key or "-"))
        menu = OptionList(*options, id="sort-menu")
        menu.border_title = "Sort by"
        menu.border_subtitle = "Enter sorts · Esc cancels"
        yield menu

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = SORT_CHOICES.index(self.column)
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss("" if event.option.id == "-" else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
