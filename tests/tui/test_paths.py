"""Path dialogs (save, export): a directory saves inside it, Tab completes, the field opens
with its value selected and the file name of a long path in view."""

from __future__ import annotations

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input

from nnfs_tui.dialogs import SaveModelDialog
from nnfs_tui.dialogs.checkpoint import LoadCheckpointDialog
from nnfs_tui.widgets.path_field import complete_path
from tests.tui.helpers import wait_for


class DialogApp(App[None]):
    """Pushes one dialog; what it returns is kept in ``results``."""

    def __init__(self, dialog: Screen) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


def test_complete_path_completes_one_match_and_the_common_part_of_several(tmp_path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "model-a.npz").touch()
    (tmp_path / "model-b.npz").touch()
    assert complete_path(f"{tmp_path}/ru") == (f"{tmp_path}/runs/", ["runs"])
    assert complete_path(f"{tmp_path}/mo") == (f"{tmp_path}/model-", ["model-a.npz",
                                                                      "model-b.npz"])
    assert complete_path(f"{tmp_path}/zz") == (f"{tmp_path}/zz", [])
    assert complete_path(f"{tmp_path}/nowhere/x") == (f"{tmp_path}/nowhere/x", [])


async def test_a_directory_saves_inside_it_under_the_default_name(tmp_path) -> None:
    default = tmp_path / "run-1" / "manual-20260101.npz"
    (tmp_path / "elsewhere").mkdir()
    app = DialogApp(SaveModelDialog(default))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = str(tmp_path / "elsewhere")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results, "the dialog's result")
    assert app.results == [tmp_path / "elsewhere" / "manual-20260101.npz"]


async def test_tab_completes_the_path_and_lists_several_matches(tmp_path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "model-a.npz").touch()
    (tmp_path / "model-b.npz").touch()
    app = DialogApp(SaveModelDialog(tmp_path / "x.npz"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dialog = app.screen
        field = dialog.query_one(Input)
        field.value = f"{tmp_path}/che"
        await pilot.press("tab")
        assert field.value == f"{tmp_path}/checkpoints/" and field.has_focus
        field.value = f"{tmp_path}/mo"
        await pilot.press("tab")
        assert field.value == f"{tmp_path}/model-"
        assert "model-a.npz" in dialog.error and "model-b.npz" in dialog.error
        await pilot.press("a", "tab", "enter")  # model-a.npz exists: asks before replacing
        assert "exists" in dialog.error


async def test_the_field_opens_selected_with_the_file_name_in_view(tmp_path) -> None:
    deep = tmp_path.joinpath(*["a-long-directory-name"] * 6)
    app = DialogApp(SaveModelDialog(deep / "manual-20260101-120000.npz"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.has_focus and field.selected_text == field.value
        await pilot.pause()
        shown = field.render_line(0).text
        assert "manual-20260101-120000.npz" in shown
        await pilot.press("m")  # typing replaces the whole value
        assert field.value == "m"


async def test_tab_completes_the_path_in_the_load_dialog(tmp_path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "best.npz").touch()
    (tmp_path / "run-1" / "final.npz").touch()
    (tmp_path / "run-2").mkdir()
    app = DialogApp(LoadCheckpointDialog())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        dialog = app.screen
        field = dialog.query_one(Input)
        await pilot.press(*str(tmp_path / "run-"), "tab")
        assert field.value == f"{tmp_path}/run-" and field.has_focus
        assert "run-1" in dialog.error and "run-2" in dialog.error
        await pilot.press("1", "tab", "b", "tab")
        assert field.value == f"{tmp_path}/run-1/best.npz"
        await pilot.press("enter")  # an empty file: refused inline, the dialog stays
        await pilot.pause()
        assert app.screen is dialog and dialog.error
