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


@pytest.fixture(scope="session")
def ckpt_bytes(tmp_path_factory, mnist_small) -> bytes:
    """A real Adam checkpoint saved mid-epoch (so it has a permutation), 784-4-10: what the
    hostile-files tests mutate."""
    from engine import TrainConfig, Trainer
    from engine.events import BatchEnded

    cfg = TrainConfig(hidden_sizes=(4,), epochs=2, subset=3000, batch_size=500,
                      optimizer="adam")
    trainer = Trainer(cfg, mnist_small)

    def stop_in_epoch_two(event: object) -> None:
        if isinstance(event, BatchEnded) and event.epoch == 2:
            trainer.stop()

    trainer.on_event = stop_in_epoch_two
    trainer.run()
    assert trainer.state.epoch == 1 and trainer.state.position
    return trainer.save(tmp_path_factory.mktemp("ck") / "c.npz").read_bytes()
