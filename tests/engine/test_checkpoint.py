"""Checkpoints: round trip, resume equivalence, and refusal of unsafe or malformed files."""

from __future__ import annotations

import json
import pickle
import threading
import zipfile

import numpy as np
import pytest

from engine import (
    BatchEnded,
    CheckpointError,
    TrainConfig,
    Trainer,
    load_checkpoint,
)
from engine.checkpoint import write_npz_atomic

CONFIG = TrainConfig(hidden_sizes=(16,), epochs=2, batch_size=64, dropout=0.2,
                     learning_rate=3e-3, seed=3)


def stop_at(trainer: Trainer, step: int) -> None:
    def on_event(event):
        if isinstance(event, BatchEnded) and event.step == step:
            trainer.stop()

    trainer.on_event = on_event


@pytest.mark.parametrize("stop_step", [20, 47, 80])
def test_interrupted_and_resumed_run_ends_with_the_same_weights(mnist_small, tmp_path,
                                                                 stop_step):
    """47 batches of 64 is exactly one epoch: that stop lands on an epoch boundary."""
    whole = Trainer(CONFIG, mnist_small)
    whole.run()

    first = Trainer(CONFIG, mnist_small)
    stop_at(first, stop_step)
    assert first.run().status == "stopped"
    path = first.save(tmp_path / "run.npz")

    resumed = Trainer.from_checkpoint(path, mnist_small)
    assert resumed.state.step == stop_step
    finished = resumed.run()
    assert finished.status == "completed" and finished.step == whole.state.step
    for key in whole.network.params:
        np.testing.assert_array_equal(resumed.network.params[key], whole.network.params[key])
    assert [h["test_acc"] for h in resumed.history] == [h["test_acc"] for h in whole.history]


def test_round_trip_keeps_config_history_and_optimizer_state(mnist_small, tmp_path):
    trainer = Trainer(CONFIG.replace(epochs=1), mnist_small)
    trainer.run()
    path = trainer.save(tmp_path / "model.npz")
    ckpt = load_checkpoint(path)
    assert ckpt.config == trainer.config and ckpt.sizes == (784, 16, 10)
    assert ckpt.history == trainer.history
    assert int(ckpt.optimizer_state["step"]) == trainer.optimizer.step_count
    np.testing.assert_array_equal(ckpt.optimizer_state["exp_avg/W1"],
                                  trainer.optimizer.state["exp_avg"]["W1"])
    assert not list(tmp_path.glob(".*.tmp")), "the temp file was renamed away"


def test_resume_can_extend_the_number_of_epochs(mnist_small, tmp_path):
    trainer = Trainer(CONFIG.replace(epochs=1), mnist_small)
    trainer.run()
    more = Trainer.from_checkpoint(trainer.save(tmp_path / "m.npz"), mnist_small, epochs=2)
    finished = more.run()
    assert finished.epochs_completed == 2 and len(more.history) == 2


def test_save_from_another_thread_waits_for_a_batch_boundary(mnist_small, tmp_path):
    trainer = Trainer(CONFIG.replace(epochs=30), mnist_small)
    started = threading.Event()

    def on_event(event):
        if isinstance(event, BatchEnded) and event.step == 3:
            started.set()

    trainer.on_event = on_event
    worker = threading.Thread(target=trainer.run)
    worker.start()
    assert started.wait(30)
    path = trainer.save(tmp_path / "live.npz", timeout=30)
    trainer.stop()
    worker.join(30)
    ckpt = load_checkpoint(path)
    assert ckpt.loop["step"] >= 3


def saved(tmp_path, mnist_small):
    trainer = Trainer(CONFIG.replace(epochs=1), mnist_small)
    trainer.run()
    return trainer, trainer.save(tmp_path / "good.npz")


def rewrite(path, out, change):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    return write_npz_atomic(out, arrays)


def set_meta(arrays, edit):
    meta = json.loads(arrays["meta"].tobytes())
    edit(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a.__setitem__("params/W1", a["params/W1"][:, :8]), "params/W1 has shape"),
    (lambda a: a.__setitem__("params/b1", np.full(16, np.nan, np.float32)), "NaN or infinite"),
    (lambda a: a.__setitem__("params/W2", a["params/W2"].astype(np.float64)), "dtype float64"),
    (lambda a: a.pop("params/b2"), "missing array 'params/b2'"),
    (lambda a: a.__setitem__("extra", np.zeros(3)), "unexpected entries extra.npy"),
    (lambda a: set_meta(a, lambda m: m.__setitem__("version", 99)), "version 99 is not supported"),
    (lambda a: set_meta(a, lambda m: m.pop("format")), "not an nnfs-tui checkpoint"),
    (lambda a: set_meta(a, lambda m: m["config"].__setitem__("learning_rate", -1)),
     "learning_rate: -1 is not valid"),
    (lambda a: set_meta(a, lambda m: m["config"].__setitem__("colour", "red")), "colour"),
    (lambda a: set_meta(a, lambda m: m.__setitem__("sizes", [784, 99, 10])), "layer sizes"),
    (lambda a: a.__setitem__("meta", np.frombuffer(b"{not json", np.uint8)), "not valid JSON"),
])
def test_malformed_checkpoints_are_refused_with_one_clear_message(tmp_path, mnist_small,
                                                                  change, message):
    _, good = saved(tmp_path, mnist_small)
    bad = rewrite(good, tmp_path / "bad.npz", change)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(bad)
    assert str(info.value).startswith(str(bad))


def test_pickled_object_arrays_are_refused(tmp_path, mnist_small):
    _, good = saved(tmp_path, mnist_small)
    bad = tmp_path / "evil.npz"
    with np.load(good, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["params/W1"] = np.array([{"x": 1}], dtype=object)
    np.savez(bad, **arrays)
    with pytest.raises(CheckpointError, match="Python objects; refused"):
        load_checkpoint(bad)


def test_a_pickle_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"W1": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint(path)


def test_truncated_file_is_refused(tmp_path, mnist_small):
    _, good = saved(tmp_path, mnist_small)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(cut)


def test_a_lying_array_header_is_refused_before_allocation(tmp_path, mnist_small):
    _, good = saved(tmp_path, mnist_small)
    bad = tmp_path / "huge.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "params/W1.npy":
                data = data.replace(b"(784, 16)", b"(78400000, 16000)")
            dst.writestr(info.filename, data)
    with pytest.raises(CheckpointError, match="too large|declares"):
        load_checkpoint(bad)


def test_missing_file_and_directory(tmp_path, mnist_small):
    with pytest.raises(CheckpointError, match="file not found"):
        load_checkpoint(tmp_path / "nope.npz")
    trainer = Trainer(CONFIG.replace(epochs=1), mnist_small)
    with pytest.raises(CheckpointError, match="does not exist"):
        trainer.save(tmp_path / "no" / "such" / "dir.npz")


def test_restoring_into_a_different_architecture_changes_nothing(tmp_path, mnist_small):
    _, good = saved(tmp_path, mnist_small)
    other = Trainer(CONFIG.replace(hidden_sizes=(8,)), mnist_small)
    before = other.network.copy_params()
    with pytest.raises(CheckpointError, match="do not match"):
        other.restore(load_checkpoint(good))
    for key, value in before.items():
        np.testing.assert_array_equal(other.network.params[key], value)


def test_a_summary_reads_the_document_alone_and_refuses_what_load_refuses(tmp_path,
                                                                          mnist_small):
    from engine.checkpoint import read_summary

    trainer, good = saved(tmp_path, mnist_small)
    summary = read_summary(good)
    assert (summary.epoch, summary.step) == (trainer.state.epoch, trainer.state.step)
    assert summary.architecture == "784-16-10" and summary.config == trainer.config
    assert summary.describe().startswith(f"epoch {trainer.state.epoch}")
    assert summary == load_checkpoint(good).summary(good)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CheckpointError, match="junk.npz"):
        read_summary(junk)
