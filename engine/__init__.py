"""nnfs-tui's engine: a from-scratch NumPy MLP, its optimizers and a headless training loop.

Never imports textual, rich or plotext (the CLI alone uses rich, lazily).

    from engine import TrainConfig, Trainer
    result = Trainer(TrainConfig(epochs=2)).run()
"""

from engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from engine.config import FIELDS, LIVE_FIELDS, PRESETS, TrainConfig, parse_field, preset
from engine.data import Dataset, load_dataset
from engine.errors import CheckpointError, ConfigError, DatasetError, NNFSError
from engine.events import (
    BatchEnded,
    EpochEnded,
    HyperparametersChanged,
    LayerStats,
    LiveChange,
    Paused,
    Resumed,
    RunFinished,
    RunStarted,
)
from engine.metrics import confusion_matrix, evaluate, per_class_accuracy, predict
from engine.network import MLP
from engine.optimizers import OPTIMIZERS, Optimizer, make_optimizer
from engine.runs import RunStore
from engine.schedules import lr_factor
from engine.session import RunSession
from engine.training import Trainer, build_network, build_optimizer

__all__ = [
    "BatchEnded", "Checkpoint", "CheckpointError", "ConfigError", "Dataset", "DatasetError",
    "EpochEnded", "FIELDS", "HyperparametersChanged", "LIVE_FIELDS", "LayerStats", "MLP",
    "LiveChange", "NNFSError", "RunSession", "RunStore",
    "OPTIMIZERS", "Optimizer", "PRESETS", "Paused", "Resumed", "RunFinished", "RunStarted",
    "TrainConfig", "Trainer", "build_network", "build_optimizer", "confusion_matrix",
    "evaluate", "load_checkpoint", "load_dataset", "lr_factor", "make_optimizer",
    "parse_field", "per_class_accuracy", "predict", "preset", "save_checkpoint",
]
