"""Nothing lost, nothing corrupted: kills mid-save, full disks, and mutated files."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import CheckpointError, TrainConfig, Trainer, load_checkpoint
from engine.fileio import remove_stale_temps
from engine.runs import RunStore
from engine.session import RunSession

SAVER = """
import sys
from engine import TrainConfig, Trainer
from engine.data import load_dataset
data = load_dataset("mnist", subset=1000, seed=0)
trainer = Trainer(TrainConfig(hidden_sizes=(2048,), subset=1000), data)
n = 0
while True:
    trainer.network.params["b1"][:] = n  # each version is recognisable
    trainer.save(sys.argv[1])
    n += 1
    print(n, flush=True)
"""


def test_sigkill_during_saves_leaves_a_complete_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip()  # at least one save has completed
            time.sleep(0.01 + 0.03 * attempt)      # then kill it somewhere mid-write
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        ckpt = load_checkpoint(path)              # the old or the new version, complete
        assert len(set(ckpt.params["b1"].tolist())) == 1
    removed = remove_stale_temps(tmp_path)        # the next start cleans up after the kill
    assert not list(tmp_path.glob(".*.tmp"))
    assert all(p.name.startswith(".model.npz.") for p in removed)


@pytest.fixture
def trained(mnist_small):
    trainer = Trainer(TrainConfig(hidden_sizes=(16,), epochs=1, subset=3000), mnist_small)
    trainer.run()
    return trainer


def test_a_full_disk_keeps_the_previous_file_and_allows_a_retry(tmp_path, trained,
                                                                 monkeypatch):
    path = trained.save(tmp_path / "model.npz")
    before = path.read_bytes()
    trained.network.params["b1"][:] = 7.0

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", no_space)
    with pytest.raises(CheckpointError, match="cannot save: No space left on device"):
        trained.save(path)
    assert path.read_bytes() == before              # the old file is intact
    assert not list(tmp_path.glob(".*.tmp"))        # and no temp file is left behind
    assert (trained.network.params["b1"] == 7.0).all()  # the model in memory is untouched
    monkeypatch.undo()
    trained.save(path)                              # the retry works
    assert (load_checkpoint(path).params["b1"] == 7.0).all()


def test_a_run_recorder_survives_a_failing_disk(tmp_path, mnist_small, monkeypatch):
    store = RunStore(tmp_path)
    session = RunSession(TrainConfig(hidden_sizes=(8,), subset=3000, epochs=2),
                         dataset=mnist_small, store=store, name="r")

    real_replace = os.replace

    def flaky_replace(src, dst):
        if str(dst).endswith("metrics.csv"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    finished = session.run()
    assert finished.status == "completed"           # training went on
    assert any("Read-only file system" in e for e in session.errors)
    assert store.load("r").status == "completed"


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory, mnist_small):
    trainer = Trainer(TrainConfig(hidden_sizes=(4,), epochs=1, subset=3000, batch_size=500),
                      mnist_small)
    trainer.run()
    return trainer.save(tmp_path_factory.mktemp("ck") / "c.npz").read_bytes()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_checkpoints_load_or_raise_checkpoint_error(tmp_path, checkpoint_bytes, data):
    raw = bytearray(checkpoint_bytes)
    action = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if action == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    path = tmp_path / "mutant.npz"
    path.write_bytes(bytes(raw))
    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        assert str(exc).startswith(str(path))
    else:
        assert all(np.isfinite(p).all() for p in ckpt.params.values())
