"""nnfs-train: flags, exit codes, one-line errors, --json, --save/--resume and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.checkpoint import load_checkpoint
from engine.cli import FLAG_GROUPS, build_parser, config_from_args, main
from engine.config import APPLIES_WHEN, FIELDS, PRESETS, field_applies, format_field
from engine.optimizers import OPTIMIZERS

FAST = ["--subset", "2000", "--hidden", "16", "--epochs", "2", "--quiet"]


def test_tutorial_flags_start_from_the_tutorial_network():
    args = build_parser().parse_args(
        ["--activation", "sigmoid", "--optimizer", "momentum", "--l_rate", "4"])
    config, _ = config_from_args(args)
    assert config == PRESETS["seed"].replace(learning_rate=4.0)
    assert config.hidden_sizes == (64,) and config.momentum == 0.9


def test_beta_is_the_momentum_and_batch_size_keeps_its_underscore():
    args = build_parser().parse_args(["--beta", "0.8", "--batch_size", "32"])
    config, _ = config_from_args(args)
    assert config.momentum == 0.8 and config.batch_size == 32


def test_without_tutorial_flags_the_default_preset_is_used():
    config, _ = config_from_args(build_parser().parse_args(["--hidden", "256,128"]))
    assert config == PRESETS["default"].replace(hidden_sizes=(256, 128))



@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_spelling_of_a_fields_flag_sets_that_field(name):
    """The flags come from the field specs; each spelling reaches the config."""
    value = format_field(name, getattr(PRESETS["fast"], name) if name != "dataset"
                         else "fashion-mnist")
    for flag in FIELDS[name].flags:
        _, given = config_from_args(build_parser().parse_args([flag, value]))
        assert set(given) == {name}, flag


def test_help_lists_every_field_flag_once_under_one_heading(capsys):
    listed = [name for names in FLAG_GROUPS.values() for name in names]
    assert sorted(listed) == sorted(FIELDS)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for spec in FIELDS.values():
        assert all(flag in text for flag in spec.flags)
        assert spec.flag_help is None or " ".join(spec.flag_help.split()) in text

@pytest.mark.parametrize(("argv", "message"), [
    (["--l_rate", "abc"], "nnfs-train: error: learning_rate: abc is not valid; expected a "
                          "finite number in (0, 1000]"),
    (["--epochs", "3.5"], "nnfs-train: error: epochs: 3.5 is not valid"),
    (["--hidden", "64,,32"], "nnfs-train: error: hidden_sizes: 64,,32 is not valid"),
    (["--preset", "turbo"], "nnfs-train: error: preset: turbo is not valid"),
    (["--frobnicate"], "nnfs-train: error: unrecognized arguments: --frobnicate"),
    (["--threads", "0"], "nnfs-train: error: threads: 0 is not valid"),
    (["--dataset", "/no/such/dir"], "nnfs-train: error: /no/such/dir: unknown dataset"),
    (["--batch_size", "5000", "--subset", "1000"], "nnfs-train: error: batch_size: 5000 is "
                                                   "not valid; expected at most"),
    (["--l_rate", "0"], "nnfs-train: error: learning_rate: 0 is not valid"),  # as typed
    (["--dropout", "1"], "nnfs-train: error: dropout: 1 is not valid"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_json_prints_one_object_per_epoch(capsys):
    assert main(FAST[:-1] + ["--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) >= {"epoch", "epoch_seconds", "train_loss", "train_acc", "val_loss",
                            "val_acc", "test_loss", "test_acc", "lr"}
    assert 0.3 < rows[-1]["test_acc"] <= 1


def test_epoch_lines_follow_the_tutorial(capsys):
    assert main(FAST[:-1]) == 0
    out = capsys.readouterr().out
    assert "Epoch: 1/2, Time Spent: " in out and "Test Accuracy: " in out
    assert "completed: 2 epochs" in out


def test_a_one_epoch_run_says_epoch(capsys):
    assert main(FAST[:4] + ["--epochs", "1"]) == 0
    assert "completed: 1 epoch, " in capsys.readouterr().out


def test_flags_the_optimizer_ignores_are_named_in_a_warning(capsys):
    assert main(FAST + ["--optimizer", "sgd", "--beta1", "0.8", "--beta", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "nnfs-train: warning: beta1 has no effect with optimizer sgd\n" in err
    assert "nnfs-train: warning: momentum has no effect with optimizer sgd\n" in err
    assert main(FAST + ["--optimizer", "adam", "--beta1", "0.8"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_what_applies_to_an_optimizer_is_what_it_uses():
    for name, cls in OPTIMIZERS.items():
        for field, (decider, _) in APPLIES_WHEN.items():
            if decider == "optimizer":
                assert field_applies(field, {"optimizer": name}) == (field in cls.hyper_names), (
                    name, field)


def test_save_to_a_place_that_cannot_be_written_is_refused_before_training(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["--epochs", "50", "--save", "/proc/nnfs-test.npz", "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnfs-train: error: --save /proc/nnfs-test.npz: cannot write in /proc")
    assert not runs.exists()  # refused before a run was started, let alone trained
    assert main(["--save", str(tmp_path), "--runs-dir", str(runs)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # the write check leaves nothing behind


def test_save_then_resume_for_more_epochs(tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert main(FAST + ["--save", str(path)]) == 0
    assert path.exists()
    capsys.readouterr()
    assert main(["--resume", str(path), "--epochs", "3", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [r["epoch"] for r in rows] == [3]


def test_resume_refuses_architecture_changes(tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert main(FAST + ["--save", str(path)]) == 0
    assert main(["--resume", str(path), "--hidden", "32"]) == 2
    assert "hidden_sizes cannot change" in capsys.readouterr().err


def test_resume_of_a_broken_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 nope")
    assert main(["--resume", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nnfs-train: error: {path}: ") and err.count("\n") == 1


def test_divergence_exits_1_with_the_reason(capsys):
    argv = ["--subset", "2000", "--hidden", "32", "--optimizer", "sgd", "--activation",
            "leaky_relu", "--lr", "1000", "--schedule", "constant", "--epochs", "1"]
    assert main(argv) == 1
    assert "diverged" in capsys.readouterr().out


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                           (signal.SIGHUP, 129)])
def test_signals_stop_at_the_next_batch_save_record_and_exit(tmp_path, sig, code):
    path = tmp_path / "interrupted.npz"
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--subset", "2000", "--hidden", "16",
         "--epochs", "10000", "--json", "--save", str(path), "--runs-dir", str(runs),
         "--name", "signalled"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()  # the first epoch is done: training is under way
        assert json.loads(first)["epoch"] == 1
        proc.send_signal(sig)
        started = time.monotonic()
        proc.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    assert elapsed < 5  # the promise to people on a dropped connection
    assert load_checkpoint(path).loop["step"] > 0
    run = json.loads((runs / "signalled" / "run.json").read_text())
    assert run["status"] == "stopped" and (runs / "signalled" / "final.npz").exists()
    if sig != signal.SIGHUP:
        assert "received, stopping at the next batch" in proc.stderr.read()


def test_resume_can_restart_the_schedule_for_the_added_epochs(tmp_path, capsys):
    path = tmp_path / "run.npz"
    runs = tmp_path / "runs"
    assert main(FAST + ["--schedule", "cosine", "--save", str(path), "--no-record"]) == 0
    capsys.readouterr()
    assert main(["--resume", str(path), "--epochs", "4", "--restart-schedule", "--json",
                 "--runs-dir", str(runs)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [r["epoch"] for r in rows] == [3, 4]
    (config_file,) = runs.glob("*/config.json")
    assert json.loads(config_file.read_text())["lr_restart"] == 2.0
    assert main(["--restart-schedule", "--epochs", "2"]) == 2  # nothing to restart
    assert "--restart-schedule restarts the schedule of a run continued with --resume" in (
        capsys.readouterr().err)
