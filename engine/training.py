"""The training loop: mini-batch updates, per-epoch evaluation, events and thread-safe controls.

A :class:`Trainer` runs in whatever thread calls :meth:`Trainer.run` (the CLI's main thread,
the app's worker thread). Other threads may call :meth:`pause`, :meth:`resume`, :meth:`stop`,
:meth:`set_hyperparameters` and :meth:`save` at any time; the loop takes them up at the next
batch boundary, so a change never lands in the middle of an update.

    trainer = Trainer(TrainConfig(epochs=3), on_event=print)
    finished = trainer.run()          # RunFinished(status="completed", ...)
"""

from __future__ import annotations

import copy as _copy
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from engine.config import FIELDS, LIVE_FIELDS, TrainConfig, check_field, check_fits_in_memory
from engine.data import Dataset, load_dataset
from engine.errors import CheckpointError, ConfigError
from engine.events import (
    BatchEnded,
    EpochEnded,
    Event,
    HyperparametersChanged,
    LayerStats,
    LiveChange,
    Paused,
    Resumed,
    RunFinished,
    RunStarted,
)
from engine.metrics import evaluate
from engine.network import MLP
from engine.optimizers import Optimizer, make_optimizer
from engine.schedules import lr_factor
from engine.threads import blas_threads

EventHandler = Callable[[Event], None]

#: Hyperparameters the optimizer takes from the config.
#: The longest the evaluation after a stop may take: past it the run reports no test
#: accuracy rather than keep a large network's stop waiting (the whole stop stays under 5 s).
STOP_EVAL_SECONDS = 2.0
_OPTIMIZER_FIELDS = ("momentum", "beta1", "beta2", "alpha", "eps", "weight_decay")


def build_network(config: TrainConfig, n_features: int, n_classes: int) -> MLP:
    """The config's MLP, initialised from its seed."""
    return MLP([n_features, *config.hidden_sizes, n_classes], activation=config.activation,
               init=config.init, dtype=config.dtype,
               seed=np.random.default_rng([config.seed, 0]))


def build_optimizer(config: TrainConfig) -> Optimizer:
    """The config's optimizer with its hyperparameters."""
    return make_optimizer(config.optimizer,
                          **{name: getattr(config, name) for name in _OPTIMIZER_FIELDS})


@dataclass(frozen=True)
class ModelSnapshot:
    """A consistent copy of the model at a batch boundary (taken under the trainer's lock):
    the UI, Inspect and Draw read this, never the live weights training writes."""

    epoch: int
    """Whole epochs the model had trained."""
    step: int
    """Updates it had taken."""
    network: MLP | None
    """A copy whose parameters are read-only arrays of its own (None when not asked for)."""
    test_probs: np.ndarray | None
    """Class probabilities (n_test, classes) of the test set from the last epoch's own
    evaluation (read-only; None before the first epoch ended)."""


def frozen_copy(network: MLP) -> MLP:
    """A copy of ``network`` that shares nothing mutable with it (parameters read-only)."""
    copy = _copy.copy(network)
    params = {}
    for key, value in network.params.items():
        params[key] = np.array(value, copy=True)
        params[key].setflags(write=False)
    copy.params = params
    return copy


def check_live_changes(changes: Mapping[str, Any], n_train: int | None = None) -> dict[str, Any]:
    """The one place a live change is checked: a field that can change during a run, a valid
    value, and (when the training set's size ``n_train`` is known) a batch no larger than it.
    Returns the checked values; raises ConfigError naming the field otherwise."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in LIVE_FIELDS:
            raise ConfigError(name, value, "a field that can change during a run: "
                              + ", ".join(LIVE_FIELDS)) if name in FIELDS else \
                ConfigError("config", name, "one of " + ", ".join(LIVE_FIELDS))
        checked[name] = check_field(name, value)
    if n_train is not None and "batch_size" in checked and checked["batch_size"] > n_train:
        raise ConfigError("batch_size", checked["batch_size"],
                          f"at most the training set size ({n_train:,})")
    return checked


@dataclass
class LoopState:
    """Where the loop is: enough, with the weights and optimizer, to resume bit for bit."""

    epoch: int = 0
    """Whole epochs completed."""
    position: int = 0
    """Samples of the current epoch already trained on."""
    step: int = 0
    """Updates applied."""
    perm: np.ndarray | None = None
    """Order of the training samples in the current epoch."""
    loss_sum: float = 0.0
    """Sum of batch loss × batch size in the current epoch."""
    correct: int = 0
    """Correct predictions in the current epoch, as trained."""
    epoch_seconds: float = 0.0
    """Training seconds spent in the current epoch."""
    elapsed: float = 0.0
    """Training seconds spent in the whole run (pauses excluded)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One EpochEnded.to_dict() per completed epoch."""
    grad_sq: dict[str, float] = field(default_factory=dict)
    """Sum over the epoch's batches of each weight gradient's squared norm."""
    batches: int = 0
    """Batches trained in the current epoch."""
    status: str = "new"
    """new, running, completed, stopped or diverged."""


class Trainer:
    """Trains an MLP on a dataset as a TrainConfig says, reporting through ``on_event``.

    ``batch_event_interval`` throttles BatchEnded events to at most one per that many seconds
    (0: every batch; the last batch of each epoch is always reported). ``threads`` is the BLAS
    thread policy (see :mod:`engine.threads`).
    """

    def __init__(
        self,
        config: TrainConfig,
        dataset: Dataset | None = None,
        *,
        on_event: EventHandler | None = None,
        batch_event_interval: float = 0.0,
        threads: int | str | None = "auto",
        planned_changes: Iterable[LiveChange] = (),
    ) -> None:
        """``planned_changes``: live changes to apply before their ``step``, as if made by
        hand (a rerun replays a run's recorded live changes this way)."""
        if dataset is None:
            dataset = load_dataset(config.dataset, val_fraction=config.val_fraction,
                                   subset=config.subset, seed=config.seed)
        n_train = len(dataset.x_train)
        if config.batch_size > n_train:
            raise ConfigError("batch_size", config.batch_size,
                              f"at most the training set size ({n_train:,} samples)")
        check_fits_in_memory(config, dataset.n_features, dataset.n_classes)
        self.config = config
        self.dataset = dataset
        self.on_event = on_event
        self.batch_event_interval = batch_event_interval
        self.threads = threads
        self.network = build_network(config, dataset.n_features, dataset.n_classes)
        self.optimizer = build_optimizer(config)
        self.state = LoopState()
        self.test_probs: np.ndarray | None = None
        """Class probabilities (n_test, classes) of the test set after the last epoch, from
        the evaluation itself (read-only; a new array each epoch)."""
        self.rng = np.random.default_rng([config.seed, 1])
        self._lock = threading.RLock()
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._pending: dict[str, Any] = {}
        self._pending_saves: list[tuple[Path, threading.Event, list[BaseException]]] = []
        self._planned: dict[int, dict[str, Any]] = {}
        for change in planned_changes:
            step = change.step
            if not (isinstance(step, int) and not isinstance(step, bool) and step >= 1):
                raise ConfigError("planned change step", step, "a whole number ≥ 1")
            self._planned.setdefault(step, {}).update(
                self._check_live({change.field: change.value}))

    # -- controls (safe from any thread) --------------------------------------------------
    def pause(self) -> None:
        """Wait at the next batch boundary until :meth:`resume` or :meth:`stop`."""
        self._running.clear()

    def resume(self) -> None:
        """Go on after :meth:`pause`."""
        self._running.set()

    def stop(self) -> None:
        """End the run at the next batch boundary with status "stopped"."""
        self._stop.set()
        self._running.set()

    @property
    def is_paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def change(self, *changes: LiveChange) -> tuple[LiveChange, ...]:
        """Make live changes from any thread: checked now (a bad value raises ConfigError
        and nothing changes), applied before the next update and reported then by a
        HyperparametersChanged event with their step and epoch. Returns the checked values."""
        checked = self.set_hyperparameters(**{c.field: c.value for c in changes})
        return tuple(LiveChange(name, value) for name, value in checked.items())

    def set_hyperparameters(self, **changes: Any) -> dict[str, Any]:
        """Change live hyperparameters (see ``engine.config.LIVE_FIELDS``) from any thread,
        as :meth:`change` does. Returns the checked values."""
        checked = self._check_live(changes)
        with self._lock:
            self._pending.update(checked)
            if self.state.status != "running":
                self._apply_pending()
        return checked

    def _check_live(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return check_live_changes(changes, n_train=len(self.dataset.x_train))

    def save(self, path: str | Path, *, timeout: float | None = None) -> Path:
        """Write a checkpoint of the run as it stands at a batch boundary.

        From the training thread, or when no run is active, it saves at once; from another
        thread during a run it waits for the loop's next batch boundary.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        with self._lock:
            if self.state.status != "running" or self._in_loop_thread():
                return save_checkpoint(path, self.training_state())
            done = threading.Event()
            errors: list[BaseException] = []
            self._pending_saves.append((path, done, errors))
        if not done.wait(timeout):
            raise TimeoutError(f"{path}: the run did not reach a batch boundary in time")
        if errors:
            raise errors[0]
        return path

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> RunFinished:
        """Train until the planned epochs are done, :meth:`stop` is called or the run diverges.

        Blocks; returns the same RunFinished the handler receives last.
        """
        self._loop_thread = threading.get_ident()
        with blas_threads(self.threads):
            return self._run()

    def _in_loop_thread(self) -> bool:
        return getattr(self, "_loop_thread", None) == threading.get_ident()

    def _run(self) -> RunFinished:
        cfg = self.config
        data = self.dataset
        x_train = data.x_train
        y_train = data.y_train.astype(np.intp)  # once, not per batch
        n_train = len(x_train)
        st = self.state
        with self._lock:
            st.status = "running"
            self._apply_pending()
        self._emit(RunStarted(
            config=self.config, n_train=n_train, n_val=len(data.x_val), n_test=len(data.x_test),
            batches_per_epoch=math.ceil(n_train / self.config.batch_size),
            parameter_count=self.network.parameter_count, start_epoch=st.epoch,
            start_step=st.step, start_epoch_progress=st.epoch + st.position / max(n_train, 1),
            n_features=data.n_features, n_classes=data.n_classes,
            history=tuple(dict(h) for h in st.history)))
        params = self.network.params
        last_emit = -math.inf
        last_finite_loss = float("nan")
        while st.epoch < self.config.epochs:
            if st.perm is None:  # a new epoch (a resumed one keeps its saved order)
                st.perm = self.rng.permutation(n_train)
                st.loss_sum, st.correct, st.epoch_seconds = 0.0, 0, 0.0
                st.grad_sq, st.batches = {}, 0
            batch_no = math.ceil(st.position / self.config.batch_size)
            while st.position < n_train:
                if self._planned and (due := self._planned.pop(st.step + 1, None)):
                    self.set_hyperparameters(**due)  # applied and reported just below
                if not self._at_boundary():
                    return self._finish("stopped")
                t0 = time.perf_counter()
                cfg = self.config
                idx = st.perm[st.position:st.position + cfg.batch_size]
                xb = x_train[idx]  # uint8 pixels: the network scales (and skips zero columns)
                yb = y_train[idx]
                progress = st.epoch + st.position / n_train
                lr = cfg.learning_rate * lr_factor(
                    cfg.schedule, progress, cfg.epochs, warmup=cfg.warmup_epochs,
                    step_epochs=cfg.lr_step_epochs, gamma=cfg.lr_gamma,
                    restart=cfg.lr_restart)
                # Overflow is expected when a run diverges; _non_finite reports it instead.
                with self._lock, np.errstate(over="ignore", invalid="ignore"):
                    loss, acc, grads = self.network.loss_and_grads(
                        xb, yb, dropout=cfg.dropout, rng=self.rng)
                    bad = _non_finite(loss, grads, st.grad_sq)
                    if bad:
                        return self._finish("diverged", reason=(
                            f"{bad} became non-finite at epoch {st.epoch + 1}, step {st.step + 1}"
                            f" (last finite loss {last_finite_loss:.4g})"))
                    self.optimizer.step(params, grads, lr)
                    n = len(idx)
                    st.position += n
                    st.step += 1
                    st.batches += 1
                    st.loss_sum += loss * n
                    st.correct += int(round(acc * n))
                    dt = time.perf_counter() - t0
                    st.epoch_seconds += dt
                    st.elapsed += dt
                last_finite_loss = loss
                batch_no += 1
                batches = batch_no + math.ceil((n_train - st.position) / cfg.batch_size)
                now = time.perf_counter()
                if (st.position >= n_train or self.batch_event_interval <= 0
                        or now - last_emit >= self.batch_event_interval):
                    last_emit = now
                    self._emit(BatchEnded(
                        epoch=st.epoch + 1, batch=batch_no, batches_per_epoch=batches,
                        step=st.step, loss=loss, accuracy=acc, lr=lr,
                        samples_per_second=st.position / max(st.epoch_seconds, 1e-9),
                        elapsed=st.elapsed))
            if bad := _non_finite_params(params):  # e.g. a row the batches never touched
                return self._finish("diverged", reason=(
                    f"{bad} became non-finite in epoch {st.epoch + 1} (by step {st.step})"))
            with self._lock:
                ended = self._end_epoch(n_train, lr)
                stats = self._layer_stats(ended.epoch)
            self._emit(ended)
            self._emit(stats)
        return self._finish("completed")

    def _at_boundary(self) -> bool:
        """Take up controls between updates; False when the run must stop."""
        self._take_pending()
        if not self._running.is_set() and not self._stop.is_set():
            self._emit(Paused(step=self.state.step))
            while not self._running.wait(0.1):
                if self._pending_saves:
                    with self._lock:
                        self._flush_saves()
            if not self._stop.is_set():
                self._emit(Resumed(step=self.state.step))
                # changes made while paused belong to the first update after it
                self._take_pending()
        return not self._stop.is_set()

    def _take_pending(self) -> None:
        """Apply pending live changes (reported with the step they apply to) and saves."""
        if self._pending or self._pending_saves:
            with self._lock:
                changes = self._apply_pending()
                self._flush_saves()
            if changes:
                st = self.state
                step = st.step + 1
                epoch = st.epoch + st.position / len(self.dataset.x_train)
                self._emit(HyperparametersChanged(
                    step=step, epoch_progress=epoch, changes=tuple(
                        LiveChange(name, value, step, epoch) for name, value in changes.items())))

    def _apply_pending(self) -> dict[str, Any]:
        changes = {k: v for k, v in self._pending.items() if getattr(self.config, k) != v}
        self._pending.clear()
        if changes:
            self.config = self.config.replace(**changes)
            self.optimizer.set_hyperparameters(**changes)
        return changes

    def _flush_saves(self) -> None:
        saves, self._pending_saves = self._pending_saves, []
        for path, done, errors in saves:
            try:
                save_checkpoint(path, self.training_state())
            except BaseException as exc:  # handed to the thread that asked
                errors.append(exc)
            done.set()

    def _end_epoch(self, n_train: int, lr: float) -> EpochEnded:
        st = self.state
        data = self.dataset
        has_val = len(data.x_val) > 0
        val_loss, val_acc = evaluate(self.network, data.x_val, data.y_val) if has_val else (
            None, None)
        probs = np.empty((len(data.x_test), self.network.sizes[-1]), dtype=self.network.dtype)
        test_loss, test_acc = evaluate(self.network, data.x_test, data.y_test, probs_out=probs)
        probs.setflags(write=False)
        self.test_probs = probs
        st.epoch += 1
        st.position = 0
        st.perm = None
        ended = EpochEnded(
            epoch=st.epoch, epochs=self.config.epochs, epoch_seconds=st.epoch_seconds,
            train_loss=st.loss_sum / n_train, train_acc=st.correct / n_train,
            val_loss=val_loss, val_acc=val_acc, test_loss=test_loss, test_acc=test_acc,
            lr=lr, step=st.step)
        st.history.append(ended.to_dict())
        return ended

    def _layer_stats(self, epoch: int) -> LayerStats:
        from engine.inspect import dead_unit_share

        st = self.state
        net = self.network
        keys = [k for k in net.params if k.startswith("W")]
        grad_rms = tuple(math.sqrt(st.grad_sq.get(k, 0.0) / max(st.batches, 1)
                                   / net.params[k].size) for k in keys)
        weight_rms = tuple(float(np.sqrt(np.mean(np.square(net.params[k], dtype=np.float64))))
                           for k in keys)
        sample = self.dataset.x_train[:512]
        return LayerStats(epoch=epoch, layers=tuple(keys), grad_rms=grad_rms,
                          weight_rms=weight_rms, dead_share=dead_unit_share(net, sample))

    def _finish(self, status: str, reason: str = "") -> RunFinished:
        st = self.state
        with self._lock:
            st.status = status
            self._flush_saves()
        test_loss = test_acc = None
        if status != "diverged" and (bad := _non_finite_params(self.network.params)):
            status, reason = "diverged", f"{bad} became non-finite (by step {st.step})"
            st.status = status
        if status != "diverged":
            if st.history and st.position == 0:
                test_loss, test_acc = st.history[-1]["test_loss"], st.history[-1]["test_acc"]
            else:  # stopped part-way through an epoch: bounded, so a stop stays quick
                test_loss, test_acc = evaluate(self.network, self.dataset.x_test,
                                               self.dataset.y_test,
                                               deadline=time.monotonic() + STOP_EVAL_SECONDS)
                if not math.isfinite(test_acc):
                    test_loss = test_acc = None
        finished = RunFinished(status=status, epochs_completed=st.epoch, step=st.step,
                               seconds=st.elapsed, reason=reason, test_loss=test_loss,
                               test_acc=test_acc)
        self._emit(finished)
        return finished

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    # -- convenience ----------------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """Per-epoch metrics so far (dicts with the EpochEnded fields)."""
        return self.state.history

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path | Checkpoint,
        dataset: Dataset | None = None,
        *,
        epochs: int | None = None,
        on_event: EventHandler | None = None,
        batch_event_interval: float = 0.0,
        threads: int | str | None = "auto",
    ) -> Trainer:
        """A trainer that continues the run saved at ``path`` (optionally for more epochs);
        ``path`` may also be a Checkpoint already read."""
        ckpt = path if isinstance(path, Checkpoint) else load_checkpoint(path)
        config = ckpt.config if epochs is None else ckpt.config.replace(epochs=epochs)
        trainer = cls(config, dataset, on_event=on_event,
                      batch_event_interval=batch_event_interval, threads=threads)
        trainer.restore(ckpt)
        return trainer

    def training_state(self) -> Checkpoint:
        """The whole training state as a plain value with arrays of its own (taken under the
        lock, so at a batch boundary): what a checkpoint file holds."""
        with self._lock:
            st = self.state
            return Checkpoint(
                config=self.config, sizes=tuple(self.network.sizes),
                params={k: v.copy() for k, v in self.network.params.items()},
                optimizer_state={k: np.array(v, copy=True)
                                 for k, v in self.optimizer.state_dict().items()},
                loop={"epoch": st.epoch, "position": st.position, "step": st.step,
                      "loss_sum": st.loss_sum, "correct": st.correct,
                      "epoch_seconds": st.epoch_seconds, "elapsed": st.elapsed,
                      "status": st.status},
                history=[dict(h) for h in st.history],
                rng_state=self.rng.bit_generator.state,
                perm=None if st.perm is None else st.perm.copy())

    def restore(self, state: Checkpoint) -> None:
        """Put a training state's weights, optimizer state, loop position, history and RNG
        into this trainer, whose network must have the same sizes; raises CheckpointError
        (changing nothing) otherwise."""
        net = self.network
        if tuple(net.sizes) != tuple(state.sizes):
            raise CheckpointError("checkpoint", f"network sizes {list(state.sizes)} do not "
                                  f"match the model's {list(net.sizes)}")
        n_train = len(self.dataset.x_train)
        if state.perm is not None and len(state.perm) != n_train:
            raise CheckpointError("checkpoint", f"saved mid-epoch over {len(state.perm)} "
                                  f"samples but this training set has {n_train}")
        with self._lock:
            try:
                self.optimizer.load_state_dict(state.optimizer_state, state.params)
            except ValueError as exc:
                raise CheckpointError("checkpoint", str(exc)) from None
            for key, value in state.params.items():
                net.params[key][...] = value
            st = self.state
            for name in ("epoch", "position", "step", "loss_sum", "correct", "epoch_seconds",
                         "elapsed"):
                setattr(st, name, type(getattr(st, name))(state.loop[name]))
            st.perm = None if state.perm is None else state.perm.astype(np.intp)
            st.history = [dict(h) for h in state.history]
            if state.rng_state is not None:
                self.rng.bit_generator.state = state.rng_state

    def snapshot(self, *, weights: bool = True) -> ModelSnapshot:
        """A consistent copy of the model as it stands (taken under the lock, so never
        half-way through an update), with the last epoch's test-set probabilities.
        ``weights=False`` skips copying the network (the probabilities alone)."""
        with self._lock:
            st = self.state
            return ModelSnapshot(epoch=st.epoch, step=st.step,
                                 network=frozen_copy(self.network) if weights else None,
                                 test_probs=self.test_probs)


def _non_finite_params(params: dict[str, np.ndarray]) -> str:
    """Name of the first parameter holding NaN or ±Inf ("parameter W1"), or "". One
    reduction per array (run once an epoch and at the end: cheap next to an epoch)."""
    for key, p in params.items():
        if not math.isfinite(float(p.sum(dtype=np.float64))) and not np.isfinite(p).all():
            return f"parameter {key}"
    return ""


def _non_finite(loss: float, grads: dict[str, np.ndarray], grad_sq: dict[str, float]) -> str:
    """Name of the first non-finite quantity ("loss", "gradient of W1", ...), or "".

    Adds each weight gradient's squared norm to ``grad_sq`` (the Inspect view's gradient
    size); the same one reduction per array finds NaN and ±Inf.
    """
    if not math.isfinite(loss):
        return "loss"
    for key, g in grads.items():
        total = float(np.vdot(g, g)) if key[0] == "W" else float(g.sum(dtype=np.float64))
        if not math.isfinite(total):
            # A float32 sum of squares can overflow on finite but huge gradients.
            if not np.isfinite(g).all() or key[0] != "W":
                return f"gradient of {key}"
            total = float(np.vdot(g.astype(np.float64), g.astype(np.float64)))
        if key[0] == "W":
            grad_sq[key] = grad_sq.get(key, 0.0) + total
    return ""
