"""Hostile files: every reader of a file the program did not just write is total and bounded.

Each case is generated here (no checked-in blobs). The only allowed outcomes are "read
correctly" or "refused with the reader's own error type, naming the file": never another
exception, a hang or an allocation the file's own contents do not justify.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import CheckpointError, TrainConfig, Trainer, load_checkpoint
from engine.checkpoint import read_summary
from engine.cli import main
from engine.runs import RunStore
from engine.runs.store import STATUSES

# -- checkpoints ----------------------------------------------------------------------------


def members(raw: bytes) -> dict[str, np.ndarray]:
    """The archive's arrays by name (without .npy)."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def meta_of(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    return json.loads(arrays["meta"].tobytes().decode())


def pack(arrays: dict[str, np.ndarray], meta: dict[str, Any] | str | None = None) -> bytes:
    """An .npz of ``arrays`` (meta replaced by ``meta`` when given)."""
    arrays = dict(arrays)
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta)
        arrays["meta"] = np.frombuffer(text.encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def with_meta(change: Callable[[dict[str, Any]], object]) -> Callable[[bytes], bytes]:
    def make(raw: bytes) -> bytes:
        arrays = members(raw)
        meta = meta_of(arrays)
        change(meta)
        return pack(arrays, meta)
    return make


def with_arrays(change: Callable[[dict[str, np.ndarray]], object]) -> Callable[[bytes], bytes]:
    def make(raw: bytes) -> bytes:
        arrays = members(raw)
        change(arrays)
        return pack(arrays)
    return make


BYTE_MUTATIONS = ("flip", "truncate", "splice")


def mutate_bytes(raw: bytearray, action: str, i: int, data: st.DataObject,
                 splice_max: int) -> bytearray:
    """One byte-wise mutation at offset ``i``: flip a byte, cut the file there, or splice in
    up to ``splice_max`` drawn bytes."""
    if action == "flip" and raw:
        raw[i] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        raw = raw[:i]
    elif action == "splice":
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=splice_max))
    return raw


def deep(n: int) -> str:
    return "[" * n + "]" * n


def _set(d: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for p in parents:
        d = d[p]
    d[last] = value


def meta_set(path: str, value: Any) -> Callable[[bytes], bytes]:
    return with_meta(lambda m: _set(m, path, value))


def _raw_meta(text_of: Callable[[str], str]) -> Callable[[bytes], bytes]:
    def make(raw: bytes) -> bytes:
        arrays = members(raw)
        return pack(arrays, text_of(arrays["meta"].tobytes().decode()))
    return make


def _drop(name: str) -> Callable[[bytes], bytes]:
    return with_arrays(lambda a: a.pop(name))


def _put(name: str, value: Callable[[dict[str, np.ndarray]], np.ndarray]
         ) -> Callable[[bytes], bytes]:
    def change(a: dict[str, np.ndarray]) -> None:
        a[name] = value(a)
    return with_arrays(change)


def _declared_size(name: str, size: int) -> Callable[[bytes], bytes]:
    """Rewrite the zip's declared uncompressed size of one member (central directory)."""
    def make(raw: bytes) -> bytes:
        data = bytearray(raw)
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            info = zf.getinfo(name)
        target = name.encode()
        i = data.rfind(b"PK\x01\x02" , 0, data.rfind(target) + 1)
        data[i + 24:i + 28] = min(size, 0xFFFFFFFF).to_bytes(4, "little")
        j = info.header_offset
        data[j + 22:j + 26] = min(size, 0xFFFFFFFF).to_bytes(4, "little")
        return bytes(data)
    return make


#: name → (make the hostile bytes, must it be refused?)
CHECKPOINT_CASES: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    "unchanged": (lambda raw: raw, False),
    "empty file": (lambda raw: b"", True),
    "not a zip": (lambda raw: b"hello world" * 100, True),
    "truncated half": (lambda raw: raw[: len(raw) // 2], True),
    "meta deep nesting": (meta_set("history", json.loads(deep(500))), True),
    "meta deeper than the parser": (_raw_meta(lambda t: t[:-1] + ', "x": ' + deep(100_000)
                                               + "}"), True),
    "meta 400-digit epoch": (_raw_meta(lambda t: t.replace('"epoch": ', '"epoch": '
                                                           + "9" * 400 + ", \"_e\": ", 1)),
                             True),
    "meta 400-digit step": (meta_set("loop.step", 10 ** 400), True),
    "meta epoch beyond MAX_EPOCHS": (meta_set("loop.epoch", 10_001), True),
    "meta position beyond the training set": (meta_set("loop.position", 3001), True),
    "meta negative elapsed": (meta_set("loop.elapsed", -1.0), True),
    "meta epoch as string": (meta_set("loop.epoch", "1"), True),
    "meta loop list": (meta_set("loop", [1, 2]), True),
    "meta history not a list": (meta_set("history", {"a": 1}), True),
    "meta history entry of strings": (meta_set("history", [{"epoch": "one",
                                                             "test_acc": "x"}]), True),
    "meta history entry nested": (meta_set("history", [{"epoch": 1, "test_acc": [[1]]}]), True),
    "meta history entry NaN-ish huge": (meta_set("history", [{"epoch": 1,
                                                              "test_acc": 10 ** 400}]), True),
    "meta history longer than epochs": (meta_set("history", [{"epoch": 1}] * 50), True),
    "meta config wrong type": (meta_set("config.hidden_sizes", "four"), True),
    "meta config huge seed": (meta_set("config.seed", 10 ** 400), True),
    "meta sizes bool": (meta_set("sizes", [True, 4, 10]), True),
    "meta rng garbage": (meta_set("rng", {"bit_generator": "PCG64", "state": "x"}), True),
    "meta not an object": (_raw_meta(lambda t: "[1, 2, 3]"), True),
    "meta invalid utf-8": (lambda raw: pack(members(raw), None) if False else
                           _put("meta", lambda a: np.frombuffer(b"\xff\xfe{", np.uint8))(raw),
                           True),
    "meta declared 60 MB": (_declared_size("meta.npy", 60_000_000), True),
    "meta 2 MB of padding": (_raw_meta(lambda t: t[:-1] + ', "pad": "' + "x" * 2_000_000
                                       + '"}'), True),
    "param declared 3 GB": (_declared_size("params/W1.npy", 3_000_000_000), True),
    "param NaN": (_put("params/b1", lambda a: np.full_like(a["params/b1"], np.nan)), True),
    "param wrong dtype": (_put("params/b1", lambda a: a["params/b1"].astype(np.float64)), True),
    "param wrong shape": (_put("params/b1", lambda a: np.zeros(5, np.float32)), True),
    "param object dtype header": (_put("params/b1", lambda a: np.array(["x"] * 4)), True),
    "param missing": (_drop("params/W2"), True),
    "extra member": (_put("evil", lambda a: np.zeros(3)), True),
    "slot missing": (_drop("optimizer/exp_avg_sq/W1"), True),
    "all slots of one kind missing": (with_arrays(lambda a: [a.pop(k) for k in list(a)
                                                             if k.startswith(
                                                                 "optimizer/exp_avg/")]),
                                      True),
    "second moment negative": (_put("optimizer/exp_avg_sq/b2",
                                    lambda a: -np.ones_like(a["optimizer/exp_avg_sq/b2"])),
                               True),
    "first moment infinite": (_put("optimizer/exp_avg/b1",
                                   lambda a: np.full_like(a["optimizer/exp_avg/b1"], np.inf)),
                              True),
    "slot wrong dtype": (_put("optimizer/exp_avg/b1",
                              lambda a: a["optimizer/exp_avg/b1"].astype(np.float64)), True),
    "slot wrong shape": (_put("optimizer/exp_avg/b1", lambda a: np.zeros(9, np.float32)), True),
    "step negative": (_put("optimizer/step", lambda a: np.array(-1, np.int64)), True),
    "step float": (_put("optimizer/step", lambda a: np.array(1.5)), True),
    "step 2-d": (_put("optimizer/step", lambda a: np.zeros((2, 2), np.int64)), True),
    "perm longer than the training set": (_put("loop/perm", lambda a: np.arange(2_000_000)),
                                          True),
    "perm not a permutation": (_put("loop/perm", lambda a: np.zeros(3000, np.int64)), True),
    "perm float": (_put("loop/perm", lambda a: np.arange(3000, dtype=np.float64)), True),
    "perm missing mid-epoch": (_drop("loop/perm"), True),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_hostile_checkpoint_is_loaded_or_refused(tmp_path, ckpt_bytes, case):
    make, refused = CHECKPOINT_CASES[case]
    path = tmp_path / "hostile.npz"
    path.write_bytes(make(ckpt_bytes))
    for read in (load_checkpoint, read_summary):
        try:
            result = read(path)
        except CheckpointError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        else:
            if read is load_checkpoint:
                assert not refused, f"{case}: loaded"
                assert all(np.isfinite(p).all() for p in result.params.values())
    with pytest.raises(CheckpointError) if refused else _nothing():
        load_checkpoint(path)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


#: Every hypothesis example here reads files of a few kilobytes: a read that allocates more
#: than this was not bounded by what the file holds.
PEAK_BYTES = 32 * 2**20
BOUNDED = settings(max_examples=120, deadline=timedelta(seconds=20),
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])


@contextmanager
def bounded_memory() -> Iterator[None]:
    """Fail when the block allocates more than PEAK_BYTES (Python and NumPy allocations)."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"peak {peak:,} bytes"


@BOUNDED
@given(data=st.data())
def test_structurally_mutated_checkpoints_load_or_raise(tmp_path, ckpt_bytes, data):
    """Hypothesis edits the JSON document and the arrays (not only bytes)."""
    arrays = members(ckpt_bytes)
    meta = meta_of(arrays)
    hostile = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 400),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                        st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["loop", "config", "history", "top", "array"]))
        if where == "loop":
            meta["loop"][data.draw(st.sampled_from(sorted(meta["loop"])))] = data.draw(hostile)
        elif where == "config":
            meta["config"][data.draw(st.sampled_from(sorted(meta["config"])))] = \
                data.draw(hostile)
        elif where == "history":
            meta["history"] = data.draw(st.lists(st.dictionaries(
                st.sampled_from(["epoch", "test_acc", "val_acc", "lr"]), hostile, max_size=3),
                max_size=4))
        elif where == "top":
            meta[data.draw(st.sampled_from(["sizes", "rng", "version", "format"]))] = \
                data.draw(hostile)
        else:
            name = data.draw(st.sampled_from(sorted(k for k in arrays if k != "meta")))
            kind = data.draw(st.sampled_from(["drop", "negate", "nan", "float64", "reshape"]))
            arr = arrays[name]
            if kind == "drop":
                arrays.pop(name)
            elif kind == "negate":
                arrays[name] = -arr
            elif kind == "nan" and arr.dtype.kind == "f" and arr.size:
                arrays[name] = np.where(np.arange(arr.size).reshape(arr.shape) == 0, np.nan, arr
                                        ).astype(arr.dtype)
            elif kind == "float64":
                arrays[name] = arr.astype(np.float64)
            else:
                arrays[name] = arr.reshape(-1)[: max(arr.size - 1, 0)]
    path = tmp_path / "mutant.npz"
    path.write_bytes(pack(arrays, meta))
    with bounded_memory():
        for read in (load_checkpoint, read_summary):
            try:
                got = read(path)
            except CheckpointError as exc:
                assert str(exc).startswith(str(path))
            else:
                got.summary().describe() if read is load_checkpoint else got.describe()


@BOUNDED
@given(data=st.data())
def test_byte_mutated_checkpoints_load_or_raise_within_bounds(tmp_path, ckpt_bytes, data):
    raw = bytearray(ckpt_bytes)
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["flip", "truncate", "splice", "word"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action in BYTE_MUTATIONS:
            raw = mutate_bytes(raw, action, i, data, splice_max=64)
        elif raw:  # a 4-byte field (a zip size, an offset) set to something absurd
            raw[i:i + 4] = data.draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1])).to_bytes(
                4, "little")
    path = tmp_path / "mutant.npz"
    path.write_bytes(bytes(raw))
    with bounded_memory():
        for read in (load_checkpoint, read_summary):
            try:
                read(path)
            except CheckpointError as exc:
                assert str(exc).startswith(str(path))


def test_cli_resume_from_a_hostile_checkpoint_is_one_line(tmp_path, ckpt_bytes, capsys):
    for case in ("meta deeper than the parser", "slot missing", "meta 400-digit step"):
        path = tmp_path / "bad.npz"
        path.write_bytes(CHECKPOINT_CASES[case][0](ckpt_bytes))
        assert main(["--resume", str(path), "--no-record", "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("nnfs-train: error: ") and str(path) in err
        assert "\n" not in err and "Traceback" not in err


# -- run stores -----------------------------------------------------------------------------


GOOD_RUN = {"name": "good", "status": "completed", "started_at": "2026-01-01T00:00:00",
            "seconds": 1.5, "epochs_completed": 1, "best_val_acc": 0.9, "test_acc": 0.91,
            "architecture": "784-8-10"}


def make_run(root: Path, name: str, run: dict[str, Any] | None = None) -> Path:
    path = root / name
    path.mkdir()
    (path / "config.json").write_text(TrainConfig(hidden_sizes=(8,)).to_json())
    (path / "run.json").write_text(json.dumps({**GOOD_RUN, "name": name, **(run or {})}))
    (path / "metrics.csv").write_text("epoch,test_acc\n1,0.91\n")
    return path


def _fifo(file: str) -> Callable[[Path, Path], None]:
    def make(run: Path, outside: Path) -> None:
        (run / file).unlink()
        os.mkfifo(run / file)
    return make


def _link(file: str, target: str) -> Callable[[Path, Path], None]:
    def make(run: Path, outside: Path) -> None:
        (run / file).unlink()
        (run / file).symlink_to(target if target.startswith("/") else outside / target)
    return make


def _write(file: str, data: bytes | str) -> Callable[[Path, Path], None]:
    def make(run: Path, outside: Path) -> None:
        (run / file).write_bytes(data.encode() if isinstance(data, str) else data)
    return make


def _run_json(**fields: Any) -> Callable[[Path, Path], None]:
    return _write("run.json", json.dumps({**GOOD_RUN, **fields}))


def _raw_run_json(text: str) -> Callable[[Path, Path], None]:
    return _write("run.json", text)


def _big_metrics(run: Path, outside: Path) -> None:
    with open(run / "metrics.csv", "wb") as fh:
        fh.write(b"epoch,test_acc\n")
        fh.truncate(200_000_000)  # sparse: 200 MB that take no disk


def _run_dir_link(run: Path, outside: Path) -> None:
    import shutil
    shutil.rmtree(run)
    target = outside / "elsewhere"
    make_run(outside, "elsewhere")
    run.symlink_to(target)


def _dir_instead(file: str) -> Callable[[Path, Path], None]:
    def make(run: Path, outside: Path) -> None:
        (run / file).unlink()
        (run / file).mkdir()
    return make


#: name → how to make the run folder hostile
STORE_CASES: dict[str, Callable[[Path, Path], None]] = {
    "run.json is a FIFO": _fifo("run.json"),
    "config.json is a FIFO": _fifo("config.json"),
    "metrics.csv is a FIFO": _fifo("metrics.csv"),
    "run.json is /dev/zero": _link("run.json", "/dev/zero"),
    "metrics.csv is /dev/zero": _link("metrics.csv", "/dev/zero"),
    "config.json is /dev/urandom": _link("config.json", "/dev/urandom"),
    "run.json links out of the store": _link("run.json", "secret.json"),
    "config.json links out of the store": _link("config.json", "secret.json"),
    "run folder links out of the store": _run_dir_link,
    "run.json is a directory": _dir_instead("run.json"),
    "metrics.csv is a directory": _dir_instead("metrics.csv"),
    "metrics.csv binary": _write("metrics.csv", b"epoch,test_acc\n\x00\x01\x02\xff\xfe\n"),
    "metrics.csv invalid utf-8": _write("metrics.csv", b"epoch,test_acc\n1,\xff\n"),
    "metrics.csv oversized": _big_metrics,
    "metrics.csv one huge field": _write("metrics.csv", "epoch,test_acc\n1," + "9" * 300_000),
    "metrics.csv absurd numbers": _write("metrics.csv", "epoch,test_acc\n1e308,"
                                         + "9" * 400 + "\n"),
    "run.json deep": _raw_run_json('{"status": "completed", "x": ' + deep(100_000) + "}"),
    "config.json deep": _write("config.json", '{"x": ' + deep(100_000) + "}"),
    "run.json invalid utf-8": _write("run.json", b'{"status": "\xff"}'),
    "run.json binary": _write("run.json", os.urandom(2048)),
    "run.json oversized": _raw_run_json(json.dumps({**GOOD_RUN, "pad": "x" * 20_000_000})),
    "run.json 1e308 epochs": _run_json(epochs_completed=1e308),
    "run.json 400-digit epochs": _raw_run_json(json.dumps(GOOD_RUN).replace(
        '"epochs_completed": 1', '"epochs_completed": ' + "9" * 400)),
    "run.json 400-digit pid": _raw_run_json(json.dumps({**GOOD_RUN, "status": "running"})[:-1]
                                            + ', "pid": ' + "9" * 400 + "}"),
    "run.json negative pid": _run_json(status="running", pid=-1),
    "run.json 400-digit best_epoch": _raw_run_json(json.dumps(GOOD_RUN)[:-1]
                                                   + ', "best_epoch": ' + "9" * 400 + "}"),
    "run.json accuracy 1e308": _run_json(best_val_acc=1e308, test_acc=-5),
    "run.json seconds 1e308": _run_json(seconds=1e308),
    "run.json wrong types": _run_json(status=["x"], started_at={"a": 1}, seconds="fast",
                                      reason=[1], architecture=7, name=3),
    "run.json live_changes garbage": _run_json(live_changes=[{"step": 10 ** 400, "field": "lr",
                                                              "value": [[[]]]}, 7, None,
                                                             {"changes": "x", "step": 1}]),
    "run.json continued_from huge": _run_json(continued_from={"step": 10 ** 400}),
    "run.json is null": _raw_run_json("null"),
    "config.json 400-digit seed": _write("config.json", TrainConfig().to_json().replace(
        '"seed": 0', '"seed": ' + "9" * 400)),
    "config.json wrong types": _write("config.json", json.dumps({"hidden_sizes": "x",
                                                                 "epochs": [1]})),
    "files missing": lambda run, outside: [p.unlink() for p in run.iterdir()],
}


def _hostile_store(tmp_path: Path, case: str) -> tuple[RunStore, Path]:
    root, outside = tmp_path / "runs", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps(GOOD_RUN))
    make_run(root, "fine")
    bad = make_run(root, "bad")
    STORE_CASES[case](bad, outside)
    return RunStore(root), bad


@pytest.mark.parametrize("case", list(STORE_CASES))
def test_hostile_run_folder_is_listed_and_the_rest_works(tmp_path, case):
    store, bad = _hostile_store(tmp_path, case)
    runs = {r.name: r for r in store.list()}
    assert runs["fine"].status == "completed" and runs["fine"].config is not None
    assert runs["fine"].metrics()
    if "bad" in runs:
        run = runs["bad"]
        run.metrics()
        run.row()
        if run.status == "unreadable":
            assert run.problem
        else:  # what was shown was read from regular files inside the store
            assert run.status in ("completed", "running", "interrupted", "incomplete")
            for value in (run.best_val_acc, run.test_acc):
                assert value is None or 0 <= value <= 1
            assert 0 <= run.epochs_completed <= 10_000
            assert 0 <= run.seconds < 1e12
    store.export_csv(tmp_path / "out.csv")


HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 30, 10 ** 400),
    st.floats(allow_nan=False), st.text(max_size=12), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.integers(1, 60).map(lambda n: json.loads(deep(n))))


@BOUNDED
@given(data=st.data())
def test_mutated_run_folders_are_listed_within_bounds(tmp_path, data):
    """Hypothesis edits a recorded run's files byte-wise and structurally: the store lists
    every run, each with a known status, and the good run as it was."""
    root = tmp_path / "runs"
    if root.exists():
        import shutil
        shutil.rmtree(root)
    root.mkdir()
    make_run(root, "fine")
    bad = make_run(root, "bad", {"pid": 1, "live_changes": [
        {"field": "learning_rate", "value": 0.01, "step": 3, "epoch": 0.5}]})
    for _ in range(data.draw(st.integers(1, 4))):
        file = data.draw(st.sampled_from(["run.json", "config.json", "metrics.csv"]))
        raw = bytearray((bad / file).read_bytes())
        action = data.draw(st.sampled_from(["flip", "truncate", "splice", "value"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action in BYTE_MUTATIONS:
            raw = mutate_bytes(raw, action, i, data, splice_max=32)
        elif file != "metrics.csv":
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc:
                doc[data.draw(st.sampled_from(sorted(doc)))] = data.draw(HOSTILE_VALUES)
                raw = bytearray(json.dumps(doc).encode())
        (bad / file).write_bytes(bytes(raw))
    with bounded_memory():
        runs = {r.name: r for r in RunStore(root).list()}
        for run in runs.values():
            run.metrics()
            run.row()
    assert runs["fine"].status == "completed" and runs["fine"].test_acc == 0.91
    assert runs["bad"].status in STATUSES
    assert runs["bad"].status not in ("unreadable", "incomplete") or runs["bad"].problem


@pytest.mark.parametrize("case", ["run.json is a FIFO", "metrics.csv is /dev/zero",
                                  "run.json deep", "run.json 400-digit pid",
                                  "metrics.csv binary"])
def test_cli_runs_lists_a_hostile_store(tmp_path, case, capsys):
    store, bad = _hostile_store(tmp_path, case)
    assert main(["runs", "--runs-dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "fine" in out and "bad" in out
    assert main(["runs", "--runs-dir", str(store.root), "--importance"]) == 0
    assert capsys.readouterr().out.startswith("importance: needs at least 8 scored runs")


def test_an_unreadable_runs_directory_is_one_line(tmp_path, capsys, monkeypatch):
    root = tmp_path / "runs"
    root.mkdir()

    def denied(self: Path) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    assert main(["runs", "--runs-dir", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnfs-train: error:") and "\n" not in err and str(root) in err


# -- command-line input ---------------------------------------------------------------------

#: name → (arguments, a word the one-line refusal must contain)
CLI_CASES: dict[str, tuple[list[str], str]] = {
    "--resume empty": (["--resume", ""], "--resume"),
    "--save empty": (["--save", "", "--no-record"], "--save"),
    "--runs-dir empty": (["--runs-dir", ""], "--runs-dir"),
    "int with underscores": (["--epochs", "1_0"], "epochs"),
    "int with non-ASCII digits": (["--epochs", "١٠"], "epochs"),
    "float with underscores": (["--lr", "1_0e-3"], "learning_rate"),
    "float with non-ASCII digits": (["--lr", "٠.١"], "learning_rate"),
    "float full-width digits": (["--dropout", "０.１"], "dropout"),
    "sizes with underscores": (["--hidden", "2_56"], "hidden_sizes"),
    "sizes with non-ASCII digits": (["--hidden", "٨"], "hidden_sizes"),
}
#: A run that would finish fast if a case were not refused.
QUICK = ["--subset", "1000", "--hidden", "8", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize("case", [*CLI_CASES, "runs --runs-dir empty",
                                  "runs --export empty"])
def test_bad_cli_input_is_one_line(tmp_path, case, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNFS_RUNS_DIR", str(tmp_path / "runs"))
    if case.startswith("runs"):
        args, word = ["runs", "--" + case.split("--")[1].split()[0], ""], "--"
    else:
        args, word = QUICK + CLI_CASES[case][0], CLI_CASES[case][1]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnfs-train: error:") and "\n" not in err and word in err
    assert not [p for p in tmp_path.iterdir() if p.name != "runs"]  # nothing written here


def test_resume_with_a_preset_or_no_epochs_left_is_refused(tmp_path, ckpt_bytes, capsys):
    path = tmp_path / "c.npz"
    path.write_bytes(ckpt_bytes)
    assert main(["--resume", str(path), "--preset", "fast", "--no-record"]) == 2
    assert "--preset" in capsys.readouterr().err
    ckpt = load_checkpoint(path)
    done = ckpt.loop["epoch"]
    if done:
        assert main(["--resume", str(path), "--epochs", str(done), "--no-record"]) == 2
        assert "epoch" in capsys.readouterr().err


# -- honest records -------------------------------------------------------------------------


def test_a_non_finite_parameter_is_a_divergence(mnist_small):
    trainer = Trainer(TrainConfig(hidden_sizes=(8,), epochs=1, subset=3000, batch_size=500),
                      mnist_small)
    # An input pixel that is always 0 gets no gradient: a NaN weight in its row never
    # touches loss or gradients, yet the checkpoint would be unloadable.
    trainer.network.params["W1"][0, 0] = np.nan
    finished = trainer.run()
    assert finished.status == "diverged" and "W1" in finished.reason


NAMER = """
import sys
from engine import TrainConfig
from engine.runs import RunStore
store = RunStore(sys.argv[1])
names = [store.create(TrainConfig(hidden_sizes=(8,)), None).path.name for _ in range(20)]
print(" ".join(names))
"""


def test_two_processes_recording_into_one_store_never_collide(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", NAMER, str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    names = [n for out, _ in outs for n in out.split()]
    assert len(names) == 40 and len(set(names)) == 40


def test_a_reused_pid_is_not_shown_running(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    # our own pid is alive, but this process did not start at that time
    make_run(root, "ghost", {"status": "running", "pid": os.getpid(),
                             "pid_started": 12345.0})
    assert RunStore(root).load("ghost").status == "interrupted"


def _full_disk_in(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every checkpoint write into ``directory`` fails with ENOSPC."""
    import errno

    import engine.checkpoint as checkpoint

    real = checkpoint.atomic_write

    def atomic_write(path: Path, write: Callable[[Any], None]) -> None:
        if Path(path).parent == directory:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, write)

    monkeypatch.setattr(checkpoint, "atomic_write", atomic_write)


def test_a_full_disk_for_checkpoints_still_records_the_run_completed(tmp_path, monkeypatch,
                                                                     mnist_small):
    from engine.session import RunSession

    store = RunStore(tmp_path / "runs")
    session = RunSession(TrainConfig(hidden_sizes=(8,), subset=3000, epochs=1),
                         dataset=mnist_small, store=store, name="full")
    _full_disk_in(session.path, monkeypatch)
    assert session.run().status == "completed"
    info = store.load("full")
    assert info.status == "completed"
    assert any("final.npz could not be written" in n for n in info.notes)


def test_a_failed_final_save_without_a_record_keeps_the_weights(tmp_path, monkeypatch, capsys):
    target = tmp_path / "out"
    target.mkdir()
    _full_disk_in(target, monkeypatch)
    code = main(QUICK + ["--no-record", "--save", str(target / "model.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    written = err.split("written to ")[1].split(" instead")[0]
    assert load_checkpoint(written).config.hidden_sizes == (8,)
    Path(written).unlink()


# -- data -----------------------------------------------------------------------------------

LIMITED_READ = """
import resource, sys
from engine.data.idx import read_idx
from engine.errors import DatasetError
from engine.memory import usable_bytes
vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize")).split()[1]) * 1024
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
resource.setrlimit(resource.RLIMIT_AS, (vm + 100 * 2**20, hard))
assert usable_bytes() <= 100 * 2**20, usable_bytes()  # noqa: S101
try:
    read_idx(sys.argv[1])
except DatasetError as exc:
    print(exc)
"""


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_an_honest_idx_header_beyond_the_memory_limit_is_refused_before_decoding(tmp_path,
                                                                                 suffix):
    import gzip

    n = 400_000  # 400,000 28x28 images: 314 MB, honest, under RLIMIT_AS of +100 MB
    header = bytes([0, 0, 8, 3]) + np.asarray([n, 28, 28], ">u4").tobytes()
    path = tmp_path / f"big{suffix}"
    if suffix:
        with gzip.open(path, "wb", compresslevel=1) as fh:
            fh.write(header)
            zeros = bytes(1 << 20)
            for _ in range(n * 784 // len(zeros)):
                fh.write(zeros)
            fh.write(bytes(n * 784 % len(zeros)))
    else:
        with open(path, "wb") as fh:
            fh.write(header)
            fh.truncate(len(header) + n * 784)  # sparse
    out = subprocess.run([sys.executable, "-c", LIMITED_READ, str(path)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert "memory this process may use" in out.stdout and str(path) in out.stdout


def test_a_second_ctrl_c_aborts_in_one_line_and_keeps_a_complete_checkpoint(tmp_path):
    import signal
    import time

    save = tmp_path / "model.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "--subset", "3000", "--hidden", "512,512",
         "--epochs", "1000", "--json", "--no-record", "--save", str(save)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert proc.stdout.readline().startswith("{")  # an epoch has ended: it is training
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # the second Ctrl-C aborted it (one line), or came as it was already leaving
    assert "nnfs-train: aborted" in err or "stopped:" in err
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written file left behind
    if save.exists():
        load_checkpoint(save)  # the file there is a complete one


def test_the_parameter_cap_uses_the_datas_real_input_size():
    from engine.config import ConfigError, check_fits_in_memory

    config = TrainConfig(hidden_sizes=(10_000,))  # 7.9 M parameters with MNIST's 784 inputs
    check_fits_in_memory(config, 784, 10)
    with pytest.raises(ConfigError, match="10,000 inputs"):
        check_fits_in_memory(config, 10_000, 10)  # 100 M with a 100x100-pixel dataset
