"""Save and open models: Ctrl+S writes the current run's model, Ctrl+O (or F2's "open")
reads a checkpoint to inspect it or to continue it. Both touch the disk in thread workers;
the train screen hears of the result through :class:`~nnfs_tui.messages.ModelSaved` and
:class:`~nnfs_tui.messages.CheckpointOpened`, which carry plain data, never a Trainer.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from engine.checkpoint import load_checkpoint, read_summary
from engine.errors import NNFSError
from engine.session import RunSession
from engine.training import Trainer
from nnfs_tui import messages as msg
from nnfs_tui.dialogs import LoadCheckpointDialog, SaveModelDialog, default_save_path

if TYPE_CHECKING:
    from nnfs_tui.controller import Post, RunController


class ModelFiles:
    """The controller's save and open actions (``controller.files``)."""

    def __init__(self, controller: RunController) -> None:
        self.controller: RunController = controller
        """Whose run is saved and whose loaded model an opened checkpoint becomes."""

    def save_model(self) -> None:
        """Ctrl+S: save the current model (mid-run too, at the next batch boundary)."""
        controller, app = self.controller, self.controller.app
        session = controller.session
        if session is None or session.trainer is None:
            app.log_line("Nothing to save yet: train a model first (F5).", "warning")
            return
        default = default_save_path(session.path)
        post = controller.screen.post_message

        def chosen(path: Path | None) -> None:
            if path is not None:
                app.run_worker(partial(self._save_model, session, path, post),
                               thread=True, group="save", exit_on_error=False)

        app.push_screen(SaveModelDialog(default), chosen)

    @staticmethod
    def _save_model(session: RunSession, path: Path, post: Post) -> None:
        """Saving mid-run waits for a batch boundary: never on the UI thread."""
        try:
            out = session.save(path, timeout=60)
        except (NNFSError, TimeoutError) as exc:
            post(msg.ModelSaved(path, error=str(exc)))
            return
        saved = read_summary(out)  # what is on disk, not what trains on
        post(msg.ModelSaved(out, epoch=saved.epoch, step=saved.step))

    def load_checkpoint(self) -> None:
        """Ctrl+O: choose a checkpoint to inspect it or to continue training it."""
        controller, app = self.controller, self.controller.app
        if controller.active:
            app.log_line("Stop the run (F7) before loading a checkpoint.", "warning")
            app.bell()
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.open_checkpoint(path)

        app.push_screen(LoadCheckpointDialog(controller.store), chosen)

    def open_checkpoint(self, path: Path) -> None:
        """Read the checkpoint at ``path`` (and its dataset) in a worker; the train screen
        shows it when it is ready."""
        controller, app = self.controller, self.controller.app
        if controller.active:
            app.log_line("Stop the run (F7) before opening a checkpoint.", "warning")
            return
        app.log_line(f"Opening {path}…")
        app.run_worker(partial(self._open_checkpoint, Path(path), controller.screen.post_message),
                       thread=True, exclusive=True, group="open", name="open",
                       exit_on_error=False)

    def _open_checkpoint(self, path: Path, post: Post) -> None:
        """Read the checkpoint, load its dataset and check the two fit together (a Trainer
        restored from it, then dropped): the screen receives data, not the Trainer."""
        try:
            checkpoint = load_checkpoint(path)  # read once: its config picks the dataset
            dataset = self.controller.dataset_for(checkpoint.config)
            trainer = Trainer.from_checkpoint(checkpoint, dataset, threads=1)
        except (NNFSError, OSError) as exc:
            post(msg.CheckpointOpened(path, None, error=str(exc)))
            return
        post(msg.CheckpointOpened(path, checkpoint.summary(path), checkpoint,
                                  trainer.snapshot().network, dataset))
