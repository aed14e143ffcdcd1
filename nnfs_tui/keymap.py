"""Every key of the app in one table: the help screen, ``nnfs-tui --help`` and the README.

A test checks that each binding of the app, its screens and widgets appears here.
"""

from __future__ import annotations

#: (section, ((keys, what they do), ...)) in the order a newcomer needs them.
KEYMAP: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Run (work everywhere, even while typing)", (
        ("F1", "help: this screen (Esc closes it)"),
        ("F5", "start a run with the form's values"),
        ("F6", "pause / resume the run"),
        ("F7", "stop the run (at the next batch)"),
        ("F8", "start over: stop the run and start a fresh one"),
        ("F3", "next view: loss, accuracy, digits, log (below 110x34)"),
        ("F10, Ctrl+Q", "quit (stops the run first)"),
        ("Ctrl+P", "command palette: every action by name"),
    )),
    ("Form", (
        ("Tab, Shift+Tab", "next / previous field"),
        ("Enter", "live field during a run: apply the value now"),
        ("Enter, Space", "open a choice list"),
        ("Esc", "leave the form (to the digit viewer)"),
    )),
    ("Outside a text field", (
        ("Space", "pause / resume"),
        ("s", "start a run"),
        ("v", "next view (below 110x34)"),
        ("?", "help"),
        ("q", "quit"),
    )),
    ("Digit viewer (focus it with Esc or a click)", (
        ("n, →, j", "next test digit"),
        ("p, ←, k", "previous test digit"),
        ("r", "random test digit"),
        ("m", "only the digits the model gets wrong (toggle)"),
        ("Home", "first test digit"),
    )),
)


def keymap_text() -> str:
    """The keymap as plain text, for --help."""
    lines = []
    for section, keys in KEYMAP:
        lines.append(f"{section}:")
        lines.extend(f"  {k:<16} {what}" for k, what in keys)
    return "\n".join(lines)
