"""A small model trained once per test session, for the Inspect and Draw screens' tests, and
a host app that shows one screen over a blank default screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from textual.app import App
from textual.screen import Screen

from engine.config import TrainConfig
from engine.data import Dataset, load_dataset
from engine.events import LayerStats
from engine.network import MLP
from engine.training import Trainer

#: Two epochs on 3,000 images: about 89% test accuracy in a fraction of a second.
MODEL_CONFIG = TrainConfig(hidden_sizes=(32,), subset=3000, epochs=2, batch_size=64,
                           optimizer="adam", learning_rate=0.005, seed=0)


@dataclass(frozen=True)
class TrainedModel:
    network: MLP
    """The trained network (tests that change it must use a copy)."""
    dataset: Dataset
    """The dataset it trained on; its test set is the full 10,000 images."""
    layer_history: tuple[LayerStats, ...]
    """The LayerStats the trainer reported, one per epoch."""


@cache
def trained_model() -> TrainedModel:
    """Train MODEL_CONFIG once; every caller gets the same model."""
    dataset = load_dataset("mnist", subset=MODEL_CONFIG.subset, seed=MODEL_CONFIG.seed)
    events: list[object] = []
    trainer = Trainer(MODEL_CONFIG, dataset, on_event=events.append, threads=1)
    trainer.run()
    history = tuple(e for e in events if isinstance(e, LayerStats))
    return TrainedModel(trainer.network, dataset, history)


class ScreenHost(App[None]):
    """An empty app that pushes ``make_screen()`` once it runs (Esc pops back to it)."""

    def __init__(self, make_screen: Callable[[], Screen]) -> None:
        super().__init__()
        self.make_screen = make_screen

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())
