"""The app's screens, one per file."""

from nnfs_tui.screens.help import HelpScreen
from nnfs_tui.screens.train import TrainScreen

__all__ = ["HelpScreen", "TrainScreen"]
