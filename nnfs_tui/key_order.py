"""Keys that arrive together are applied in the order they were typed, F-keys included.

Over SSH several keys often arrive in one read, and Textual handles each the moment the app
takes it from its queue: a key of a priority binding (F5, F6, Ctrl+S ...) runs its action
there and then, while the keys typed before it are still queued at the focused widget (and
the form hears of their edits later still, through messages that bubble up). With
``Tab 0 . 0 0 0 5 F5`` the run started with the old learning rate; with a paused run,
``Backspace Backspace 5 Enter F6`` resumed before the edited value was sent.

:class:`KeysInOrder`, mixed into the app, holds such a key back:

- a key of a priority binding goes to the focused widget as a :class:`HeldKey`, behind the
  keys before it; no widget handles one, so it bubbles back up to the app, which then waits
  (:func:`after_pending`) until the widget focused by now (the field Tab moved to) and each
  of its parents has handled what those keys made it post (a field's ``Changed`` and
  ``Submitted``, the form's live change), and only then runs the binding;
- a key sent to a widget that is not a TextField (a choice list, the digit viewer, a table)
  is handled by bindings the app runs once the key has bubbled up to it (Tab moves the focus
  this way): the next key waits for that;
- the keys that arrive meanwhile wait at the app, in order, and go on once it is done.

A TextField orders its own keys (see :mod:`nnfs_tui.widgets.text_field`), so typing into one
is never held back; the keys queued at one after a Tab moved the focus away go on from it to
the focused widget one at a time, each once the one before is done there.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial

from textual import events
from textual.message_pump import MessagePump

from nnfs_tui.widgets.text_field import HOLD_LIMIT, TextField, after_pending

__all__ = ["HOLD_LIMIT", "HeldKey", "KeyHold", "KeysInOrder", "after_pending"]

class HeldKey(events.Key):
    """A key of a priority binding on its way through the focused widget's queue, behind the
    keys of the same burst that came before it. Its handler name is ``on_held_key``, which
    no widget has: it comes back up to the app as it went, and the app acts on it."""


@dataclass(eq=False)
class KeyHold:
    """A key on its way (``key``: one of a priority binding, still to act on; None: one sent
    to a widget) and the keys that arrived after it."""

    key: events.Key | None
    waiting: deque[events.Key] = field(default_factory=deque)
    since: float = field(default_factory=time.monotonic)


class KeysInOrder:
    """The app's side of keys in order: mixed in before ``textual.app.App``."""

    _key_hold: KeyHold | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if not event.is_forwarded:  # from the terminal
                await self._take_keys(deque((event,)))
                return
            if isinstance(event, HeldKey):  # back up from the focused widget
                event.stop()
                hold = self._key_hold
                if hold is not None and hold.key is not None:
                    after_pending(self._key_target(), partial(self._act_on_held, hold))
                return
        await super().on_event(event)  # type: ignore[misc]

    def _key_target(self) -> MessagePump:
        """Where Textual sends a key: the focused widget, else the screen."""
        return self.focused or self.screen  # type: ignore[attr-defined]

    def _has_priority_binding(self, key: str) -> bool:
        """A binding the app runs before the focused widget sees the key (F5, Ctrl+S ...)."""
        chain = self.screen._binding_chain  # type: ignore[attr-defined]
        return any(binding.priority for _, bindings in chain
                   for binding in bindings.key_to_bindings.get(key, ()))

    async def _take_keys(self, keys: deque[events.Key]) -> None:
        """Send ``keys`` on in order, as far as none is held; the rest wait behind it."""
        while keys:
            hold = self._key_hold
            if hold is not None:
                hold.waiting.extend(keys)
                if time.monotonic() - hold.since >= HOLD_LIMIT:
                    await self._give_up(hold)
                return
            await self._send_key(keys.popleft())

    def keys_moving(self) -> None:
        """A key of the burst ahead of the held one is done (a TextField passed it on after a
        Tab): the hold's HOLD_LIMIT counts from now, so a long burst on a loaded machine is
        not cut short while its keys still make their way."""
        if self._key_hold is not None:
            self._key_hold.since = time.monotonic()

    async def _give_up(self, hold: KeyHold) -> None:
        """``hold``'s follow-up never came back (HOLD_LIMIT since the last key ahead of it
        was done): act on its key now, then the keys after it go on."""
        if self._key_hold is not hold:
            return  # done meanwhile
        waited = time.monotonic() - hold.since
        if waited < HOLD_LIMIT:  # keys ahead of it were still moving: wait on
            self.set_timer(HOLD_LIMIT - waited,  # type: ignore[attr-defined]
                           partial(self._give_up, hold))
            return
        self._key_hold = None
        if hold.key is not None:
            key, hold.key = hold.key, None
            await super().on_event(key)  # type: ignore[misc]
        await self._take_keys(hold.waiting)

    async def _send_key(self, key: events.Key) -> None:
        """One key: held when it has a priority binding, else to the focused widget as
        Textual sends it (held back until it is done there when that is not a TextField)."""
        if self._has_priority_binding(key.key):
            self.app_focus = True  # type: ignore[attr-defined] # as Textual does for a key
            hold = self._key_hold = KeyHold(key)
            self.set_timer(HOLD_LIMIT, partial(self._give_up, hold))  # type: ignore[attr-defined]
            target = self._key_target()
            target._forward_event(HeldKey(key.key, key.character))
            return
        focused = self.focused  # type: ignore[attr-defined]
        await super().on_event(key)
        if not isinstance(focused, TextField):
            hold = self._key_hold = KeyHold(None)
            after_pending(focused or self.screen,  # type: ignore[attr-defined]
                          partial(self._release, hold))

    async def _act_on_held(self, hold: KeyHold) -> None:
        """Everything before the held key is done: now its binding (Textual's handling of
        the key, as if it had just arrived), then the keys after it once it is done too."""
        if self._key_hold is not hold or hold.key is None:
            return  # given up on (HOLD_LIMIT) and acted on already
        key, hold.key = hold.key, None
        try:
            await super().on_event(key)
        finally:
            after_pending(self._key_target(), partial(self._release, hold))

    async def _release(self, hold: KeyHold) -> None:
        """The key of ``hold`` is done: the keys that waited for it go on."""
        if self._key_hold is not hold:
            return
        self._key_hold = None
        await self._take_keys(hold.waiting)
