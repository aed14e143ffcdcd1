"""TextField: a Textual ``Input`` that applies keys in the order they arrive.

Over SSH several keys often arrive in one read. Textual's ``Input`` inserts a printable key
in its own handler but leaves Backspace, the arrows, Ctrl+U, Enter and Tab to the bindings,
which the app runs only after the event has bubbled up through every parent's message queue
(Textual issue 6605). A printable key behind them in the same read is inserted first: with
``0.00089`` in a field, ``Backspace Backspace 5 Enter`` applied 0.0008, not 0.0005.

A TextField runs the bindings of the key (its own first, then its parents' up to the app,
exactly the chain Textual would walk later) inside its own key handler, so each key is done
before the next one is looked at. A key that arrives after an earlier key of the same burst
moved the focus away (Tab, then typing) goes on to the widget that has the focus now; when
that is not a TextField (a choice list, whose keys act only once they have bubbled up to the
app: Tab moves the focus on from there), the field waits until the key is done before it
looks at the next one, so ``Tab Tab 0 . 0 0 4`` from the hidden sizes crosses the choice
lists and types into learning_rate instead of dropping the digits on a choice list.

Keys of the app's priority bindings (F5, F6, Ctrl+S ...) are kept in order with the typed
ones by the app (:mod:`nnfs_tui.key_order`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual import events
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Input

#: Seconds keys may wait behind one key that has not come back from the widget it was sent
#: to (the app's held keys, a key a field passed on) before they go on regardless. A key
#: comes back within milliseconds; this only bounds what a widget that swallows the key, or
#: one taken down with its follow-up still queued, could otherwise hold up for good.
HOLD_LIMIT = 0.5


def after_pending(node: MessagePump, callback: Callable[[], Awaitable[None] | None]) -> None:
    """Run ``callback`` on the app once ``node`` and each of its ancestors, in turn, has
    handled every message in its queue and the messages those posted to it.

    A callback goes to the back of each queue twice: once to come after what is there, and
    once more to come after what that posted to the same widget meanwhile (a form handling
    a field's ``Submitted`` posts its live change to itself), then on to the parent. The
    second time is skipped when the queue is empty by then (nothing was posted meanwhile).
    """

    def visit(pump: MessagePump, again: bool) -> Awaitable[None] | None:
        # running in ``pump``'s own task: an empty queue means nothing is pending there
        idle = pump._message_queue.empty() and pump._pending_message is None
        if not again and not idle and pump.call_later(visit, pump, True):
            return None
        parent = pump._parent  # None: the app, the end of the chain
        if parent is None:
            return callback()
        if not parent.call_later(visit, parent, False):  # taken down meanwhile
            pump.app.call_later(visit, pump.app, True)
        return None

    if not node.call_later(visit, node, False):
        node.app.call_later(visit, node.app, True)



class TextField(Input):
    """An ``Input`` whose keys take effect in the order they were typed.

    Used for every text field of the app (form, dialogs, the Runs filter). Whenever the
    field gains the focus (by Tab or a click, or again when a dialog over it closes) or the
    app puts a value into it while it has the focus (a preset, the LR finder's suggestion),
    its whole value is selected, so typing replaces it.
    """

    _editing: bool = False
    """True while a key or a paste of the person's is being applied (their edit keeps the
    cursor where it puts it; any other new value is selected)."""

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._on_screen_change)

    def _on_screen_change(self, screen: object) -> None:
        """A dialog over this field's screen closed (or the screen came back): the focus is
        here again without a Focus event, so select the value as one would."""
        if screen is self.screen and self.screen.focused is self:
            self.select_all()

    def watch_value(self, value: str) -> None:
        if not self._editing and self.has_focus:
            self.select_all()

    async def _on_paste(self, event: events.Paste) -> None:
        self._editing = True
        try:
            super()._on_paste(event)
        finally:
            self._editing = False

    async def _on_key(self, event: events.Key) -> None:
        # Input._on_key runs after this one unless the default is prevented (the message
        # pump walks the class hierarchy): every branch below prevents it
        focused = self.app.focused
        if focused is not None and focused is not self:
            # an earlier key of the burst moved the focus: this one belongs to the new field
            event.stop()
            event.prevent_default()
            await _pass_on(event, focused)
            return
        self._editing = True
        try:
            if event.is_printable:
                await super()._on_key(event)  # Input inserts it now, in order
            # App._check_bindings walks the focused widget's chain (this field first), the
            # same walk Textual makes once the event has bubbled up to the app, but now.
            elif await self.app._check_bindings(event.key):
                event.stop()
        finally:
            self._editing = False
        event.prevent_default()


async def _pass_on(event: events.Key, focused: Widget) -> None:
    """Send a copy of ``event`` to ``focused``; unless that is a TextField (which orders its
    own keys), return once it is done there and in each parent, the app included (a choice
    list's Tab moves the focus only there), or after HOLD_LIMIT."""
    focused._forward_event(events.Key(event.key, event.character))
    if isinstance(focused, TextField):
        return
    done = asyncio.Event()
    after_pending(focused, done.set)
    try:
        await asyncio.wait_for(done.wait(), HOLD_LIMIT)
    except TimeoutError:
        pass  # swallowed or taken down: the next key goes on regardless
    moving = getattr(focused.app, "keys_moving", None)  # the app's key order, when it has one
    if moving is not None:
        moving()
