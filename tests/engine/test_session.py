"""The run session: the one place a run is started, controlled and recorded."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from engine import events as ev
from engine.checkpoint import load_checkpoint
from engine.config import TrainConfig
from engine.errors import ConfigError, DatasetError
from engine.events import LiveChange
from engine.runs import RunStore
from engine.schedules import lr_factor
from engine.session import RunSession

CONFIG = TrainConfig(hidden_sizes=(8,), subset=2000, val_fraction=0.1, epochs=2, seed=3,
                     schedule="constant")  # the rate does not depend on the epochs planned


def test_a_session_replays_controls_asked_for_before_its_trainer_exists(
        mnist_small) -> None:
    """F6, a live change and F7 pressed while the data still loads reach the run."""
    config = TrainConfig(hidden_sizes=(8,), subset=2000, val_fraction=0.1, epochs=1)
    release = threading.Event()
    events: list = []

    def slow_data(_config: TrainConfig):  # noqa: ANN202
        release.wait(5)
        return mnist_small

    session = RunSession(config, dataset=slow_data, on_event=events.append)
    session.pause()
    session.change(LiveChange("learning_rate", 0.05))
    with pytest.raises(ValueError, match="learning_rate: -1"):
        session.change(LiveChange("learning_rate", -1.0))
    worker = threading.Thread(target=session.run)
    worker.start()
    release.set()
    while not any(isinstance(e, ev.Paused) for e in events):
        worker.join(0.01)
    assert session.trainer.config.learning_rate == 0.05
    session.stop()
    worker.join(5)
    assert events[-1].status == "stopped" and events[-1].step == 0
    stopped = RunSession(config, dataset=mnist_small, on_event=events.append)
    stopped.stop()
    assert stopped.run().status == "stopped" and stopped.trainer.state.step == 0


def test_a_run_whose_data_cannot_load_leaves_no_record(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    session = RunSession(CONFIG.replace(dataset=str(tmp_path / "nowhere")), store=store)
    assert session.path is not None and session.path.is_dir()  # named from the start
    with pytest.raises(DatasetError):
        session.run()
    assert store.list() == [] and session.name is None and session.done.is_set()


def test_a_config_the_data_refuses_leaves_no_record(tmp_path, mnist_small) -> None:
    store = RunStore(tmp_path)
    session = RunSession(CONFIG.replace(batch_size=5000), dataset=mnist_small, store=store)
    with pytest.raises(ConfigError, match="batch_size"):
        session.run()
    assert store.list() == []


def test_continuing_a_checkpoint_for_more_epochs_ends_where_one_long_run_ends(
        tmp_path, mnist_small) -> None:
    store = RunStore(tmp_path)
    straight = RunSession(CONFIG, dataset=mnist_small, store=store, name="straight")
    straight.run()
    first = RunSession(CONFIG.replace(epochs=1), dataset=mnist_small, store=store, name="a")
    first.run()
    ckpt = load_checkpoint(first.path / "final.npz")
    more = RunSession(CONFIG, checkpoint=ckpt, dataset=mnist_small, store=store, name="b")
    finished = more.run()
    assert finished.epochs_completed == 2
    for key, value in straight.trainer.network.params.items():
        np.testing.assert_array_equal(more.trainer.network.params[key], value, err_msg=key)
    record = json.loads((more.path / "run.json").read_text())
    assert record["continued_from"]["epoch"] == 1 and store.load("b").continued_from > 0
    assert len(store.load("b").metrics()) == 2  # the record holds the epochs it continued


def test_a_checkpoint_is_continued_only_by_the_run_it_describes(mnist_small) -> None:
    trainer_state = RunSession(CONFIG.replace(epochs=1), dataset=mnist_small)
    trainer_state.run()
    ckpt = trainer_state.trainer.training_state()
    with pytest.raises(ConfigError, match="hidden_sizes"):
        RunSession(CONFIG.replace(hidden_sizes=(16,)), checkpoint=ckpt)
    faster = RunSession(CONFIG.replace(learning_rate=0.01), checkpoint=ckpt,
                        dataset=mnist_small)
    faster.run()
    assert faster.trainer.config.learning_rate == 0.01


def test_a_crash_while_training_marks_the_record_failed(tmp_path, mnist_small) -> None:
    store = RunStore(tmp_path)

    def explode(event: ev.Event) -> None:
        if isinstance(event, ev.EpochEnded):
            raise RuntimeError("boom")

    session = RunSession(CONFIG, dataset=mnist_small, store=store, name="crash",
                         on_event=explode)
    with pytest.raises(RuntimeError):
        session.run()
    info = store.load("crash")
    assert info.status == "failed" and "boom" in json.loads(
        (info.path / "run.json").read_text())["reason"]


def test_continuing_a_finished_cosine_run_can_restart_its_schedule(tmp_path,
                                                                   mnist_small) -> None:
    """The added epochs train from the full rate down again (not at the ~0 the run ended
    at); the restart is in the record's config, so a rerun from scratch repeats the
    continued run's rates step for step."""
    config = CONFIG.replace(schedule="cosine", learning_rate=0.01)
    first = RunSession(config, dataset=mnist_small)
    assert first.run().status == "completed"
    checkpoint = load_checkpoint(first.save(tmp_path / "first.npz"))
    store = RunStore(tmp_path / "runs")
    events: list = []
    more = config.replace(epochs=4, lr_restart=2.0)
    assert RunSession(more, checkpoint=checkpoint, dataset=mnist_small, store=store,
                      on_event=events.append).run().status == "completed"
    batches = [e for e in events if isinstance(e, ev.BatchEnded)]
    assert batches[0].epoch == 3 and batches[0].lr == pytest.approx(0.01)
    n_train = len(mnist_small.x_train)  # each rate is set where its batch starts
    assert [e.lr for e in batches] == pytest.approx(
        [0.01 * lr_factor("cosine", e.epoch - 1 + (e.batch - 1) * config.batch_size / n_train,
                          4, restart=2.0) for e in batches], rel=1e-6)
    assert batches[-1].lr < 0.0002  # down again at the end
    (record,) = store.list()
    assert record.config == more
    rerun: list = []
    RunSession(record.config, dataset=mnist_small, on_event=rerun.append).run()
    again = [e for e in rerun if isinstance(e, ev.BatchEnded) and e.epoch > 2]
    assert [e.lr for e in again] == [e.lr for e in batches]
