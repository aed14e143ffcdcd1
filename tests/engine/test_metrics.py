"""Evaluation helpers against hand-counted answers and against the network itself."""

from __future__ import annotations

import io

import numpy as np
import pytest

from engine.cli import Reporter
from engine.config import TrainConfig
from engine.events import BatchEnded, RunStarted
from engine.metrics import confusion_matrix, evaluate, per_class_accuracy, predict, scale_pixels
from engine.network import MLP


def test_confusion_matrix_and_per_class_accuracy_by_hand():
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    cm = confusion_matrix(y_true, y_pred, 4)
    assert cm.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    acc = per_class_accuracy(cm)
    np.testing.assert_allclose(acc[:3], [0.5, 2 / 3, 1.0])
    assert np.isnan(acc[3])


def test_predict_and_evaluate_agree_with_the_network_on_uint8_pixels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(5000, 20), dtype=np.uint8)
    y = rng.integers(0, 3, 5000)
    net = MLP([20, 8, 3], seed=0)
    pred, probs = predict(net, x, chunk=777)
    direct = net.predict_proba(scale_pixels(x))
    np.testing.assert_allclose(probs, direct, rtol=1e-5)
    np.testing.assert_array_equal(pred, direct.argmax(axis=1))
    loss, acc = evaluate(net, x, y, chunk=999)
    assert acc == pytest.approx(np.mean(pred == y))
    assert loss == pytest.approx(-np.mean(np.log(direct[np.arange(5000), y])), rel=1e-4)


def test_evaluate_on_an_empty_set_is_nan_not_an_error():
    loss, acc = evaluate(MLP([4, 3], seed=0), np.zeros((0, 4), np.uint8), np.zeros(0))
    assert np.isnan(loss) and np.isnan(acc)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_shows_position_rate_and_eta():
    err = FakeTTY()
    rep = Reporter(as_json=False, quiet=False, out=io.StringIO(), err=err)
    rep(RunStarted(config=TrainConfig(epochs=2), n_train=1000, n_val=0, n_test=10,
                   batches_per_epoch=10, parameter_count=1, start_epoch=0))
    rep(BatchEnded(epoch=1, batch=5, batches_per_epoch=10, step=5, loss=0.5, accuracy=0.9,
                   lr=0.1, samples_per_second=500.0, elapsed=1.0))
    line = err.getvalue()
    assert "Epoch 1/2 [############............] 5/10" in line
    assert "500 samples/s" in line and "ETA 0:03" in line  # 1,500 samples left at 500/s


def test_no_progress_bar_when_not_a_terminal():
    err = io.StringIO()
    rep = Reporter(as_json=False, quiet=False, out=io.StringIO(), err=err)
    rep(BatchEnded(epoch=1, batch=5, batches_per_epoch=10, step=5, loss=0.5, accuracy=0.9,
                   lr=0.1, samples_per_second=500.0, elapsed=1.0))
    assert err.getvalue() == ""


def test_evaluate_can_hand_back_the_probabilities_it_computed():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(300, 12), dtype=np.uint8)
    y = rng.integers(0, 4, 300)
    net = MLP([12, 6, 4], seed=1)
    out = np.empty((300, 4), np.float32)
    assert evaluate(net, x, y, chunk=128, probs_out=out) == evaluate(net, x, y, chunk=128)
    np.testing.assert_allclose(out, predict(net, x)[1], rtol=1e-5)


def test_the_trainer_keeps_the_test_probabilities_of_its_last_epoch(mnist_small):
    from engine.training import Trainer

    trainer = Trainer(TrainConfig(hidden_sizes=(8,), epochs=1, subset=3000), mnist_small)
    trainer.run()
    expected = predict(trainer.network, mnist_small.x_test)[1]
    np.testing.assert_allclose(trainer.test_probs, expected, rtol=1e-5, atol=1e-7)
    assert trainer.history[-1]["test_acc"] == np.mean(
        trainer.test_probs.argmax(axis=1) == mnist_small.y_test)
