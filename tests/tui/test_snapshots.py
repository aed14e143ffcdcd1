"""SVG snapshots of the screen at 80x24 and 120x40: idle, and after a short seeded run.

Timing text is hidden (``timing=False``), notifications are cleared and the run is seeded,
so the pictures only change when the app's looks do. After an intended change of looks:
``pytest tests/tui/test_snapshots.py --snapshot-update``, then review the SVGs.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.helpers import wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((110, 34), id="110x34"),
         pytest.param((120, 40), id="120x40")]


async def settled(pilot: Pilot) -> None:
    """Wait until the test images are shown and no plot has a redraw pending."""
    app = pilot.app
    await wait_for(pilot, lambda: app.train_screen.query("DigitViewer"), "the screen")
    screen = app.train_screen
    await wait_for(pilot, lambda: screen.digits.dataset is not None, "the test images")
    await wait_for(pilot, lambda: not (screen.loss_plot._redraw_pending
                                       or screen.accuracy_plot._redraw_pending),
                   "the plots to redraw")
    app.clear_notifications()
    # the focused field's cursor stays drawn: a blinking one made the pictures depend on
    # how long the tests before took
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_idle_screen(snap_compare, make_app, size) -> None:  # noqa: ANN001
    assert snap_compare(make_app(), terminal_size=size, run_before=settled)


async def finished_run(pilot: Pilot) -> None:
    app = pilot.app
    await settled(pilot)
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.run_state == "completed", "the run to complete")
    await wait_for(pilot, lambda: app.train_screen.digits.epoch == 2, "the final predictions")
    await settled(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_finished_run(snap_compare, make_app, size) -> None:  # noqa: ANN001
    """Two seeded epochs: curves, progress at 100%, the first test digit with its guess."""
    assert snap_compare(make_app(epochs=2), terminal_size=size, run_before=finished_run)
