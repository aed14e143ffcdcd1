"""F1: every key, and what each hyperparameter means."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.config import FIELDS, PRESET_DOCS
from nnfs_tui.keymap import KEYMAP
from nnfs_tui.widgets.form import FORM_ORDER


def keys_text() -> Text:
    """Every key of KEYMAP, by section."""
    text = Text()
    for section, keys in KEYMAP:
        text.append(f"{section}\n", style="bold underline")
        for key, what in keys:
            text.append(f"  {key:<16}", style="bold")
            text.append(f"{what}\n")
        text.append("\n")
    return text


def fields_text() -> Text:
    """What each hyperparameter means, and the presets."""
    text = Text()
    text.append("Hyperparameters", style="bold underline")
    text.append("  (live: can change while a run trains; Enter applies)\n", style="dim")
    for name in FORM_ORDER:
        spec = FIELDS[name]
        text.append(f"  {name:<16}", style="bold")
        if spec.live:
            text.append("live ", style="magenta")
        text.append(f"{spec.doc}; expected {spec.allowed}\n")
    text.append("\nPresets\n", style="bold underline")
    for name, doc in PRESET_DOCS.items():
        text.append(f"  {name:<16}", style="bold")
        text.append(f"{doc}\n")
    return text


class HelpScreen(ModalScreen[None]):
    """Keys and fields; Esc, F1, q or ? closes it."""

    BINDINGS = [
        Binding("escape,f1,q,question_mark", "dismiss", "Close", priority=True),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = "nnfs-tui help"
            body.border_subtitle = "Esc closes · ↑↓ scroll"
            yield Static(keys_text(), id="help-keys", markup=False)
            yield Static(fields_text(), id="help-fields", markup=False)
