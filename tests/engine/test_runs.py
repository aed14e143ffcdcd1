"""The run store and sweeps: what is recorded, how it is listed, and what is refused."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from engine import ConfigError, TrainConfig, Trainer, load_checkpoint
from engine.cli import build_sweep_parser, main
from engine.events import BatchEnded, LiveChange
from engine.runs import RunStore, check_run_name, diff_configs, read_metrics
from engine.session import RunSession
from engine.sweep import expand, leaderboard, parse_sample, run_sweep

CONFIG = TrainConfig(hidden_sizes=(16,), epochs=2, batch_size=100, seed=0, subset=3000,
                     val_fraction=500 / 60000)


def record(store, config, dataset, name=None):
    session = RunSession(config, dataset=dataset, store=store, name=name)
    finished = session.run()
    return store.load(session.name), session.trainer, finished


def test_a_recorded_run_has_config_metrics_and_checkpoints(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    info, trainer, finished = record(store, CONFIG, mnist_small, "first")
    files = sorted(p.name for p in info.path.iterdir())
    assert files == ["best.npz", "config.json", "final.npz", "metrics.csv", "run.json"]
    assert info.status == "completed" and info.config == CONFIG
    assert info.epochs_completed == 2 and info.architecture == "784-16-10"
    assert info.test_acc == finished.test_acc
    rows = read_metrics(info.path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert info.best_val_acc == max(r["val_acc"] for r in rows)
    final = load_checkpoint(info.path / "final.npz")
    np.testing.assert_array_equal(final.params["W1"], trainer.network.params["W1"])
    assert load_checkpoint(info.path / "best.npz").loop["epoch"] == info.best_epoch


def test_rerunning_a_recorded_config_gives_the_same_result(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    info, _, first = record(store, CONFIG, mnist_small)
    again, _, second = record(store, info.config, mnist_small)
    assert second.test_acc == first.test_acc
    a = load_checkpoint(info.path / "final.npz").params["W1"]
    b = load_checkpoint(again.path / "final.npz").params["W1"]
    np.testing.assert_array_equal(a, b)


def test_a_diverged_run_is_recorded_but_never_saved_as_best(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    bad = CONFIG.replace(optimizer="sgd", learning_rate=1000.0, activation="leaky_relu",
                         schedule="constant")
    info, _, finished = record(store, bad, mnist_small)
    assert info.status == "diverged" and "non-finite" in info.reason
    assert not (info.path / "best.npz").exists()
    assert (info.path / "final.npz").exists()
    assert info.test_acc is None


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "..", "x" * 81, "a\x00b",
                                  "/abs"])
def test_unsafe_run_names_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="run name"):
        check_run_name(name)
    with pytest.raises(ConfigError):
        RunStore(tmp_path).create(CONFIG, name)
    assert not (tmp_path.parent / "escape").exists()


def test_half_written_and_foreign_directories_do_not_break_the_listing(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    record(store, CONFIG, mnist_small, "good")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text(CONFIG.to_json())
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{truncated")
    (tmp_path / ".tmp-dir").mkdir()
    runs = {r.name: r for r in store.list()}
    assert set(runs) == {"good", "half", "broken"}
    assert runs["good"].status == "completed"
    assert runs["half"].status == "incomplete" and "run.json" in runs["half"].problem
    assert runs["broken"].status == "incomplete"


def test_a_run_whose_process_died_is_shown_as_interrupted(tmp_path):
    store = RunStore(tmp_path)
    recorder = store.create(CONFIG, "crashed")
    meta = json.loads((recorder.path / "run.json").read_text())
    meta["pid"] = 2**22 + 12345  # above Linux's pid_max: no such process
    (recorder.path / "run.json").write_text(json.dumps(meta))
    assert store.load("crashed").status == "interrupted"


def test_delete_export_and_diff(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    a, _, _ = record(store, CONFIG, mnist_small, "a")
    b, _, _ = record(store, CONFIG.replace(learning_rate=1e-2, hidden_sizes=(8,)), mnist_small,
                     "b")
    diff = diff_configs(store.load("a"), store.load("b"))
    assert diff.changes == {"hidden_sizes": ([16], [8]), "learning_rate": (2e-3, 1e-2)}
    out = store.export_csv(tmp_path / "runs.csv")
    rows = list(csv.DictReader(out.open()))
    assert {r["name"] for r in rows} == {"a", "b"}
    assert all("nan" not in v.lower() for r in rows for v in r.values())
    store.delete("a")
    assert [r.name for r in store.list() if r.name in ("a", "b")] == ["b"]


def test_sweep_grid_times_samples_is_deterministic_and_log_uniform():
    sample = dict([parse_sample("learning_rate=log:1e-4:1e-1")])
    trials = expand(CONFIG, {"hidden_sizes": [(8,), (16,)]}, sample, trials=50, seed=1)
    assert len(trials) == 100
    lrs = np.array([t.config.learning_rate for t in trials])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    # log-uniform: about half the draws fall below the geometric middle 3.16e-3
    assert 0.3 < np.mean(lrs < 10**-2.5) < 0.7
    again = expand(CONFIG, {"hidden_sizes": [(8,), (16,)]}, sample, trials=50, seed=1)
    assert [t.config for t in again] == [t.config for t in trials]


@pytest.mark.parametrize("text", ["learning_rate=log:0:1", "learning_rate=gauss:1:2",
                                  "learning_rate=log:1e-2:1e-3", "colour=log:1:2",
                                  "activation=uniform:0:1", "dropout=uniform:0:5"])
def test_bad_sample_specs_are_refused(text):
    with pytest.raises(ConfigError):
        parse_sample(text)


def test_a_sweep_records_every_trial_and_ranks_them(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    base = CONFIG.replace(epochs=1)
    trials = expand(base, {"learning_rate": [1e-3, 1e-2]})
    runs = run_sweep(trials, store)
    assert len(store.list()) == 2 and all(r.status == "completed" for r in runs)
    ranked = leaderboard(runs)
    assert ranked[0].best_val_acc >= ranked[1].best_val_acc


def test_cli_records_runs_and_lists_them(tmp_path, capsys):
    runs_dir = str(tmp_path / "runs")
    argv = ["--subset", "1000", "--hidden", "8", "--epochs", "1", "--quiet",
            "--runs-dir", runs_dir, "--name", "cli-run"]
    assert main(argv) == 0
    assert main(["runs", "--runs-dir", runs_dir]) == 0
    out = capsys.readouterr().out
    assert "cli-run" in out and "784-8-10" in out and "completed" in out
    assert main(["runs", "--runs-dir", runs_dir, "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["name"] == "cli-run" and row["status"] == "completed"
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    csv_path = tmp_path / "one.csv"
    assert main(["runs", "--runs-dir", runs_dir, "--export", str(csv_path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 1 run to {csv_path}"


def test_cli_sweep(tmp_path, capsys):
    runs_dir = str(tmp_path / "runs")
    assert main(["sweep", "--subset", "1000", "--epochs", "1", "--runs-dir", runs_dir,
                 "--vary", "hidden_sizes", "8", "16", "--val-fraction", "0.01"]) == 0
    captured = capsys.readouterr()
    assert "trial 2/2 [hidden_sizes=16]" in captured.err
    assert captured.out.count("completed") == 2


def test_cli_sweep_names_its_trials_after_name_and_refuses_what_it_cannot_do(tmp_path,
                                                                             capsys):
    runs_dir = tmp_path / "runs"
    assert main(["sweep", "--subset", "1000", "--epochs", "1", "--runs-dir", str(runs_dir),
                 "--name", "lr-probe", "--val-fraction", "0.01"]) == 0
    err = capsys.readouterr().err
    assert "sweep lr-probe: 1 trial (grid search, pruning none), recorded in" in err
    assert "trial 1/1 completed" in err  # nothing varied: no empty brackets
    assert sorted(p.name for p in runs_dir.iterdir()) == ["lr-probe-000", "sweeps"]
    for flags in (["--no-record"], ["--save", str(tmp_path / "x.npz")]):
        assert main(["sweep", "--runs-dir", str(runs_dir), *flags]) == 2
        assert capsys.readouterr().err == (
            "nnfs-train: error: sweep trials are recorded runs; --save and --no-record do "
            "not apply\n")
    assert main(["sweep", "--runs-dir", str(runs_dir), "--resume", "nope"]) == 2
    assert "no sweep 'nope' to resume" in capsys.readouterr().err
    assert len(list(runs_dir.iterdir())) == 2
    assert main(["sweep", "--name", "../up", "--runs-dir", str(runs_dir)]) == 2
    assert "../up" in capsys.readouterr().err and len(list(runs_dir.iterdir())) == 2
    help_text = build_sweep_parser().format_help()
    assert "--no-record" not in help_text and "--save" not in help_text


def test_live_changes_are_logged_and_the_start_config_is_kept_for_reruns(tmp_path,
                                                                          mnist_small):
    store = RunStore(tmp_path)

    def on_event(event):
        if isinstance(event, BatchEnded) and event.step == 2:
            session.change(LiveChange("learning_rate", 0.01))

    session = RunSession(CONFIG, dataset=mnist_small, store=store, name="live",
                         on_event=on_event)
    session.run()
    info = store.load("live")
    assert info.config == CONFIG  # the start config: a rerun repeats the run
    meta = json.loads((info.path / "run.json").read_text())
    assert meta["live_changes"] == [{"field": "learning_rate", "value": 0.01, "step": 3,
                                     "epoch": 2 * 100 / 3000}]
    assert load_checkpoint(info.path / "final.npz").config.learning_rate == 0.01


def test_a_rerun_that_replays_the_recorded_live_changes_ends_with_the_same_weights(
        tmp_path, mnist_small):
    """Changed by hand mid-run (learning rate at step 3, batch size at step 7): replaying
    run.json's live changes repeats the run exactly, changes and all."""
    store = RunStore(tmp_path)

    def on_event(event):
        if isinstance(event, BatchEnded) and event.step == 2:
            session.change(LiveChange("learning_rate", 0.01))
        if isinstance(event, BatchEnded) and event.step == 6:
            session.change(LiveChange("batch_size", 64), LiveChange("dropout", 0.1))

    session = RunSession(CONFIG, dataset=mnist_small, store=store, name="by-hand",
                         on_event=on_event)
    session.run()
    info = store.load("by-hand")
    assert [(c.field, c.value, c.step) for c in info.live_changes] == [
        ("learning_rate", 0.01, 3), ("batch_size", 64, 7), ("dropout", 0.1, 7)]

    again = RunSession(info.config, dataset=mnist_small, store=store, name="replayed",
                       planned_changes=info.live_changes)
    again.run()
    for key, value in session.trainer.network.params.items():
        np.testing.assert_array_equal(again.trainer.network.params[key], value, err_msg=key)
    assert store.load("replayed").live_changes == info.live_changes


def test_live_changes_that_do_not_check_out_are_not_replayed(tmp_path, mnist_small):
    store = RunStore(tmp_path)
    record(store, CONFIG, mnist_small, "edited")
    meta_path = store.path_of("edited") / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["live_changes"] = [{"step": 2, "changes": {"learning_rate": -1}},
                            {"step": 3, "changes": {"hidden_sizes": [8]}},
                            {"step": "4", "changes": {"learning_rate": 0.1}},
                            "junk",
                            {"step": 5, "changes": {"momentum": 0.5}},
                            {"field": "dropout", "value": 2.0, "step": 6},
                            {"field": "dropout", "value": 0.2, "step": 7, "epoch": 0.3}]
    meta_path.write_text(json.dumps(meta))
    assert store.load("edited").live_changes == (LiveChange("momentum", 0.5, 5),
                                                 LiveChange("dropout", 0.2, 7, 0.3))
    with pytest.raises(ConfigError, match="hidden_sizes"):
        Trainer(CONFIG, mnist_small, planned_changes=[LiveChange("hidden_sizes", (8,), 3)])


def test_the_diff_of_two_runs_includes_the_changes_made_while_they_trained(tmp_path,
                                                                           mnist_small):
    store = RunStore(tmp_path)
    record(store, CONFIG, mnist_small, "plain")
    record(store, CONFIG.replace(epochs=3), mnist_small, "longer")
    meta_path = store.path_of("longer") / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["live_changes"] = [{"step": 31, "epoch": 1.0333, "changes": {"learning_rate": 0.5}}]
    meta_path.write_text(json.dumps(meta))

    diff = diff_configs(store.load("plain"), store.load("longer"))
    assert diff.changes == {"epochs": (2, 3)}
    assert diff.left_live == () and diff.live_changes_differ and not diff.identical
    [change] = diff.right_live
    assert change == LiveChange("learning_rate", 0.5, 31, 1.0333)
    assert change.describe() == "learning_rate → 0.5 at step 31 (epoch 1.0)"
    assert diff.summary() == "1 config field and the live changes differ"

    same = diff_configs(store.load("longer"), store.load("longer"))
    assert same.identical and same.summary() == "Identical: same config, same live changes"
    fields_only = diff_configs(store.load("plain"), store.load("plain"))
    fields_only.changes = {"epochs": (2, 3), "seed": (0, 1)}
    assert fields_only.summary() == "2 config fields differ"
