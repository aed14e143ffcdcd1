"""TextField: a Textual ``Input`` that applies keys in the order they arrive.

Over SSH several keys often arrive in one read. Textual's ``Input`` inserts a printable key
in its own handler but leaves Backspace, the arrows, Ctrl+U, Enter and Tab to the bindings,
which the app runs only after the event has bubbled up through every parent's message queue
(Textual issue 6605). A printable key behind them in the same read is inserted first: with
``0.00089`` in a field, ``Backspace Backspace 5 Enter`` applied 0.0008, not 0.0005.

A TextField runs the bindings of the key (its own first, then its parents' up to the app,
exactly the chain Textual would walk later) inside its own key handler, so each key is done
before the next one is looked at. A key that arrives after an earlier key of the same burst
moved the focus away (Tab, then typing) goes on to the widget that has the focus now.

Keys of the app's priority bindings (F5, F6, Ctrl+S ...) are kept in order with the typed
ones by the app (:mod:`nnfs_tui.key_order`).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class TextField(Input):
    """An ``Input`` whose keys take effect in the order they were typed.

    Used for every text field of the app (form, dialogs, the Runs filter). Entering the
    field by Tab or a click selects its value, so typing replaces it (``select_on_focus``,
    on by default as in ``Input``).
    """

    async def _on_key(self, event: events.Key) -> None:
        # Input._on_key runs after this one unless the default is prevented (the message
        # pump walks the class hierarchy), so each branch below either prevents it or
        # leaves the printable case to it.
        focused = self.app.focused
        if focused is not None and focused is not self:
            # an earlier key of the burst moved the focus: this one belongs to the new field
            event.stop()
            event.prevent_default()
            focused._forward_event(events.Key(event.key, event.character))
            return
        if event.is_printable:
            return  # Input inserts it now, in order
        # App._check_bindings walks the focused widget's chain (this field first), the
        # same walk Textual makes once the event has bubbled up to the app, but now.
        if await self.app._check_bindings(event.key):
            event.stop()
            event.prevent_default()
