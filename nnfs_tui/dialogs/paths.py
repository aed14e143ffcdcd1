"""Dialogs that ask for a file to write: save the model, export the runs table.

Each returns the chosen :class:`~pathlib.Path` (``~`` expanded, relative paths resolved
against the working directory) or None when cancelled. A directory saves inside it under
the default file name; a path that cannot work (its directory is missing) is refused inline
with the reason; an existing file needs a second Enter to be replaced. Tab completes the path,
the field opens with its value selected and its end (the file name) in view.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from nnfs_tui.dialogs.form import FormDialog
from nnfs_tui.widgets.path_field import SHOWN_MATCHES, PathField


class PathError(ValueError):
    """Why a typed path cannot be used (shown under the field)."""


def default_save_path(run_dir: Path | None = None, now: datetime | None = None) -> Path:
    """``<run dir>/manual-<YYYYmmdd-HHMMSS>.npz`` for a recorded run, else ``./model.npz``."""
    if run_dir is None:
        return Path.cwd() / "model.npz"
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return run_dir / f"manual-{stamp}.npz"


def writable_file(text: str, suffix: str | None = None, default_name: str | None = None
                  ) -> Path:
    """The file a typed path names, checked for writing; raises PathError. A directory means
    ``default_name`` inside it (refused when there is none)."""
    text = text.strip()
    if not text:
        raise PathError("type a file name")
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        if not default_name:
            raise PathError(f"{path} is a directory; add a file name")
        path = path / default_name
    if suffix and path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        raise PathError(f"{path} is a directory; add a file name")
    if not path.parent.is_dir():
        raise PathError(f"directory {path.parent} does not exist")
    return path


class PathDialog(FormDialog[Path | None]):
    """Ask for a path to write; Enter accepts, Esc cancels."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    #: Appended when the typed name lacks it (None: any name).
    SUFFIX: str | None = None

    def __init__(self, title: str, default: str | Path, *, hint: str = "") -> None:
        super().__init__()
        self.title_text: str = title
        """Shown on the dialog's border."""
        self.default: str = str(default)
        """What the field holds at first."""
        self.hint: str = hint
        """One line under the field."""
        self._confirm_overwrite: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            box.border_subtitle = "Enter accepts · Esc cancels"
            yield PathField(self.default, id="path")
            yield Static("", id="path-error", classes="error", markup=False)
            if self.hint:
                yield Static(self.hint, classes="hint", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        field = self.query_one("#path", Input)
        field.focus()  # selects the value: typing replaces it, the cursor (at its end) shows
        # the file name of a long path

    def on_path_field_completed(self, event: PathField.Completed) -> None:
        """Several names matched a Tab: list them under the field."""
        if len(event.names) > 1:
            shown = "  ".join(event.names[:SHOWN_MATCHES])
            more = f"  (+{len(event.names) - SHOWN_MATCHES})" if len(
                event.names) > SHOWN_MATCHES else ""
            self.query_one("#path-error", Static).update(shown + more)

    @property
    def error(self) -> str:
        """The message under the field ("" when none)."""
        return str(self.query_one("#path-error", Static).render())

    def show_error(self, text: str) -> None:
        self.query_one("#path-error", Static).update(text)
        self.set_class(bool(text), "-invalid")

    def validate_path(self, text: str) -> Path:
        """The checked path, or PathError with the reason."""
        return writable_file(text, self.SUFFIX, Path(self.default).name or None)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._confirm_overwrite = None
        self.show_error("")

    def accept(self) -> None:
        """Check the typed path; close with it, or say what is wrong."""
        try:
            path = self.validate_path(self.query_one("#path", Input).value)
        except PathError as exc:
            self.show_error(str(exc))
            return
        if path.exists() and self._confirm_overwrite != path:
            self._confirm_overwrite = path
            self.show_error(f"{path.name} exists: Enter again replaces it")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SaveModelDialog(PathDialog):
    """Where to save the current model (a checkpoint .npz); returns the Path or None."""

    SUFFIX = ".npz"

    def __init__(self, default: str | Path | None = None) -> None:
        super().__init__("Save the model", default or default_save_path(),
                         hint="A checkpoint: weights, optimizer state, config and history "
                              "(resume or inspect it with Load).")


class ExportDialog(PathDialog):
    """Where to write the runs table as CSV; returns the Path or None."""

    SUFFIX = ".csv"

    def __init__(self, default: str | Path | None = None, *, rows: int | None = None) -> None:
        what = "the runs table" if rows is None else f"{rows} run{'s' * (rows != 1)}"
        super().__init__("Export runs to CSV", default or Path.cwd() / "nnfs-runs.csv",
                         hint=f"Writes {what} as shown: filtered and sorted.")
