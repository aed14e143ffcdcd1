"""FittedFooter: Textual's Footer, showing as many keys as fit, the most important first.

Textual lists the keys of the focused widget, then the screen's, then the app's, and lets
the row run off the edge. Here the row stops at the last key that fits whole, so at 80
columns a screen's own keys are on it and the app's least needed ones are left out; F1 Help
and the command palette, which list them all, always keep their place.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def key_width(key: FooterKey, compact: bool) -> int:
    """Cells a key takes in the footer: `` key description `` with Textual's padding
    (``key description`` when compact)."""
    width = Text(key.key_display).cell_len + (0 if compact else 2)
    if key.description:
        width += Text(key.description).cell_len + 1
    return width


class FittedFooter(Footer):
    """A Footer whose keys fit its width, in the order of importance Textual gives them:
    the focused widget's, the screen's, then the app's."""

    #: Keys always shown, whatever the width: Help, where a newcomer finds every other key.
    KEPT_KEYS = ("f1",)

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        room = self.size.width or self.app.size.width
        palette = [k for k in keys if k.has_class("-command-palette")]
        kept = [k for k in keys if isinstance(k, FooterKey) and k.key in self.KEPT_KEYS]
        room -= sum(key_width(k, self.compact) for k in palette)  # type: ignore[arg-type]
        room -= sum(key_width(k, self.compact) + (1 if self.compact else 0) for k in kept)
        full = False
        for key in keys:
            if key in palette:
                continue
            if isinstance(key, FooterKey) and key not in kept:
                room -= key_width(key, self.compact) + (1 if self.compact else 0)
                full = full or room < 0
                if full:
                    continue
            yield key
        yield from palette

    _fitted_width = 0

    def on_resize(self, event: events.Resize) -> None:
        """Another width: fit the keys again."""
        if event.size.width != self._fitted_width and self._bindings_ready:
            self._fitted_width = event.size.width
            self.call_after_refresh(self.recompose)
