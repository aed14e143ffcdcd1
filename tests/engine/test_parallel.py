"""Parallel coordinates without drawing: axes of what varies, positions, brushing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.config import TrainConfig
from engine.runs import RunInfo
from engine.runs.parallel import Axis, Brush, brushed, build_axes, plot_data, positions


def run(name: str, acc: float | None, **changes: object) -> RunInfo:
    config = TrainConfig(hidden_sizes=(16,)).replace(**changes)
    return RunInfo(name=name, path=Path("/nowhere") / name, status="completed", config=config,
                   test_acc=acc)


RUNS = [run("a", 0.90, learning_rate=1e-4, optimizer="sgd"),
        run("b", 0.95, learning_rate=1e-3, optimizer="adam", hidden_sizes=(64,)),
        run("c", 0.97, learning_rate=1e-2, optimizer="adam", hidden_sizes=(128, 64))]


def test_axes_are_the_fields_that_vary_then_the_score():
    axes = build_axes(RUNS)
    assert [a.name for a in axes] == ["hidden_sizes", "optimizer", "learning_rate", "score"]
    kinds = {a.name: a.kind for a in axes}
    assert kinds == {"hidden_sizes": "category", "optimizer": "category",
                     "learning_rate": "log", "score": "linear"}
    assert axes[0].categories == ("16", "64", "128,64")  # sizes by number, not as text


def test_learning_rate_is_placed_on_a_log_scale():
    lr = next(a for a in build_axes(RUNS) if a.name == "learning_rate")
    assert [lr.position(v) for v in (1e-4, 1e-3, 1e-2)] == pytest.approx([0.0, 0.5, 1.0])
    assert lr.value_at(0.5) == "0.001"


def test_weight_decay_with_zeros_falls_back_to_linear():
    axes = build_axes([run("a", 0.9, weight_decay=0.0), run("b", 0.9, weight_decay=1e-3)])
    wd = next(a for a in axes if a.name == "weight_decay")
    assert wd.kind == "linear" and wd.position(0.0) == 0.0


def test_positions_per_run_and_missing_values():
    axes = build_axes(RUNS)
    pos = positions([*RUNS, run("d", None)], axes)
    assert pos[2] == pytest.approx([1.0, 0.0, 1.0, 1.0])
    assert pos[3][-1] is None  # no score: no place on that axis


def test_brushing_keeps_the_runs_inside_every_range():
    axes = build_axes(RUNS)
    high_lr = Brush("learning_rate", 0.4, 1.0)
    assert [r.name for r in brushed(RUNS, axes, [high_lr])] == ["b", "c"]
    good = Brush("score", 0.9, 1.0)
    assert [r.name for r in brushed(RUNS, axes, [high_lr, good])] == ["c"]
    assert [r.name for r in brushed(RUNS, axes, [Brush("dropout", 0, 0)])] == ["a", "b", "c"]


def test_moving_a_brush_edge_stays_in_range_and_never_inverts():
    b = Brush("score")
    assert b.moved("low", 0.3) == Brush("score", 0.3, 1.0)
    assert b.moved("high", 0.5) == Brush("score", 0.0, 1.0)
    narrow = Brush("score", 0.2, 0.4)
    assert narrow.moved("low", 0.5).low <= narrow.moved("low", 0.5).high
    shifted = narrow.moved("both", 0.7)
    assert (shifted.low, shifted.high) == pytest.approx((0.8, 1.0))


def test_category_axis_positions_and_labels():
    axis = Axis("optimizer", "category", categories=("adam", "momentum", "sgd"))
    assert axis.position("momentum") == 0.5 and axis.position("rmsprop") is None
    assert axis.value_at(1.0) == "sgd"


def test_plot_data_is_plain_json():
    data = plot_data(RUNS)
    assert [a["name"] for a in data["axes"]][-1] == "score"
    assert data["runs"][1]["name"] == "b" and math.isclose(data["runs"][1]["score"], 0.95)
    assert len(data["runs"][1]["positions"]) == len(data["axes"])


def test_runs_json_includes_the_score_config_and_axis_positions(tmp_path, capsys):
    import json

    from engine.cli import main
    from tests.engine.test_query import recorded_store

    recorded_store(tmp_path / "runs")
    assert main(["runs", "--runs-dir", str(tmp_path / "runs"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with_config = [r for r in rows if r["config"] is not None]
    assert with_config and all("learning_rate" in r["config"] for r in with_config)
    scored = [r for r in with_config if r["score"] is not None]
    assert scored and all(0.0 <= r["axes"]["score"] <= 1.0 for r in scored)
