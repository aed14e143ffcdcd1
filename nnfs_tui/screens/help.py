"""F1: every key, and what each hyperparameter means.

A switched screen like Runs, Inspect and Draw (``NNFSApp.SWITCHED_SCREENS``): it replaces
whatever covers the train screen, and Esc (or F1 again) goes back to the train screen.

Both lists are two columns laid out for the width they get: the key column as wide as the
section's longest keys (a third of the width at most; longer keys wrap after a comma), a gap,
and descriptions that wrap with a hanging indent.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget

from engine.config import FIELDS, PRESET_DOCS
from nnfs_tui.keymap import KEYMAP, in_app_words, plain
from nnfs_tui.widgets.footer import FittedFooter
from nnfs_tui.widgets.form import FORM_ORDER
from nnfs_tui.widgets.header import ScreenHeader

#: Columns before the key column, and between it and the descriptions.
INDENT = 2
KEY_GAP = 2
#: Used only to wrap Text (no output).
_CONSOLE = Console(file=io.StringIO(), width=200, color_system=None, legacy_windows=False)


def key_width(keys: Sequence[str], width: int) -> int:
    """Width of the key column: the longest keys, but at most a third of ``width``."""
    cap = max(8, (width - INDENT - KEY_GAP) // 3)
    return min(cap, max((len(k) for k in keys), default=0))


def _wrap_keys(keys: str, width: int) -> list[str]:
    """``"a, b, c"`` in lines of at most ``width``, broken after a comma only."""
    lines: list[str] = []
    for part in keys.split(", "):
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += ", " + part
        else:
            if lines:
                lines[-1] += ","
            lines.append(part)
    return lines


def two_columns(rows: Sequence[tuple[str, str | Text]], width: int,
                key_style: str = "bold") -> Text:
    """Keys (or names) left, what they do right; wrapped lines keep to their column."""
    kw = key_width([k for k, _ in rows], width)
    desc_width = max(10, width - INDENT - kw - KEY_GAP)
    text = Text()
    for keys, what in rows:
        key_lines = _wrap_keys(keys, kw)
        what_text = what if isinstance(what, Text) else Text(what)
        what_lines = list(what_text.wrap(_CONSOLE, desc_width)) or [Text()]
        for k in range(max(len(key_lines), len(what_lines))):
            key = key_lines[k] if k < len(key_lines) else ""
            text.append(" " * INDENT)
            text.append(f"{key:<{kw}}", style=key_style)
            text.append(" " * KEY_GAP)
            if k < len(what_lines):
                line = what_lines[k]
                line.rstrip()
                text.append_text(line)
            text.rstrip()
            text.append("\n")
    return text


def heading(title: str, note: str, width: int) -> Text:
    """A section title with a dim note after it, or under it (indented) if both do not fit."""
    text = Text(title, style="bold underline")
    if len(title) + 2 + len(note) <= width:
        text.append(f"  {note}\n", style="dim")
        return text
    text.append("\n")
    for line in Text(note, style="dim").wrap(_CONSOLE, max(10, width - INDENT)):
        text.append(" " * INDENT)
        text.append_text(line)
        text.rstrip()
        text.append("\n")
    return text


def keys_text(width: int = 76) -> Text:
    """Every key of KEYMAP, by section."""
    text = Text()
    for section, keys in KEYMAP:
        text.append(f"{section}\n", style="bold underline")
        text.append_text(two_columns([(k, plain(what)) for k, what in keys], width))
        text.append("\n")
    return text


def fields_text(width: int = 76) -> Text:
    """What each hyperparameter means, and the presets."""
    text = heading("Hyperparameters", "(live: can change while a run trains; Enter applies)",
                   width)
    rows: list[tuple[str, str | Text]] = []
    for name in FORM_ORDER:
        spec = FIELDS[name]
        what = Text()
        if spec.live:
            what.append("live ", style="magenta")
        what.append(f"{spec.doc}; expected {spec.allowed}")
        rows.append((name, what))
    text.append_text(two_columns(rows, width))
    text.append("\n")
    text.append_text(heading("Presets", "(pick one at the top of the form; --preset NAME on "
                                        "the command line)", width))
    text.append_text(two_columns([(name, in_app_words(doc))
                                  for name, doc in PRESET_DOCS.items()], width))
    return text


class ColumnText(Widget):
    """Text laid out in two columns for the widget's width (see :func:`two_columns`)."""

    DEFAULT_CSS = """
    ColumnText { height: auto; }
    """

    def __init__(self, build, *, id: str | None = None) -> None:  # noqa: ANN001
        super().__init__(id=id)
        self.build = build
        """``build(width) -> Text``."""
        self._cache: tuple[int, Text] | None = None

    def text_for(self, width: int) -> Text:
        width = max(20, width)
        if self._cache is None or self._cache[0] != width:
            # headings with a note may still be too long: wrap what is left, so the height
            # counted is the height drawn
            text = Text("\n").join(self.build(width).wrap(_CONSOLE, width))
            text.no_wrap = True
            self._cache = (width, text)
        return self._cache[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.text_for(width).plain.split("\n"))

    def render(self) -> Text:
        return self.text_for(self.content_size.width)


class HelpScreen(Screen[None]):
    """Keys and fields, scrolled with the arrows and PageUp/PageDown; Esc, q or ? (or F1
    again) goes back to the train screen."""

    DEFAULT_CSS = """
    HelpScreen #help-body { height: 1fr; border: round $accent; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q,question_mark", "close", "Back", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield ScreenHeader("Help")
        with VerticalScroll(id="help-body") as body:
            body.border_subtitle = "↑↓ PageUp PageDown scroll · Esc back"
            yield ColumnText(keys_text, id="help-keys")
            yield ColumnText(fields_text, id="help-fields")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()  # the arrows scroll at once

    def action_close(self) -> None:
        self.dismiss()
