"""The app's widgets, one per file: form, plots, progress line, digit viewer, log."""

from nnfs_tui.widgets.digits import DigitViewer
from nnfs_tui.widgets.form import HyperparameterForm
from nnfs_tui.widgets.log import RunLog
from nnfs_tui.widgets.plots import AccuracyPlot, LossPlot
from nnfs_tui.widgets.progress import ProgressLine

__all__ = ["AccuracyPlot", "DigitViewer", "HyperparameterForm", "LossPlot", "ProgressLine",
           "RunLog"]
