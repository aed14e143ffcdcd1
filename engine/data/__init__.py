"""Datasets: the IDX reader and the bundled, SHA-256-checked MNIST."""

from engine.data.datasets import MNIST_DIR, MNIST_SHA256, Dataset, cache_dir, load_dataset
from engine.data.idx import read_idx

__all__ = ["MNIST_DIR", "MNIST_SHA256", "Dataset", "cache_dir", "load_dataset", "read_idx"]
