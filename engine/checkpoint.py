"""Checkpoints: one ``.npz`` of plain arrays plus a JSON document, never a pickle.

Layout of the archive (every member a plain numeric array)::

    meta                    uint8   UTF-8 JSON: format, version, config, loop state,
                                    history, RNG state, network sizes
    params/W1 ... params/bL float   the network's parameters
    optimizer/step          int64   updates the optimizer has taken
    optimizer/<slot>/<key>  float   its per-parameter state (moments, velocity)
    loop/perm               int64   sample order of an epoch that was interrupted (optional)

Saving writes a temporary file beside the target, fsyncs it and renames it over the target,
so the file on disk is always the old complete checkpoint or the new one. Loading refuses
pickles, checks every member's name, declared size, dtype, shape and finiteness before it
builds anything, and raises one CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.config import MAX_EPOCHS, TrainConfig, architecture
from engine.errors import CheckpointError, NNFSError
from engine.fileio import RefusedFile, atomic_write, parse_json, remove_stale_temps
from engine.numbers import finite_or_none

FORMAT = "nnfs-tui-checkpoint"
VERSION = 1
#: The JSON document: a config, a loop state, an RNG state and one history row per epoch
#: (about 300 bytes each, at most MAX_EPOCHS of them): never more than a few megabytes.
MAX_META_BYTES = 64 * 1024 + 512 * MAX_EPOCHS
#: Training-set sizes of the named datasets: a saved sample order is never longer.
_DATASET_TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000}
#: Without a subset or a named dataset, the largest training set a config may ask for.
_MAX_TRAIN_SAMPLES = 10_000_000
_MAX_COUNT = 2 ** 53
_META_KEYS = {"format", "version", "saved_at", "config", "sizes", "optimizer", "loop",
              "history", "rng"}
_FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}
T = TypeVar("T")


@dataclass
class Checkpoint:
    """A run's whole training state as a plain value: what a checkpoint file holds, and what
    :meth:`engine.training.Trainer.training_state` gives and :meth:`~engine.training.Trainer.
    restore` takes. Arrays are the value's own (never a live model's)."""

    config: TrainConfig
    """The run's config (with any live changes made before the save)."""
    sizes: tuple[int, ...]
    """Layer sizes, inputs to classes."""
    params: dict[str, np.ndarray]
    """W1, b1, ...: (fan_in, fan_out) and (fan_out,)."""
    optimizer_state: dict[str, np.ndarray]
    """The optimizer's state_dict()."""
    loop: dict[str, Any]
    """epoch, position, step, loss_sum, correct, epoch_seconds, elapsed, status."""
    history: list[dict[str, Any]]
    """Per-epoch metrics so far."""
    rng_state: dict[str, Any] | None
    """The training Generator's bit_generator.state."""
    perm: np.ndarray | None
    """Sample order of an interrupted epoch."""
    saved_at: str = ""
    """ISO time of the save ("" for a state not read from a file)."""

    def summary(self, path: str | Path = "") -> CheckpointSummary:
        """What the Ctrl+O list and the app's log say about this state."""
        return CheckpointSummary(path=Path(path), config=self.config, sizes=self.sizes,
                                 epoch=int(self.loop["epoch"]), step=int(self.loop["step"]),
                                 mid_epoch=bool(self.loop.get("position")),
                                 elapsed=float(self.loop.get("elapsed", 0.0)),
                                 history=tuple(dict(h) for h in self.history),
                                 saved_at=self.saved_at)


@dataclass(frozen=True)
class CheckpointSummary:
    """A checkpoint described in plain data: no arrays, nothing to parse in the UI."""

    path: Path
    """The file."""
    config: TrainConfig
    """The run's config as saved."""
    sizes: tuple[int, ...]
    """Layer sizes, inputs to classes."""
    epoch: int
    """Whole epochs trained."""
    step: int
    """Updates applied."""
    mid_epoch: bool
    """Saved part-way through the next epoch."""
    elapsed: float
    """Training seconds so far."""
    history: tuple[dict[str, Any], ...]
    """Per-epoch metrics (EpochEnded.to_dict() each)."""
    saved_at: str = ""
    """ISO time of the save."""

    @property
    def architecture(self) -> str:
        """``784-256-10``."""
        return architecture(self.config, self.sizes[0], self.sizes[-1])

    def trained_all(self, epochs: int) -> bool:
        """True when the checkpoint has trained ``epochs`` whole epochs or more: continuing
        it for ``epochs`` would train nothing."""
        return self.epoch >= epochs and not self.mid_epoch

    @property
    def last(self) -> dict[str, Any]:
        """The last epoch's metrics ({} before the first epoch ended)."""
        return self.history[-1] if self.history else {}

    def describe(self) -> str:
        """``epoch 23 · val 97.80% · test 97.65%``: how far it trained and its accuracies
        then (the last row of its history)."""
        parts = [f"epoch {self.epoch}" + (" + part of the next" if self.mid_epoch else "")
                 if self.epoch else "before the first epoch ended"]
        for split in ("val", "test"):
            value = self.last.get(f"{split}_acc")
            if isinstance(value, int | float) and math.isfinite(value):
                parts.append(f"{split} {100 * value:.2f}%")
        return " · ".join(parts)


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, NumPy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return finite_or_none(value)


def save_checkpoint(path: str | Path, state: Checkpoint) -> Path:
    """Write a training state (model, optimizer, config, history, RNG) to ``path``."""
    path = Path(path)
    for key, value in state.params.items():  # never write a file that cannot be loaded
        if not np.isfinite(value).all():
            raise CheckpointError(path, f"cannot save: parameter {key} holds NaN or infinite "
                                  "values (the run diverged)")
    mid_epoch = state.perm is not None  # the order of an epoch that has begun
    loop = dict(state.loop)
    if not mid_epoch:
        loop["position"] = 0
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": state.config.to_dict(),
        "sizes": list(state.sizes),
        "optimizer": state.config.optimizer,
        "loop": loop,
        "history": state.history,
        "rng": state.rng_state,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(_clean(meta), allow_nan=False).encode(), np.uint8)}
    for key, value in state.params.items():
        arrays[f"params/{key}"] = value
    for key, value in state.optimizer_state.items():
        arrays[f"optimizer/{key}"] = np.asarray(value)
    if mid_epoch:
        arrays["loop/perm"] = state.perm.astype(np.int64)
    return write_npz_atomic(path, arrays)


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as an uncompressed .npz at ``path`` via a temp file and a rename."""
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    directory = path.parent
    if not directory.is_dir():
        raise CheckpointError(path, f"cannot save: directory {directory} does not exist")
    remove_stale_temps(directory)
    try:
        atomic_write(path, lambda fh: np.savez(fh, **arrays))
    except OSError as exc:
        raise CheckpointError(path, f"cannot save: {exc.strerror or exc}") from None
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint. Any problem raises CheckpointError naming the file."""
    path = Path(path)
    return _open(path, lambda zf, infos: _read(path, zf, infos))


def _open(path: Path, read: Callable[[zipfile.ZipFile, dict[str, zipfile.ZipInfo]], T]) -> T:
    """Open the archive and ``read`` it; every failure becomes one CheckpointError."""
    if not path.is_file():
        raise CheckpointError(path, "file not found")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            return read(zf, infos)
    except zipfile.BadZipFile:
        raise CheckpointError(path, "not a checkpoint (.npz archive): the file is truncated "
                              "or corrupted") from None
    except NNFSError as exc:
        if isinstance(exc, CheckpointError) and exc.path == str(path):
            raise
        raise CheckpointError(path, str(exc)) from None
    except RefusedFile as exc:
        raise CheckpointError(path, str(exc)) from None
    except MemoryError:
        raise CheckpointError(path, "not enough memory to read it") from None
    except Exception as exc:  # noqa: BLE001 - any fault of a hostile file is one error
        # (the .npy header parser alone raises ValueError, SyntaxError or TokenError)
        raise CheckpointError(path, f"unreadable checkpoint ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None


def read_summary(path: str | Path) -> CheckpointSummary:
    """Describe a checkpoint from its JSON document alone (the Ctrl+O list reads many): the
    same bounded reader and checks as :func:`load_checkpoint`, no array decoded. Any problem
    raises CheckpointError naming the file."""
    path = Path(path)
    return _open(path, lambda zf, infos: _summary(path, zf, infos))


def _summary(path: Path, zf: zipfile.ZipFile,
             infos: dict[str, zipfile.ZipInfo]) -> CheckpointSummary:
    meta, config, sizes = _read_meta(path, zf, infos)
    loop, history = meta["loop"], meta["history"]
    return CheckpointSummary(path=path, config=config, sizes=tuple(sizes),
                             epoch=int(loop["epoch"]), step=int(loop["step"]),
                             mid_epoch=bool(loop["position"]), elapsed=float(loop["elapsed"]),
                             history=tuple(history), saved_at=str(meta.get("saved_at", "")))


def _read_member(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], name: str,
                 max_bytes: int) -> np.ndarray:
    info = infos.get(name + ".npy")
    if info is None:
        raise ValueError(f"missing array {name!r}")
    if info.file_size > max_bytes:
        raise ValueError(f"array {name!r} declares {info.file_size:,} bytes, "
                         f"expected at most {max_bytes:,}")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"array {name!r} has unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"array {name!r} holds Python objects; refused")
        count = math.prod(shape)
        if count * dtype.itemsize > max_bytes:
            raise ValueError(f"array {name!r} declares shape {shape}, too large")
        data = fh.read(count * dtype.itemsize + 1)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"array {name!r} is truncated")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _read_meta(path: Path, zf: zipfile.ZipFile,
               infos: dict[str, zipfile.ZipInfo]) -> tuple[dict[str, Any], TrainConfig, list[int]]:
    """The JSON document, its config and its layer sizes, checked (no array is read)."""
    meta_arr = _read_member(zf, infos, "meta", MAX_META_BYTES)
    if meta_arr.dtype != np.uint8 or meta_arr.ndim != 1:
        raise ValueError("meta is not a UTF-8 byte array")
    meta = parse_json(meta_arr.tobytes(), "metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(path, "not an nnfs-tui checkpoint (no format marker)")
    if meta.get("version") != VERSION:
        raise CheckpointError(path, f"checkpoint version {_short(meta.get('version'))} is not "
                              f"supported (this build reads version {VERSION})")
    unknown = sorted(set(meta) - _META_KEYS)
    if unknown:
        raise CheckpointError(path, f"unexpected metadata {', '.join(unknown[:3])}")
    config = TrainConfig.from_dict(meta.get("config"))
    sizes = meta.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) != len(config.hidden_sizes) + 2
            or not all(_is_int(s, 1, 10_000_000) for s in sizes)
            or tuple(sizes[1:-1]) != config.hidden_sizes):
        raise CheckpointError(path, f"layer sizes {_short(sizes)} do not match the config")
    if not isinstance(meta.get("saved_at", ""), str):
        raise CheckpointError(path, "saved_at is not a time")
    meta["loop"] = _checked_loop(path, meta, config)
    meta["history"] = _checked_history(path, meta, config)
    return meta, config, sizes


def _short(value: Any) -> str:
    """A value from a hostile file, shown in at most 60 characters."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10 ** 30 \
        else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any, low: int, high: int) -> bool:
    """A JSON integer (not a bool) in [low, high]; exact, so 400 digits are no problem."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value: Any, low: float, high: float) -> bool:
    """A finite JSON number (not a bool) in [low, high]."""
    if isinstance(value, int) and not isinstance(value, bool):
        return low <= value <= high
    return isinstance(value, float) and math.isfinite(value) and low <= value <= high


def max_train_samples(config: TrainConfig) -> int:
    """The most training samples a run of ``config`` can have: its subset, else the size of
    the named dataset, else the largest subset a config may ask for. A saved sample order
    (and the position in it) is never longer."""
    if config.subset is not None:
        return config.subset
    return _DATASET_TRAIN_SIZES.get(config.dataset, _MAX_TRAIN_SAMPLES)


def _read(path: Path, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> Checkpoint:
    meta, config, sizes = _read_meta(path, zf, infos)
    dtype = np.dtype(_FLOAT_DTYPES[config.dtype])

    expected: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        expected[f"W{i}"] = (fan_in, fan_out)
        expected[f"b{i}"] = (fan_out,)

    def checked(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arr = _read_member(zf, infos, name, math.prod(shape) * 8 + 1024)
        if arr.dtype != dtype:
            raise CheckpointError(path, f"{name} has dtype {arr.dtype}, expected {dtype}")
        if arr.shape != shape:
            raise CheckpointError(path, f"{name} has shape {arr.shape}, expected {shape}")
        if not np.isfinite(arr).all():
            raise CheckpointError(path, f"{name} holds NaN or infinite values")
        return arr

    params = {key: checked(f"params/{key}", shape) for key, shape in expected.items()}
    from engine.optimizers import OPTIMIZERS

    opt_cls = OPTIMIZERS[config.optimizer]
    opt_state: dict[str, np.ndarray] = {}
    step = _read_member(zf, infos, "optimizer/step", 1024)
    if step.shape != () or step.dtype.kind not in "iu" or not 0 <= int(step) <= _MAX_COUNT:
        raise CheckpointError(path, "optimizer/step is not a non-negative integer")
    opt_state["step"] = step
    known = {"meta.npy", "optimizer/step.npy", "loop/perm.npy"}
    known |= {f"params/{k}.npy" for k in expected}
    slot_names = [f"optimizer/{slot}/{key}" for slot in opt_cls.slots for key in expected]
    present = [name for name in slot_names if name + ".npy" in infos]
    # Before its first update an optimizer has no state; after it, every slot of every
    # parameter. A missing slot is refused rather than silently restarted from zeros.
    if (present and len(present) < len(slot_names)) or (not present and slot_names
                                                         and int(step)):
        missing = [n for n in slot_names if n + ".npy" not in infos]
        raise CheckpointError(path, f"optimizer state is incomplete: {missing[0]} is missing")
    for name in present:
        slot, key = name.split("/")[1:]
        arr = checked(name, expected[key])
        if slot in opt_cls.nonnegative_slots and (arr < 0).any():
            raise CheckpointError(path, f"{name} holds negative values (it is a mean of "
                                  "squares)")
        opt_state[f"{slot}/{key}"] = arr
        known.add(name + ".npy")
    unknown = sorted(set(infos) - known)
    if unknown:
        raise CheckpointError(path, f"unexpected entries {', '.join(unknown[:3])}")

    loop = meta["loop"]
    perm = None
    if "loop/perm.npy" in infos:
        n_max = max_train_samples(config)
        perm = _read_member(zf, infos, "loop/perm", 8 * n_max + 1024)
        if perm.ndim != 1 or perm.dtype.kind not in "iu" or not _is_permutation(perm):
            raise CheckpointError(path, "loop/perm is not a permutation of the samples")
        if not 0 <= loop["position"] < len(perm):
            raise CheckpointError(path, "loop position is outside the interrupted epoch")
    elif loop["position"]:
        raise CheckpointError(path, "saved mid-epoch but the sample order is missing")
    history = meta["history"]
    rng_state = meta.get("rng")
    if rng_state is not None and not isinstance(rng_state, dict):
        raise CheckpointError(path, "RNG state is malformed")
    if isinstance(rng_state, dict):
        probe = np.random.default_rng()
        try:
            probe.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError, OverflowError):
            raise CheckpointError(path, "RNG state is malformed") from None
    return Checkpoint(config=config, sizes=tuple(sizes), params=params,
                      optimizer_state=opt_state, loop=loop, history=history,
                      rng_state=rng_state, perm=perm, saved_at=str(meta.get("saved_at", "")))


def _checked_loop(path: Path, meta: dict[str, Any], config: TrainConfig) -> dict[str, Any]:
    """The loop state, each count a whole number within what the config allows."""
    loop = meta.get("loop")
    n_train = max_train_samples(config)
    # (a run continued with fewer epochs than it had trained saves epoch > config.epochs)
    counts = {"epoch": MAX_EPOCHS, "position": n_train, "step": _MAX_COUNT, "correct": n_train}
    seconds = ("loss_sum", "epoch_seconds", "elapsed")
    if not isinstance(loop, dict):
        raise CheckpointError(path, "loop state is missing or malformed")
    for key, high in counts.items():
        if not _is_int(loop.get(key), 0, high):
            raise CheckpointError(path, f"loop {key} is {_short(loop.get(key))}, expected a "
                                  f"whole number from 0 to {high:,}")
    for key in seconds:
        if not _is_number(loop.get(key), 0, 1e300):
            raise CheckpointError(path, f"loop {key} is {_short(loop.get(key))}, expected a "
                                  "finite number ≥ 0")
    if not isinstance(loop.get("status", ""), str):
        raise CheckpointError(path, "loop status is not text")
    return loop


#: Keys of a history row (EpochEnded.to_dict()).
_HISTORY_KEYS = ("epoch", "epochs", "epoch_seconds", "train_loss", "train_acc", "val_loss",
                 "val_acc", "test_loss", "test_acc", "lr", "step")


def _checked_history(path: Path, meta: dict[str, Any],
                     config: TrainConfig) -> list[dict[str, Any]]:
    """Per-epoch rows: at most one per epoch, each a flat object of known keys whose values
    are finite numbers or null."""
    history = meta.get("history", [])
    if not isinstance(history, list) or len(history) > max(config.epochs, meta["loop"]["epoch"]):
        raise CheckpointError(path, "history is malformed (not a list of at most one row per "
                              "epoch)")
    for i, row in enumerate(history, start=1):
        if not isinstance(row, dict) or not set(row) <= set(_HISTORY_KEYS) or not all(
                v is None or _is_number(v, -1e300, 1e300) for v in row.values()):
            raise CheckpointError(path, f"history row {i} is malformed")
    return history


def _is_permutation(perm: np.ndarray) -> bool:
    n = len(perm)
    if n == 0 or perm.min() < 0 or perm.max() >= n:
        return False
    seen = np.zeros(n, dtype=bool)
    seen[perm] = True
    return bool(seen.all())
