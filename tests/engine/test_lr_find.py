"""The learning-rate range test: a ramp that finds a rate, stops on blow-up, touches no model."""

from __future__ import annotations

import json
import shlex
import threading

import numpy as np
import pytest

from engine.cli import build_lr_find_parser, build_parser, config_from_args, main
from engine.config import TrainConfig
from engine.lr_find import lr_find, ramp, smooth, suggest
from engine.training import Trainer

SMALL = TrainConfig(hidden_sizes=(32,), optimizer="adam", batch_size=64, seed=0)


def test_ramp_is_geometric_from_start_to_end():
    lrs = ramp(1e-5, 1e-1, 5)
    assert lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1e-1)
    assert np.allclose(lrs[1:] / lrs[:-1], 10.0)


def test_smoothing_is_a_bias_corrected_average():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    s = smooth([4.0, 0.0], beta=0.5)  # m = 2, then 1; corrected 2/0.5 = 4, 1/0.75
    assert s == pytest.approx([4.0, 4 / 3])


def test_suggestions_of_a_known_curve():
    lrs = np.logspace(-5, 0, 51)
    x = np.log10(lrs)
    loss = 2.0 - np.tanh(2 * (x + 3)) + np.where(x > -1.5, 50 * (x + 1.5) ** 2, 0.0)
    steepest, min_over_10 = suggest(lrs, loss)
    assert steepest == pytest.approx(1e-3, rel=0.3)  # tanh falls fastest at x = -3
    best = lrs[int(np.argmin(loss))]
    assert min_over_10 == pytest.approx(best / 10)


def test_a_ramp_on_small_data_finds_a_rate_inside_it(mnist_small):
    result = lr_find(SMALL, mnist_small, start_lr=1e-5, end_lr=10.0, batches=150, threads=1)
    assert result.suggestion is not None and result.steepest is not None
    assert result.lrs[0] < result.suggestion < result.lrs[-1]
    assert 1e-4 < result.suggestion < 1.0  # Adam on MNIST: neither the ramp's ends
    assert len(result.lrs) == len(result.losses) == len(result.smoothed)
    first, low = result.smoothed[0], min(result.smoothed)
    assert low < first * 0.5  # the loss did fall on the way up


def test_it_stops_early_when_the_loss_blows_up(mnist_small):
    config = SMALL.replace(optimizer="sgd")
    result = lr_find(config, mnist_small, start_lr=1e-3, end_lr=1e4, batches=200, threads=1)
    assert result.stopped_early and result.reason in ("loss blew up", "loss not finite")
    assert len(result.lrs) < 200
    assert result.lrs[-1] < 1e4


def test_the_model_being_trained_is_untouched(mnist_small):
    trainer = Trainer(SMALL.replace(epochs=1), mnist_small, threads=1)
    before = {k: v.copy() for k, v in trainer.network.params.items()}
    result = lr_find(SMALL, mnist_small, batches=60, params=trainer.network.params, threads=1)
    assert len(result.lrs) > 0
    for key, value in trainer.network.params.items():
        assert np.array_equal(value, before[key]), key


def test_same_config_same_curve(mnist_small):
    a = lr_find(SMALL, mnist_small, batches=40, threads=1)
    b = lr_find(SMALL, mnist_small, batches=40, threads=1)
    assert a.losses == b.losses and a.suggestion == b.suggestion


def test_should_stop_ends_it_between_batches(mnist_small):
    seen: list[int] = []
    stop = threading.Event()

    def on_batch(i: int, n: int) -> None:
        seen.append(i)
        if i == 5:
            stop.set()

    result = lr_find(SMALL, mnist_small, batches=100, should_stop=stop.is_set,
                     on_batch=on_batch, threads=1)
    assert result.reason == "stopped" and len(result.lrs) == 5 and seen[-1] == 5


def test_cli_prints_the_suggestion_and_json_the_curve(capsys):
    argv = ["lr-find", "--preset", "fast", "--subset", "2000", "--batches", "80",
            "--hidden", "32", "--threads", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "suggested learning_rate" in out and "steepest descent" in out
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["lrs"]) == len(data["smoothed"]) > 10
    assert data["suggestion"] == pytest.approx(data["min_over_10"])
    assert data["config"]["hidden_sizes"] == [32]


def _suggested_command(out: str) -> list[str]:
    """The arguments of the ``nnfs-train ...`` command printed after the suggestion."""
    line = next(line for line in out.splitlines() if line.startswith("suggested learning_rate"))
    command = shlex.split(line.split("(", 1)[1].rstrip(")"))
    assert command[0] == "nnfs-train"
    return command[1:]


@pytest.mark.parametrize("flags", [
    ["--preset", "fast", "--subset", "2000", "--hidden", "32"],
    ["--subset", "2000", "--batch_size", "32", "--l_rate", "0.5"],  # the tutorial's network
    ["--subset", "2000", "--hidden", "32", "--optimizer", "sgd"],  # the default preset
])
def test_cli_suggests_a_command_that_trains_the_same_model(capsys, flags):
    """The printed command trains the model that was tested, at the suggested rate."""
    argv = ["lr-find", *flags, "--batches", "60", "--threads", "1", "--quiet"]
    assert main(argv) == 0
    suggested = _suggested_command(capsys.readouterr().out)
    tested, _ = config_from_args(build_lr_find_parser().parse_args(argv[1:]))
    trained, _ = config_from_args(build_parser().parse_args(suggested))
    assert trained.learning_rate != tested.learning_rate
    assert trained == tested.replace(learning_rate=trained.learning_rate)
    assert suggested[-2] == "--lr" and suggested.count("--lr") == 1


def test_cli_refuses_what_does_not_apply(capsys):
    assert main(["lr-find", "--save", "x.npz"]) == 2
    assert "do not apply" in capsys.readouterr().err
    assert main(["lr-find", "--end-lr", "zero"]) == 2
