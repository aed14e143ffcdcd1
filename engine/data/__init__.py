"""Datasets: the IDX reader, the bundled SHA-256-checked MNIST and downloaded Fashion-MNIST."""

from engine.data.cache import DatasetCache
from engine.data.datasets import (
    MNIST_DIR,
    MNIST_SHA256,
    Dataset,
    cache_dir,
    check_dataset_source,
    load_dataset,
)
from engine.data.download import FASHION_MNIST_CLASSES, fetch_fashion_mnist
from engine.data.idx import read_idx

__all__ = [
    "FASHION_MNIST_CLASSES",
    "MNIST_DIR",
    "MNIST_SHA256",
    "Dataset",
    "DatasetCache",
    "cache_dir",
    "check_dataset_source",
    "fetch_fashion_mnist",
    "load_dataset",
    "read_idx",
]
