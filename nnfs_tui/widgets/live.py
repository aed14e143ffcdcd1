"""What the widgets that show a run as it trains have in common: they redraw only while
their screen is on top."""

from __future__ import annotations

from textual.dom import NoScreen


class LiveView:
    """Mixin for a widget that shows a run live (progress line, curves, digits, log).

    While another screen covers its screen (the help screen or a dialog, which show it
    dimmed behind them; Runs, Inspect, Draw) it keeps taking data but holds its redraws
    back: each redraw of a covered screen repaints the whole top screen through its dimming
    filter (about 40 ms at 120x40), which a fast run would do several times a second, in
    the time of the keys. Its screen calls :meth:`catch_up` once it is on top again (the
    progress line's also once a second while it is covered).
    """

    _held_back = False

    def redraw_soon(self) -> None:
        """Show the new data now when the widget's screen is on top, else on catch_up."""
        try:
            on_top = self.screen.is_active  # type: ignore[attr-defined]
        except NoScreen:  # not mounted yet: nothing to hold back for
            on_top = True
        if on_top:
            self._held_back = False
            self.redraw()
        else:
            self._held_back = True

    def catch_up(self) -> None:
        """Draw what was held back, if anything."""
        if self._held_back:
            self._held_back = False
            self.redraw()

    def redraw(self) -> None:
        """Show the current data (a widget's own redraw goes here)."""
        self.refresh()  # type: ignore[attr-defined]
