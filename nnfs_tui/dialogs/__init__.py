"""Modal dialogs, one per file; each returns a typed result through ``dismiss``."""

from nnfs_tui.dialogs.checkpoint import LoadCheckpointDialog
from nnfs_tui.dialogs.confirm import ConfirmDialog
from nnfs_tui.dialogs.diff import ConfigDiffDialog
from nnfs_tui.dialogs.paths import ExportDialog, PathDialog, SaveModelDialog, default_save_path
from nnfs_tui.dialogs.sort import SortMenu
from nnfs_tui.dialogs.sweep import SweepDialog

__all__ = ["ConfigDiffDialog", "ConfirmDialog", "ExportDialog", "LoadCheckpointDialog",
           "PathDialog", "SaveModelDialog", "SortMenu", "SweepDialog",
           "default_save_path"]
