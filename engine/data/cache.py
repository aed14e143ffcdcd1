"""The last split loaded, kept for the next run of the same data (the app loads MNIST once)."""

from __future__ import annotations

import threading
from collections.abc import Hashable

from engine.config import TrainConfig
from engine.data.datasets import Dataset, load_dataset


class DatasetCache:
    """``cache(config)`` gives the dataset a config trains on: ``given`` when one was given
    (tests, notebooks), else the split of the last call when its source, validation share,
    subset and seed are the same, else a newly loaded one. Safe from any thread; a
    :class:`~engine.session.RunSession` takes it as its ``dataset``."""

    def __init__(self, given: Dataset | None = None) -> None:
        self.given: Dataset | None = given
        """A dataset used for every config as it is (None: load per config)."""
        self._lock = threading.Lock()
        self._last: tuple[Hashable, Dataset] | None = None

    def __call__(self, config: TrainConfig) -> Dataset:
        if self.given is not None:
            return self.given
        key = (config.dataset, config.val_fraction, config.subset, config.seed)
        with self._lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
        # loaded outside the lock: a slow download must not block a reader of the cache
        dataset = load_dataset(config.dataset, val_fraction=config.val_fraction,
                               subset=config.subset, seed=config.seed)
        with self._lock:
            self._last = (key, dataset)
        return dataset
