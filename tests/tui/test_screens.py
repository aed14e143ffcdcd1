"""What the screens show at the sizes a person uses: the log never cuts a line."""

from __future__ import annotations

from tests.tui.helpers import start_and_wait


def characters(text: str) -> str:
    """The text without white space: what wrapping (which may fold a long path) keeps."""
    return "".join(text.split())


async def test_the_log_wraps_every_line_again_when_its_width_changes(make_app) -> None:
    app = make_app(epochs=2)
    async with app.run_test(size=(110, 34)) as pilot:
        await start_and_wait(pilot, "completed")
        log = app.train_screen.log_view
        for size in ((110, 34), (120, 40), (80, 24), (110, 34)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause(0.3)
            if not log.display or log.size.width == 0:
                continue  # at 80x24 the log is one of the views (F3)
            shown = " ".join(strip.text for strip in log.lines)
            assert characters(shown) == characters(log.text), size  # nothing cut
            assert shown.rstrip().endswith("."), shown[-80:]
            width = log.scrollable_content_region.width
            too_wide = [s.text for s in log.lines if s.cell_length > width]
            assert not too_wide, (size, width, too_wide)  # drawn cut at the log's edge
