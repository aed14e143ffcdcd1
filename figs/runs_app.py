"""The Runs screen alone, opened on a runs directory for a picture (used by the figs scripts).

    async with runs_screen(store, (120, 40)) as (app, pilot, screen):
        await pilot.press("p")
        out.write_text(app.export_screenshot(title=...))
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.app import App
from textual.pilot import Pilot

from engine.runs import RunStore
from nnfs_tui.screens.runs import RunsScreen


class RunsApp(App[None]):
    """An app that shows only the Runs screen of ``store`` (no timings: stable pictures)."""

    def __init__(self, store: RunStore) -> None:
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.store, timing=False))


@asynccontextmanager
async def runs_screen(store: RunStore, size: tuple[int, int]
                      ) -> AsyncIterator[tuple[RunsApp, Pilot, RunsScreen]]:
    """The Runs screen of ``store`` at ``size``, once it has read the store."""
    app = RunsApp(store)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()  # the screen reads the store in a worker
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.loaded
        yield app, pilot, screen
