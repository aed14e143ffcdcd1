"""The sweep dialog's own check accepts what "sweep around this" (engine.sweep.around)
fills it with, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import TrainConfig
from engine.runs import RunInfo
from engine.runs.parallel import Brush, build_axes
from engine.sweep.around import sweep_around
from nnfs_tui.dialogs.sweep import check_sweep

RUN = TrainConfig(hidden_sizes=(128, 64), learning_rate=0.003, epochs=3)
RUNS = [RunInfo(name=f"r{i}", path=Path("/nowhere"), status="completed", test_acc=0.9,
                config=RUN.replace(learning_rate=lr, optimizer=opt, batch_size=batch))
        for i, (lr, opt, batch) in enumerate([(1e-4, "sgd", 32), (1e-2, "adam", 256),
                                              (1e-3, "momentum", 64)])]


@pytest.mark.parametrize("brushes", [
    [],
    [Brush("learning_rate", 0.2, 0.7)],
    [Brush("optimizer", 0.5, 1.0), Brush("batch_size", 0.0, 0.3)],
    [Brush("optimizer", 0.0, 1.0), Brush("batch_size", 0.0, 1.0), Brush("score", 0, 1)],
])
def test_the_dialog_accepts_the_prefill_as_it_stands(brushes):
    prefill = sweep_around(RUN, build_axes(RUNS), brushes)
    # the dialog's field ids, as its own check() passes them ("sample" is check_sweep's samples)
    texts = {("samples" if key == "sample" else key): value
             for key, value in prefill.texts().items()}
    settings = check_sweep(prefill.base, list(prefill.vary), **texts)
    assert settings.search == prefill.search
    assert settings.total == (int(prefill.budget) if prefill.budget
                              else len(settings.planned))
    assert "learning_rate" in settings.fields and 1 < settings.total <= 12
