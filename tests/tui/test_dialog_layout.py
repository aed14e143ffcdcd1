"""Dialogs sit in the middle of the screen, clear of the header, and nothing covers their key
hints (a notice still up from saving the model, say)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header

from nnfs_tui.dialogs.checkpoint import LoadCheckpointDialog, RestartScheduleDialog
from tests.tui.synthetic_runs import write_synthetic_runs


class BackdropApp(App[None]):
    """A header and a footer, as on every screen of the app, to open dialogs over."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Footer()


def restart_dialog() -> RestartScheduleDialog:
    return RestartScheduleDialog("cosine", 2, 4, ended_at=1e-6, restart_at=0.005, keep_at=0.0025)


async def test_the_continue_run_dialog_is_centred_below_the_header() -> None:
    app = BackdropApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(restart_dialog())
        await pilot.pause()
        box = app.screen.query_one(".dialog").region
        assert box.y > 1  # the header's row stays in view
        above, below = box.y, 24 - box.bottom
        assert abs(above - below) <= 1, (above, below)
        assert abs(box.x - (80 - box.right)) <= 1


async def test_a_notice_from_before_does_not_cover_the_load_dialogs_hints(tmp_path) -> None:
    app = BackdropApp()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.notify(f"Model saved to {tmp_path / 'model.npz'}", title="Saved", timeout=30)
        await pilot.pause()
        assert app.screen.query("Toast")  # the notice is up
        store = write_synthetic_runs(tmp_path / "runs")
        for run in store.list():
            (run.path / "best.npz").write_bytes(b"")  # listed (as unreadable): a tall dialog
        app.push_screen(LoadCheckpointDialog(store))
        await pilot.pause()
        await pilot.pause()
        box = app.screen.query_one(".dialog").region
        covering = [toast for toast in app.screen.query("Toast") if toast.region.overlaps(box)]
        assert not covering
