"""Sweep around this (engine.sweep.around): the sweep dialog's text around one run and the
ranges brushed on the parallel coordinates; every prefill is a sweep plan() accepts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.config import MAX_LAYER_SIZE, TrainConfig, format_field
from engine.runs import RunInfo
from engine.runs.parallel import Brush, build_axes
from engine.sweep import Search, parse_grid, parse_sample, parse_vary, plan
from engine.sweep.around import SweepPrefill, brushed_range, neighbour_sizes, sweep_around

RUN = TrainConfig(hidden_sizes=(128, 64), learning_rate=0.003, optimizer="adam", epochs=3)


def planned(prefill: SweepPrefill):
    """The trials of a prefill, as the dialog plans them (and its search, checked)."""
    items = [parse_vary(line) for line in prefill.vary]
    trials = plan(prefill.base, items, prefill.samples.split(), prefill.trials, prefill.seed)
    search = Search(prefill.base, parse_grid(items),
                    dict(parse_sample(s) for s in prefill.samples.split()),
                    search=prefill.search,
                    budget=int(prefill.budget) if prefill.budget else None,
                    trials=int(prefill.trials), seed=int(prefill.seed))
    return trials, search


def test_around_a_run_the_learning_rate_is_sampled_on_a_log_range_and_widths_are_a_grid():
    prefill = sweep_around(RUN)
    assert prefill.vary == ("hidden_sizes: 64,32 128,64 256,128",)
    assert prefill.samples == "learning_rate=log:0.001:0.009"
    assert (prefill.search, prefill.trials, prefill.budget) == ("grid", "3", "")
    trials, search = planned(prefill)
    assert len(trials) == search.total == 9
    assert {t.config.hidden_sizes for t in trials} == {(64, 32), (128, 64), (256, 128)}
    assert all(0.001 <= t.config.learning_rate <= 0.009 for t in trials)
    assert len({t.config.learning_rate for t in trials}) == 9
    # everything else is the run's own config
    assert {t.config.replace(hidden_sizes=RUN.hidden_sizes, learning_rate=RUN.learning_rate)
            for t in trials} == {RUN}


def test_the_dialogs_fields_by_id():
    prefill = sweep_around(RUN, seed=7)
    assert prefill.texts() == {"sample": "learning_rate=log:0.001:0.009", "trials": "3",
                               "seed": "7", "search": "grid", "budget": "", "prune": "none"}


@pytest.mark.parametrize(("sizes", "expected"), [
    ((1,), ["1", "2"]),                                    # half of 1 is still 1
    ((MAX_LAYER_SIZE,), [str(MAX_LAYER_SIZE // 2), str(MAX_LAYER_SIZE)]),
    ((3, 1), ["2,1", "3,1", "6,2"]),
])
def test_neighbouring_widths_stay_inside_the_fields_bounds(sizes, expected):
    assert neighbour_sizes(sizes) == expected
    trials, _ = planned(sweep_around(RUN.replace(hidden_sizes=sizes)))
    assert sorted({format_field("hidden_sizes", t.config.hidden_sizes) for t in trials}) \
        == sorted(expected)


def test_a_learning_rate_at_the_top_of_its_range_is_not_swept_beyond_it():
    prefill = sweep_around(RUN.replace(learning_rate=900.0))
    assert prefill.samples == "learning_rate=log:300:1000"
    assert all(t.config.learning_rate <= 1000 for t in planned(prefill)[0])


def runs_of(*configs: TrainConfig) -> list[RunInfo]:
    return [RunInfo(name=f"r{i}", path=Path("/nowhere"), status="completed", config=c,
                    test_acc=0.9 + i / 100) for i, c in enumerate(configs)]


SWEPT = runs_of(RUN.replace(learning_rate=1e-4, optimizer="sgd", batch_size=32, dropout=0.0),
                RUN.replace(learning_rate=1e-3, optimizer="momentum", batch_size=64,
                            dropout=0.2, hidden_sizes=(64,)),
                RUN.replace(learning_rate=1e-2, optimizer="adam", batch_size=256,
                            dropout=0.5, hidden_sizes=(256,)))
AXES = build_axes(SWEPT)


def test_a_brushed_learning_rate_replaces_the_range_around_the_run():
    prefill = sweep_around(RUN, AXES, [Brush("learning_rate", 0.5, 1.0)])
    assert prefill.samples == "learning_rate=log:0.001:0.01"
    trials, _ = planned(prefill)
    assert all(1e-3 <= t.config.learning_rate <= 1e-2 for t in trials)


def test_brushed_categories_become_a_grid_of_the_categories_inside():
    optimizer = next(a for a in AXES if a.name == "optimizer")
    assert optimizer.categories == ("adam", "momentum", "sgd")
    prefill = sweep_around(RUN, AXES, [Brush("optimizer", 0.4, 1.0),
                                       Brush("hidden_sizes", 0.0, 0.5)])
    hidden = next(a for a in AXES if a.name == "hidden_sizes")
    assert hidden.categories == ("64", "256", "128,64")  # one layer before two
    assert prefill.vary == ("optimizer: momentum sgd", "hidden_sizes: 64 256")
    trials, _ = planned(prefill)
    assert {(t.config.optimizer, t.config.hidden_sizes) for t in trials} == {
        (o, h) for o in ("momentum", "sgd") for h in ((64,), (256,))}


def test_brushed_numbers_in_field_units_whole_numbers_as_a_grid():
    prefill = sweep_around(RUN, AXES, [Brush("batch_size", 0.0, 0.5),
                                       Brush("dropout", 0.2, 0.6)])
    batch = next(a for a in AXES if a.name == "batch_size")
    assert (batch.low, batch.high) == (32, 256)
    assert "batch_size: 32 88 144" in prefill.vary  # 32 .. 144, ends and middle
    assert "dropout=uniform:0.1:0.3" in prefill.samples.split()
    # 3 widths x 3 batch sizes x 3 draws: more than the budget, so a random search
    assert (prefill.search, prefill.budget) == ("random", "12")
    _, search = planned(prefill)
    asked = [search.ask() for _ in range(search.total)]
    assert {t.config.batch_size for t in asked} <= {32, 88, 144}
    assert all(0.1 <= t.config.dropout <= 0.3 for t in asked)


def test_a_brush_narrowed_to_one_value_fixes_that_field():
    prefill = sweep_around(RUN, AXES, [Brush("learning_rate", 0.5, 0.5)])
    assert "learning_rate: 0.001" in prefill.vary
    assert "learning_rate" not in prefill.samples
    assert {t.config.learning_rate for t in planned(prefill)[0]} == {0.001}


def test_the_score_and_unknown_axes_vary_nothing():
    plain = sweep_around(RUN)
    assert sweep_around(RUN, AXES, [Brush("score", 0.5, 1.0), Brush("nonsense", 0, 1),
                                    Brush("weight_decay", 0, 1)]) == plain


def test_too_many_combinations_become_a_random_search_of_the_budget():
    prefill = sweep_around(RUN, AXES, [Brush("optimizer", 0, 1), Brush("batch_size", 0, 1)],
                           budget=12)
    # 3 optimizers x 3 batch sizes x 3 widths x 3 draws would be 81 trials
    assert (prefill.search, prefill.budget, prefill.trials) == ("random", "12", "1")
    trials, search = planned(prefill)
    assert search.total == 12
    asked = [search.ask() for _ in range(12)]
    assert all(t is not None and 3e-3 / 3 <= t.config.learning_rate <= 9e-3 for t in asked)


@pytest.mark.parametrize("position", [0.0, 0.13, 0.5, 0.77, 1.0])
def test_every_brush_edge_gives_values_the_field_accepts(position):
    for axis in AXES:
        if axis.name == "score":
            continue
        values, spec = brushed_range(axis, Brush(axis.name, position, min(1.0, position + 0.2)))
        if spec is None:
            parse_grid([(axis.name, values)])
        else:
            parse_sample(f"{axis.name}={spec}")


def test_rounding_never_leaves_the_fields_range():
    runs = runs_of(RUN.replace(beta2=0.999), RUN.replace(beta2=0.99999))
    axes = build_axes(runs)
    beta2 = next(a for a in axes if a.name == "beta2")
    assert beta2.value_at(1.0) == "1"  # four digits round 0.99999 up, past beta2's 0.999999
    values, spec = brushed_range(beta2, Brush("beta2", 0.0, 1.0))
    low, high = (float(x) for x in spec.split(":")[1:])
    assert (low, high) == (0.999, 0.999999) and math.isfinite(low)
    parse_sample(f"beta2={spec}")
