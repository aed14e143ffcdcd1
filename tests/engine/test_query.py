"""The one filter language and sort order of recorded runs (engine.runs.query), shared by
``nnfs-train runs`` and the Runs screen; score(), finite_or_none() and architecture()."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import TrainConfig
from engine.numbers import finite_number, finite_or_none
from engine.runs import (
    RunInfo,
    RunStore,
    architecture,
    default_descending,
    matches,
    parse_filter,
    resolve_column,
    score,
    sort_runs,
)

BASE = TrainConfig(hidden_sizes=(16,), epochs=2, batch_size=128, seed=0)


def run(name: str, *, hidden: tuple[int, ...] = (16,), optimizer: str = "adam",
        learning_rate: float = 0.005, batch_size: int = 128, val: float | None = None,
        test: float | None = None, status: str = "completed", seconds: float = 10.0,
        config: bool = True) -> RunInfo:
    """A RunInfo as the store would read it, without training anything."""
    cfg = BASE.replace(hidden_sizes=hidden, optimizer=optimizer, learning_rate=learning_rate,
                       batch_size=batch_size)
    return RunInfo(name=name, path=Path("/nowhere") / name, status=status,
                   config=cfg if config else None, seconds=seconds, epochs_completed=2,
                   best_val_acc=val, test_acc=test,
                   architecture=architecture(cfg) if config else "")


RUNS = [  # newest first, as RunStore.list() gives them
    run("e-sgd", optimizer="sgd", learning_rate=0.1, test=0.91, val=0.90, seconds=5),
    run("d-wide", hidden=(256,), test=0.97, val=0.96, batch_size=64),
    run("c-diverged", optimizer="sgd", learning_rate=1000.0, status="diverged"),
    run("b-narrow", hidden=(8,), test=0.93),  # no validation split
    run("a-deep", hidden=(64, 32), test=0.95, val=0.97, seconds=100),
    run("20261128-131502-16-adam", test=0.97, val=0.95),
    run("broken", config=False, status="incomplete"),
]


def names(runs: list[RunInfo]) -> list[str]:
    return [r.name for r in runs]


def test_filter_words_must_all_occur_in_what_the_table_shows():
    assert names(r for r in RUNS if matches(r, "sgd")) == ["e-sgd", "c-diverged"]
    assert names(r for r in RUNS if matches(r, "SGD diverged")) == ["c-diverged"]
    assert names(r for r in RUNS if matches(r, "784-256-10")) == ["d-wide"]
    # the time stamp of a generated name is not searched: "1128" would match every run
    assert not [r for r in RUNS if matches(r, "1128")]
    assert names(r for r in RUNS if matches(r, "incomplete")) == ["broken"]


@pytest.mark.parametrize(("query", "expected"), [
    ("wide", ["d-wide"]),            # only in the name
    ("narrow adam", ["b-narrow"]),   # name and optimizer together
    ("20261128-131502-16-adam", ["20261128-131502-16-adam"]),  # a pasted run name
    ("20261128", ["20261128-131502-16-adam"]),  # a whole date finds that day's runs
    ("131502", []),                  # part of a time stamp does not
    ("-16-adam", ["20261128-131502-16-adam"]),
])
def test_filter_words_match_run_names(query, expected):
    assert names(r for r in RUNS if matches(r, query)) == expected


def test_cli_filter_matches_run_names(tmp_path, capsys):
    root = ["--runs-dir", str(recorded_store(tmp_path / "runs").root)]
    assert cli_names(capsys, *root, "--filter", "wide") == ["d-wide"]
    assert cli_names(capsys, *root, "--filter", "20261128-131502-16-adam") == [
        "20261128-131502-16-adam"]
    assert cli_names(capsys, *root, "--filter", "1128") == []


@pytest.mark.parametrize(("query", "expected"), [
    ("lr>=0.1", ["e-sgd", "c-diverged"]),
    ("lr>=1e-3 lr<0.01", ["d-wide", "b-narrow", "a-deep", "20261128-131502-16-adam"]),
    ("batch=64", ["d-wide"]),
    ("batch==64", ["d-wide"]),
    ("test>96", ["d-wide", "20261128-131502-16-adam"]),  # percent, as the table shows it
    ("test>96%", ["d-wide", "20261128-131502-16-adam"]),
    ("val>=96.5", ["a-deep"]),
    ("time>1:00", ["a-deep"]),
    ("status=diverged", ["c-diverged"]),
    ("status!=completed", ["c-diverged", "broken"]),
    ("test!=93", ["e-sgd", "d-wide", "c-diverged", "a-deep", "20261128-131502-16-adam",
                  "broken"]),  # a run without a value only satisfies !=
    ("opt=sgd arch=784-16-10", ["e-sgd", "c-diverged"]),
])
def test_terms_compare_one_column(query, expected):
    parsed = parse_filter(query)
    assert not parsed.problems
    assert names(r for r in RUNS if parsed.matches(r)) == expected


@pytest.mark.parametrize(("query", "problem"), [
    (">=1", ">=1: name a column first (e.g. lr>=1)"),
    ("lr>nan", "lr>nan: expected a finite number"),
    ("lr<inf", "lr<inf: expected a finite number"),
    ("lr>fast", "lr>fast: expected a finite number"),
    ("opt>adam", "opt>: only = and != for text"),
    ("colour=red", "colour: not a column (try act, arch, batch, epochs, lr, name, opt, "
                   "status, test, time, val)"),
])
def test_filter_mistakes_are_named_and_match_nothing(query, problem):
    parsed = parse_filter(query)
    assert parsed.problems == (problem,)
    assert not any(parsed.matches(r) for r in RUNS)


def test_sorting_puts_runs_without_a_value_last_in_either_direction():
    best_first = sort_runs(RUNS, "test_acc", descending=True)
    assert names(best_first) == ["d-wide", "20261128-131502-16-adam", "a-deep", "b-narrow",
                                 "e-sgd", "c-diverged", "broken"]  # ties keep their order
    worst_first = sort_runs(RUNS, "test_acc", descending=False)
    assert names(worst_first)[:5] == ["e-sgd", "b-narrow", "a-deep", "d-wide",
                                      "20261128-131502-16-adam"]
    assert names(worst_first)[5:] == ["c-diverged", "broken"]


def test_sorting_by_architecture_uses_the_layer_sizes_and_text_ignores_case():
    # layer by layer: 784-8-10, 784-16-10 (three, in the store's order), 784-64-32-10,
    # 784-256-10 (as text "784-256-10" would come before "784-64-32-10"), then no value
    assert names(sort_runs(RUNS, "architecture")) == [
        "b-narrow", "e-sgd", "c-diverged", "20261128-131502-16-adam", "a-deep", "d-wide",
        "broken"]
    upper = [run("B"), run("a"), run("C")]
    assert names(sort_runs(upper, "name")) == ["a", "B", "C"]


def test_no_column_keeps_the_stores_order_or_reverses_it():
    assert sort_runs(RUNS, None) == RUNS
    assert sort_runs(RUNS, None, descending=True) == RUNS[::-1]


def test_accuracies_sort_best_first_by_default_and_columns_have_short_names():
    assert default_descending("test_acc") and default_descending("best_val_acc")
    assert not default_descending("learning_rate") and not default_descending(None)
    assert resolve_column("lr") == "learning_rate" and resolve_column("test") == "test_acc"
    assert resolve_column("seconds") == "seconds"
    with pytest.raises(ValueError, match="colour"):
        resolve_column("colour")


def test_score_is_the_validation_accuracy_else_the_test_accuracy():
    assert score(0.9, 0.8) == 0.9
    assert score(None, 0.8) == 0.8
    assert score(None, None) is None
    assert score(math.nan, 0.8) is None  # a diverged epoch is not the best one
    assert RUNS[0].score == 0.90 and RUNS[3].score == 0.93 and RUNS[2].score is None


def test_finite_or_none_and_finite_number():
    assert finite_or_none(math.nan) is None and finite_or_none(-math.inf) is None
    assert finite_or_none(1.5) == 1.5 and finite_or_none("text") == "text"
    assert finite_or_none(None) is None and finite_or_none(3) == 3
    assert finite_number(3) == 3.0 and isinstance(finite_number(3), float)
    assert finite_number(True) is None and finite_number("1") is None
    assert finite_number(math.inf) is None


def test_architecture_is_inputs_hidden_sizes_classes():
    assert architecture(BASE) == "784-16-10"
    assert architecture(BASE.replace(hidden_sizes=(256, 64)), 3, 2) == "3-256-64-2"


# -- nnfs-train runs: the same filter and order ------------------------------------------

def recorded_store(root: Path) -> RunStore:
    """A store with RUNS on disk (run.json written by hand: nothing is trained)."""
    store = RunStore(root)
    for info in reversed(RUNS):  # oldest first, so started_at orders them as RUNS
        if info.config is None:
            (root / info.name).mkdir(parents=True)
            continue
        recorder = store.create(info.config, info.name)
        meta = json.loads((recorder.path / "run.json").read_text())
        meta.update(status=info.status, best_val_acc=info.best_val_acc,
                    test_acc=info.test_acc, seconds=info.seconds, epochs_completed=2,
                    started_at=f"2026-01-01T00:00:{len(list(root.iterdir())):02d}+00:00")
        (recorder.path / "run.json").write_text(json.dumps(meta))
    return store


def cli_names(capsys, *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["runs", *args, "--json"]) == 0
    return [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]


def test_cli_filters_and_sorts_as_the_query_module_does(tmp_path, capsys):
    store = recorded_store(tmp_path / "runs")
    listed = store.list()
    assert names(listed) == names(RUNS)
    root = ["--runs-dir", str(store.root)]
    assert cli_names(capsys, *root) == names(RUNS)
    assert cli_names(capsys, *root, "--reverse") == names(RUNS[::-1])
    assert cli_names(capsys, *root, "--sort", "test_acc") == names(
        sort_runs(listed, "test_acc", descending=True))
    assert cli_names(capsys, *root, "--sort", "test", "--reverse") == names(
        sort_runs(listed, "test_acc", descending=False))
    assert cli_names(capsys, *root, "--sort", "lr") == names(
        sort_runs(listed, "learning_rate", descending=False))
    assert cli_names(capsys, *root, "--filter", "sgd lr>=0.1", "--sort", "lr") == [
        "e-sgd", "c-diverged"]
    assert cli_names(capsys, *root, "--filter", "test>96") == [
        "d-wide", "20261128-131502-16-adam"]


def test_cli_names_a_bad_filter_or_sort_column(tmp_path, capsys):
    store = recorded_store(tmp_path / "runs")
    assert main(["runs", "--runs-dir", str(store.root), "--filter", "lr>nan"]) == 2
    assert "lr>nan: expected a finite number" in capsys.readouterr().err
    assert main(["runs", "--runs-dir", str(store.root), "--sort", "colour"]) == 2
    assert "colour" in capsys.readouterr().err
