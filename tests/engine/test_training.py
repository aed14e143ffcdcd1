"""The training loop: events, controls from another thread, divergence, determinism, and a
real MNIST run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine import (
    BatchEnded,
    ConfigError,
    EpochEnded,
    HyperparametersChanged,
    Paused,
    Resumed,
    RunStarted,
    TrainConfig,
    Trainer,
    preset,
)

SMALL = TrainConfig(hidden_sizes=(32,), epochs=2, batch_size=100, learning_rate=3e-3, seed=0)


def run_collect(config, dataset, **kw):
    events = []
    trainer = Trainer(config, dataset, on_event=events.append, **kw)
    finished = trainer.run()
    return trainer, finished, events


def test_events_arrive_in_order_with_epoch_metrics(mnist_small):
    trainer, finished, events = run_collect(SMALL, mnist_small)
    assert isinstance(events[0], RunStarted) and events[0].n_train == 3000
    assert events[0].n_val == 500 and events[0].batches_per_epoch == 30
    assert events[-1] is finished and finished.status == "completed"
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2]
    assert sum(isinstance(e, BatchEnded) for e in events) == 60
    last = epochs[-1]
    assert 0.8 < last.test_acc <= 1 and 0.8 < last.val_acc <= 1 and 0.8 < last.train_acc <= 1
    assert last.train_loss < epochs[0].train_loss
    assert finished.test_acc == last.test_acc and finished.step == 60
    assert trainer.history == [e.to_dict() for e in epochs]


def test_batch_events_are_throttled_but_each_epoch_end_is_reported(mnist_small):
    _, _, events = run_collect(SMALL, mnist_small, batch_event_interval=3600)
    batches = [e for e in events if isinstance(e, BatchEnded)]
    # the first batch, then only each epoch's last batch
    assert [(e.epoch, e.batch) for e in batches] == [(1, 1), (1, 30), (2, 30)]
    assert batches[-1].epoch_progress == 2.0


def test_same_config_and_seed_give_identical_weights(mnist_small):
    config = SMALL.replace(dropout=0.2, epochs=1)
    a, _, _ = run_collect(config, mnist_small)
    b, _, _ = run_collect(config, mnist_small)
    c, _, _ = run_collect(config.replace(seed=1), mnist_small)
    for key in a.network.params:
        np.testing.assert_array_equal(a.network.params[key], b.network.params[key])
    assert not np.array_equal(a.network.params["W1"], c.network.params["W1"])


def test_stop_from_another_thread_ends_at_a_batch_boundary(mnist_small):
    trainer = Trainer(SMALL.replace(epochs=50), mnist_small)
    seen = threading.Event()

    def on_event(event):
        if isinstance(event, BatchEnded) and event.step == 5:
            seen.set()

    trainer.on_event = on_event
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert seen.wait(30)
    trainer.stop()
    worker.join(30)
    assert not worker.is_alive()
    assert trainer.state.status == "stopped" and 5 <= trainer.state.step < 1500


def test_pause_holds_the_loop_and_resume_continues(mnist_small):
    events = []
    trainer = Trainer(SMALL.replace(epochs=1), mnist_small, on_event=events.append)
    trainer.pause()
    worker = threading.Thread(target=trainer.run)
    worker.start()
    for _ in range(300):
        if any(isinstance(e, Paused) for e in events):
            break
        threading.Event().wait(0.01)
    step_when_paused = trainer.state.step
    threading.Event().wait(0.2)
    assert trainer.state.step == step_when_paused == 0
    trainer.resume()
    worker.join(30)
    assert any(isinstance(e, Resumed) for e in events)
    assert events[-1].status == "completed" and trainer.state.step == 30


def test_live_changes_apply_at_the_next_batch_and_are_reported(mnist_small):
    trainer = Trainer(SMALL.replace(epochs=1, schedule="constant"), mnist_small)
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, BatchEnded) and event.step == 3:
            trainer.set_hyperparameters(learning_rate=0.01, batch_size=50, dropout=0.1)

    trainer.on_event = on_event
    trainer.run()
    change = next(e for e in events if isinstance(e, HyperparametersChanged))
    assert change.step == 4
    assert change.values == {"learning_rate": 0.01, "batch_size": 50, "dropout": 0.1}
    assert {(c.step, c.epoch) for c in change.changes} == {(4, 0.1)}  # 300 of 3000 samples
    lrs = [e.lr for e in events if isinstance(e, BatchEnded)]
    assert lrs[:3] == [3e-3] * 3 and set(lrs[3:]) == {0.01}
    assert trainer.config.batch_size == 50 and trainer.config.learning_rate == 0.01
    # 3 batches of 100, then (3000 − 300) / 50 = 54 batches of 50
    assert trainer.state.step == 57


def test_bad_live_changes_are_refused_by_name(mnist_small):
    trainer = Trainer(SMALL, mnist_small)
    with pytest.raises(ConfigError, match="learning_rate: nan is not valid"):
        trainer.set_hyperparameters(learning_rate=float("nan"))
    with pytest.raises(ConfigError, match="hidden_sizes"):
        trainer.set_hyperparameters(hidden_sizes=(10,))
    with pytest.raises(ConfigError, match="batch_size: 5000 is not valid; expected at most"):
        trainer.set_hyperparameters(batch_size=5000)
    assert trainer.config == SMALL


def test_a_batch_larger_than_the_training_set_is_refused(mnist_small):
    with pytest.raises(ConfigError, match="batch_size: 4000 is not valid; expected at most "
                       "the training set size"):
        Trainer(SMALL.replace(batch_size=4000), mnist_small)


def test_divergence_stops_before_the_bad_update(mnist_small):
    config = SMALL.replace(optimizer="sgd", learning_rate=1000.0, activation="leaky_relu",
                           schedule="constant")
    trainer, finished, events = run_collect(config, mnist_small)
    assert finished.status == "diverged"
    assert "non-finite" in finished.reason and f"step {finished.step + 1}" in finished.reason
    assert "last finite loss" in finished.reason and finished.test_acc is None
    for value in trainer.network.params.values():
        assert np.isfinite(value).all()
    for e in events:
        if isinstance(e, BatchEnded):
            assert np.isfinite(e.loss)


def test_schedule_drives_the_learning_rate(mnist_small):
    config = SMALL.replace(schedule="step", lr_step_epochs=1, lr_gamma=0.1, epochs=2)
    _, _, events = run_collect(config, mnist_small)
    lrs = {e.epoch: e.lr for e in events if isinstance(e, BatchEnded)}
    assert lrs[1] == pytest.approx(3e-3) and lrs[2] == pytest.approx(3e-4)


@pytest.mark.slow
def test_seed_tutorial_network_learns_mnist(mnist):
    """The tutorial's sigmoid 784-64-10 with momentum and l_rate 4, on 20,000 samples."""
    from engine.data import load_dataset

    data = load_dataset("mnist", subset=20_000, seed=0)
    config = preset("seed").replace(learning_rate=4.0, epochs=3, subset=20_000)
    _, finished, _ = run_collect(config, data)
    assert finished.status == "completed"
    assert finished.test_acc >= 0.94


def test_a_change_made_while_paused_applies_to_the_first_batch_after_resuming(mnist_small):
    events = []
    trainer = Trainer(SMALL.replace(epochs=1, schedule="constant"), mnist_small,
                      on_event=events.append)
    paused = threading.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, BatchEnded) and event.step == 3:
            trainer.pause()
        if isinstance(event, Paused):
            paused.set()

    trainer.on_event = on_event
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert paused.wait(30)
    trainer.set_hyperparameters(learning_rate=0.01)
    trainer.resume()
    worker.join(30)
    change = next(e for e in events if isinstance(e, HyperparametersChanged))
    assert change.step == 4
    lrs = [e.lr for e in events if isinstance(e, BatchEnded)]
    assert lrs[:3] == [3e-3] * 3 and set(lrs[3:]) == {0.01}
