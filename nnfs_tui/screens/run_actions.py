"""The Runs screen's actions on one run or two: rerun, load into the form, open the model,
diff, delete and export, and the :class:`RunsResult` the screen closes with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.config import TrainConfig
from engine.errors import NNFSError
from engine.events import LiveChange
from engine.runs import RunInfo, RunStore, diff_configs
from nnfs_tui.dialogs import ConfigDiffDialog, ConfirmDialog, ExportDialog

if TYPE_CHECKING:
    from textual.app import App

    from nnfs_tui.dialogs.sweep import SweepSettings
    from nnfs_tui.widgets.overlay_plot import RunStyle

Action = Literal["rerun", "load_config", "open_checkpoint", "sweep"]


@dataclass(frozen=True)
class RunsResult:
    """What the Runs screen asks the app to do when it closes with a result."""

    action: Action
    """rerun: start a run with exactly ``config`` (same seed, same result);
    load_config: put ``config`` into the form; open_checkpoint: load ``checkpoint``;
    sweep: start the sweep ``sweep`` (planned around the run)."""
    config: TrainConfig
    """The run's config as recorded (config.json)."""
    run_name: str
    """The run it came from."""
    run_path: Path
    """That run's directory."""
    checkpoint: Path | None = None
    """open_checkpoint: the run's final.npz (best.npz when there is no final)."""
    live_changes: tuple[LiveChange, ...] = ()
    """Hyperparameters the run changed while it trained, with their steps, in order; a
    rerun passes them to ``RunSession(planned_changes=...)`` to repeat the run exactly."""
    sweep: SweepSettings | None = None
    """sweep: the checked sweep the dialog started from the run (and the brushes)."""


class RunActions:
    """The run actions of :class:`~nnfs_tui.screens.runs.RunsScreen` (mixed into it: they
    use its store, runs, selection and highlighted run, and close it with a RunsResult)."""

    if TYPE_CHECKING:  # provided by RunsScreen
        app: App[Any]
        store: RunStore
        runs: list[RunInfo]
        selected: dict[str, RunStyle]
        last_export: Path | None

        @property
        def highlighted(self) -> RunInfo | None: ...
        @property
        def shown_runs(self) -> list[RunInfo]: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def dismiss(self, result: RunsResult | None = None) -> Any: ...
        def reload(self, *, announce: bool = False) -> None: ...
        def _show(self) -> None: ...
        def _by_name(self) -> dict[str, RunInfo]: ...

    def _current(self, what: str) -> RunInfo | None:
        run = self.highlighted
        if run is None:
            self.notify(f"No run to {what}.", title="Runs", severity="warning")
        return run

    def _finish(self, action: Action) -> None:
        run = self._current({"rerun": "rerun", "load_config": "load",
                             "open_checkpoint": "open"}[action])
        if run is None:
            return
        if run.config is None:
            self.notify(f"{run.name} has no readable config ({run.problem or 'missing'}).",
                        title="Runs", severity="error")
            return
        if action == "rerun" and run.continued_from is not None:
            self.notify(f"{run.name} continued a checkpoint from step {run.continued_from}: "
                        "a rerun from the first step would not repeat it. Open the checkpoint "
                        "it continued (Ctrl+O) and continue that instead.",
                        title="Rerun", severity="warning", timeout=8)
            self.app.bell()
            return
        checkpoint = None
        if action == "open_checkpoint":
            checkpoint = next((run.path / name for name in ("final.npz", "best.npz")
                               if (run.path / name).is_file()), None)
            if checkpoint is None:
                self.notify(f"{run.name} has no saved model (final.npz or best.npz).",
                            title="Runs", severity="error")
                return
        self.dismiss(RunsResult(action, run.config, run.name, run.path, checkpoint,
                                run.live_changes))

    def action_rerun(self) -> None:
        """r: close and start a run with exactly this run's config (same seed, same result)."""
        self._finish("rerun")

    def action_load_config(self) -> None:
        """l: close and put this run's config into the form."""
        self._finish("load_config")

    def action_open_checkpoint(self) -> None:
        """o: close and load this run's final model (to inspect it or train on)."""
        self._finish("open_checkpoint")

    def action_diff(self) -> None:
        """d: the config fields the two selected runs differ in."""
        if len(self.selected) != 2:
            self.notify(f"Select exactly two runs with Space to compare their configs "
                        f"({len(self.selected)} selected).", title="Diff", severity="warning")
            return
        runs = self._by_name()
        left, right = (runs[name] for name in self.selected)
        self.app.push_screen(ConfigDiffDialog(diff_configs(left, right), left, right))

    def action_delete(self) -> None:
        """x / Delete: remove the run's directory, after a confirmation."""
        run = self._current("delete")
        if run is None:
            return
        if run.status == "running":
            self.notify(f"{run.name} is still running: stop it first.", title="Delete",
                        severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(run)

        self.app.push_screen(ConfirmDialog(
            f"Delete run {run.name}?",
            f"This removes {run.path}\nwith its config, metrics and checkpoints. "
            "It cannot be undone."), answered)

    def _delete(self, run: RunInfo) -> None:
        try:
            self.store.delete(run.name)
        except (OSError, NNFSError) as exc:
            self.notify(f"Cannot delete {run.name}: {exc}", title="Delete", severity="error")
        else:
            self.notify(f"Deleted {run.name}.", title="Delete", timeout=3)
        self.selected.pop(run.name, None)
        self.runs = [r for r in self.runs if r.name != run.name]  # at once; then re-read
        self._show()
        self.reload()

    def action_export(self) -> None:
        """e: write the rows on screen (filtered, sorted) to a CSV file."""
        rows = self.shown_runs
        if not rows:
            self.notify("No runs to export.", title="Export", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            try:
                out = self.store.export_csv(path, rows)
            except (OSError, NNFSError) as exc:
                self.notify(str(exc), title="Export failed", severity="error")
                return
            self.last_export = out
            self.notify(f"{len(rows)} run{'s' * (len(rows) != 1)} written to {out}",
                        title="Exported")

        self.app.push_screen(ExportDialog(Path.cwd() / "nnfs-runs.csv", rows=len(rows)), chosen)
