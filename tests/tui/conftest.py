"""Fixtures of the app's tests: a small seeded MNIST subset loaded once, an app factory, and
a runner for ``async def`` tests (no pytest plugin needed)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import pytest

from engine.data import Dataset, load_dataset
from nnfs_tui.app import NNFSApp, create_app
from tests.tui.helpers import SMALL


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    """The split SMALL describes, loaded once for the whole session."""
    return load_dataset("mnist", subset=SMALL.subset, val_fraction=SMALL.val_fraction,
                        seed=SMALL.seed)


@pytest.fixture
def make_app(small_dataset: Dataset) -> Callable[..., NNFSApp]:
    """``make_app(epochs=5, ...)``: the app on the small dataset, timing text hidden."""

    def make(**changes: object) -> NNFSApp:
        return create_app(SMALL.replace(**changes), dataset=small_dataset, timing=False)

    return make
