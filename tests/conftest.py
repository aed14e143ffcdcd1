"""Shared fixtures. The suite never writes to the user's cache: NNFS_CACHE_DIR points at a
temporary directory for the whole session."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("NNFS_CACHE_DIR", tempfile.mkdtemp(prefix="nnfs-test-cache-"))


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST, loaded once per test session."""
    from engine.data import load_dataset

    return load_dataset("mnist")


@pytest.fixture(scope="session")
def mnist_small():
    """A seeded 3,000-sample training subset of MNIST with a 500-sample validation split."""
    from engine.data import load_dataset

    return load_dataset("mnist", subset=3000, val_fraction=500 / 60000, seed=0)

os.environ.setdefault("NNFS_RUNS_DIR", tempfile.mkdtemp(prefix="nnfs-test-runs-"))
# No test may reach the real Fashion-MNIST mirrors: point them at a closed local port.
os.environ.setdefault("NNFS_FASHION_MIRRORS", "http://127.0.0.1:9/")
