"""Where trials train: one interface, three backends.

    InProcessExecutor      one trial at a time in a thread of this process (tests, --workers 1)
    LocalProcessExecutor   N worker processes of this machine (default: one per core), kept
                           for the whole sweep, niced, each with one BLAS thread
    DaskExecutor           the workers of a Dask distributed cluster, given its scheduler's
                           address (needs ``pip install 'nnfs-tui[cluster]'``)

The driver (:mod:`engine.sweep.runner`) hands each executor :class:`TrialTask` values and
reads :class:`TrialMessage` values back; it alone writes records. An executor reports a worker
that died mid-trial as a ``lost`` message for that trial, so the driver can retry it. Each
backend carries a trial's stop (``cancel``) and the driver's pruning verdicts (``verdict``)
through its own channel: a thread queue, a ``multiprocessing`` queue and flag, a
``distributed.Event`` and ``distributed.Queue``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from engine.config import TrainConfig
from engine.data import Dataset, load_dataset
from engine.errors import NNFSError
from engine.events import RunFinished
from engine.sweep.trial import (
    VERDICT_WAIT,
    TrialMessage,
    TrialTask,
    check_dataset,
    dataset_digest,
    run_trial,
    worker_datasets,
)

DASK_ENV = "NNFS_DASK_SCHEDULER"
INSTALL_CLUSTER = "a Dask cluster needs the cluster extra: pip install 'nnfs-tui[cluster]'"


class SweepError(NNFSError):
    """A sweep cannot go on (its cluster cannot be reached or went away)."""


class Executor(Protocol):
    """Trains trials somewhere and reports their messages."""

    slots: int
    """How many trials it trains at once."""
    where: str
    """e.g. "2 local processes" or "Dask cluster tcp://127.0.0.1:8786 (4 threads)"."""
    def share(self, dataset: Dataset) -> str:
        """Make ``dataset`` the one tasks naming its digest train on (sent once per worker,
        checked there by SHA-256); returns the digest (:func:`dataset_digest`)."""

    def prepare(self, config: TrainConfig) -> str:
        """Most trials will train on ``config``'s data: have it ready on the workers before
        their first trial. Returns the digest tasks of that data name when it was shared
        (:meth:`share`), "" when the workers load it themselves."""

    def submit(self, task: TrialTask) -> None:
        """Start training ``task`` (at most ``slots`` at once)."""

    def messages(self, timeout: float) -> list[TrialMessage]:
        """What the trials reported since the last call, waiting at most ``timeout``
        seconds for the first; a dead worker's trial comes back as a ``lost`` message."""

    def verdict(self, key: str, epoch: int, stop: bool) -> None:
        """The driver's verdict on trial ``key`` after ``epoch`` (a trial with ``verdicts``
        waits for it): ``stop`` ends it before its next epoch."""

    def cancel(self, key: str) -> None:
        """Stop the trial ``key`` at its next batch (it still reports RunFinished)."""

    def close(self) -> None:
        """Stop every worker this executor started (within about a second)."""


def resolve_workers(workers: int | str | None) -> int:
    """``auto``/None → one per core; else a whole number from 1 to the number of cores."""
    limit = os.cpu_count() or 1
    if workers is None or workers == "auto":
        return limit
    try:
        count = int(workers)
    except (TypeError, ValueError):
        count = 0
    if isinstance(workers, bool) or not 1 <= count <= limit:
        raise NNFSError(f"workers: {workers} is not valid; expected 'auto' or a whole number "
                        f"from 1 to {limit}")
    return count


class InProcessExecutor:
    """One trial at a time, in a thread of this process."""

    def __init__(self) -> None:
        self.slots = 1
        self.where = "this process"
        self._out: queue.Queue[TrialMessage] = queue.Queue()
        self._cancelled: set[str] = set()
        self._verdicts: dict[str, queue.Queue[tuple[str, int, bool]]] = {}
        self._data: dict[str, Dataset] = {}
        self._threads: list[threading.Thread] = []

    def share(self, dataset: Dataset) -> str:
        digest = dataset_digest(dataset)
        self._data = {digest: dataset}
        return digest

    def prepare(self, config: TrainConfig) -> str:
        return ""  # the trial's thread loads it (once: the dataset cache)

    def submit(self, task: TrialTask) -> None:
        verdicts = self._verdicts[task.key] = queue.Queue()
        thread = threading.Thread(
            target=run_trial, name=f"trial-{task.key}", daemon=True,
            args=(task, self._out.put, lambda: task.key in self._cancelled,
                  partial(_await_verdict, verdicts.get, lambda: task.key in self._cancelled,
                          task.key),
                  self._data.get(task.data) if task.data else None))
        self._threads.append(thread)
        thread.start()

    def messages(self, timeout: float) -> list[TrialMessage]:
        return _drain(self._out, timeout)

    def verdict(self, key: str, epoch: int, stop: bool) -> None:
        if (verdicts := self._verdicts.get(key)) is not None:
            verdicts.put((key, epoch, stop))

    def cancel(self, key: str) -> None:
        self._cancelled.add(key)
        self.verdict(key, -1, True)

    def close(self) -> None:
        for thread in self._threads:
            thread.join(timeout=1)


def _drain(q: Any, timeout: float) -> list[TrialMessage]:
    try:
        out = [q.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def _await_verdict(get: Callable[..., tuple[str, int, bool]], gone: Callable[[], bool],
                   key: str, epoch: int, wait: float | None = None) -> bool:
    """Wait (at most ``wait`` seconds, default :data:`VERDICT_WAIT`) for the driver's
    verdict on trial ``key`` after ``epoch``, from ``get(timeout=...)`` giving
    ``(key, epoch, stop)``; epoch -1 (a stop) answers any epoch, another trial's verdicts
    are stale. True: stop. ``gone()`` True (the trial was stopped, the driver is gone) ends
    the wait with a stop; no answer in time: go on."""
    deadline = time.monotonic() + (VERDICT_WAIT if wait is None else wait)
    while (left := deadline - time.monotonic()) > 0:
        try:
            got_key, got, stop = get(timeout=min(left, 0.5))
        except (queue.Empty, TimeoutError):
            if gone():
                return True
            continue
        if got_key == key and got in (epoch, -1):
            return bool(stop)
    return False


@dataclass(frozen=True)
class _Parcel:
    """The driver's dataset, sent to a local worker once (before the first task naming it)."""

    digest: str
    dataset: Dataset


@dataclass(frozen=True)
class _Warm:
    """Load ``config``'s dataset now, before the first task needs it."""

    config: TrainConfig


#: Niceness local workers add to their own by default: with every core training, the
#: driver (and the app's UI thread) still gets one when it needs it.
WORKER_NICE = 5


def _worker_main(tasks: Any, results: Any, verdicts: Any, flags: Any, slot: int,
                 nice: int = 0, parent: int = 0) -> None:
    """A local worker process: train the tasks it is given until it is given None, or
    until the driver that started it is gone.

    It lives for the whole sweep: numpy, the engine and the driver's dataset are loaded once
    and serve all its trials. Ctrl-C and a hang-up reach every process of the terminal's
    group; the driver alone answers them (it stops the trials at their next batch, records
    them and closes the workers), so a worker ignores them instead of dying mid-trial."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker had the driver's
    if nice > 0:
        try:
            os.nice(nice)
        except (AttributeError, OSError):  # not on this platform: the same, less polite
            pass
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # one BLAS thread for the process's life
    data: dict[str, Dataset] = {}
    refused: dict[str, str] = {}

    def gone() -> bool:
        return bool(flags[slot]) or os.getppid() != parent

    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the driver died without closing us
                return
            continue
        if item is None:
            return
        if isinstance(item, _Warm):
            try:
                worker_datasets(item.config)
            except (NNFSError, OSError):  # the trial that needs it reports why
                pass
            continue
        if isinstance(item, _Parcel):
            try:
                data = {item.digest: check_dataset(item.dataset, item.digest)}
            except NNFSError as exc:
                refused[item.digest] = str(exc)
            continue
        if item.data and item.data not in data:
            why = refused.get(item.data, "the driver's dataset did not arrive")
            results.put(TrialMessage(item.key, "failed", reason=why))
            continue
        run_trial(item, results.put, lambda: bool(flags[slot]),
                  partial(_await_verdict, verdicts.get, gone, item.key),
                  data.get(item.data) if item.data else None)


@contextmanager
def _real_stderr() -> Iterator[None]:
    """Starting multiprocessing's resource tracker (the first lock or queue does) hands it
    ``sys.stderr``'s file descriptor; an app that captures stderr (Textual's gives -1) would
    make it fail with "bad value(s) in fds_to_keep", so the process's own stands in
    meanwhile."""
    saved = sys.stderr
    try:
        real = saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        real = False
    if not real and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """A spawned worker inherits the environment at its start: with one OpenBLAS thread
    there, its BLAS never starts a thread pool it would not use."""
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved


def _start_method() -> str:
    """How to start a worker: on Linux, forked when this process has no other thread (the
    CLI's driver: it starts at once, numpy and the engine already imported), else spawned (a
    fresh interpreter: safe from a threaded app, where a fork could copy a lock some other
    thread holds, and on macOS, whose system libraries do not survive a fork)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


class LocalProcessExecutor:
    """``workers`` processes of this machine, started at once and kept for the whole sweep,
    each training one trial at a time with one BLAS thread, niced by ``nice``. The driver's
    dataset (:meth:`share`) is sent to each worker once. A worker killed mid-trial is
    replaced and its trial reported ``lost``."""

    def __init__(self, workers: int | str | None = "auto", *, nice: int = WORKER_NICE,
                 start_method: str | None = None) -> None:
        self.slots = resolve_workers(workers)
        self.nice = nice
        """Niceness the workers add to their own (so that the driver, and an app's UI
        thread, win a busy core: keys stay quick while every core trains)."""
        self.where = f"{self.slots} local process{'es' * (self.slots != 1)}"
        self.start_method = start_method
        """"fork" or "spawn" for every worker; None: fork while this process has no other
        thread, else spawn (see :func:`_start_method`)."""
        self.forked = (start_method or _start_method()) == "fork"
        """The workers were forked (numpy, the engine at hand), not spawned."""
        self._ctx = mp.get_context("spawn")
        with _real_stderr():  # the queues' locks start the resource tracker
            self._results = self._ctx.Queue()
            self._flags = self._ctx.Array("b", self.slots, lock=False)
        self._procs: list[Any] = [None] * self.slots
        self._tasks: list[Any] = [None] * self.slots
        self._verdicts: list[Any] = [None] * self.slots
        self._busy: list[str | None] = [None] * self.slots
        self._sent: list[set[str]] = [set() for _ in range(self.slots)]
        self._data: tuple[str, Dataset] | None = None
        for slot in range(self.slots):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        with _real_stderr(), _one_blas_thread():
            self._tasks[slot] = self._ctx.Queue()
            self._verdicts[slot] = self._ctx.Queue()
            method = self.start_method or _start_method()
            if method == "fork":  # what the driver has buffered must not be written twice
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except (AttributeError, OSError, ValueError):
                        pass
            ctx = mp.get_context(method)
            proc = ctx.Process(target=_worker_main, name=f"nnfs-sweep-worker-{slot}",
                                     args=(self._tasks[slot], self._results,
                                           self._verdicts[slot], self._flags, slot,
                                           self.nice, os.getpid()),
                                     daemon=True)
            proc.start()
        self._procs[slot] = proc
        self._sent[slot] = set()

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (a test kills one)."""
        return [p.pid for p in self._procs]

    def share(self, dataset: Dataset) -> str:
        digest = dataset_digest(dataset)
        self._data = (digest, dataset)
        return digest

    def prepare(self, config: TrainConfig) -> str:
        """Forked workers load the data themselves, at once and side by side; spawned ones
        are still importing the engine, so the driver loads it meanwhile and sends it."""
        if self.forked:
            for slot in range(self.slots):
                self._tasks[slot].put(_Warm(config))
            return ""
        try:
            dataset = load_dataset(config.dataset, val_fraction=config.val_fraction,
                                   subset=config.subset, seed=config.seed)
        except (NNFSError, OSError):  # each trial loads its own and reports why
            return ""
        return self.share(dataset)

    def submit(self, task: TrialTask) -> None:
        slot = next(i for i, key in enumerate(self._busy) if key is None)
        self._flags[slot] = 0  # cleared before the task travels: a cancel is never lost
        self._busy[slot] = task.key
        if task.data and task.data not in self._sent[slot]:
            if self._data is not None and self._data[0] == task.data:
                self._tasks[slot].put(_Parcel(*self._data))
                self._sent[slot] = {task.data}  # a worker keeps one dataset
        self._tasks[slot].put(task)

    def messages(self, timeout: float) -> list[TrialMessage]:
        out = self._read(timeout)
        for slot, proc in enumerate(self._procs):
            if proc.is_alive():
                continue
            out += self._read(0)  # what it said before it died
            key = self._busy[slot]
            self._busy[slot] = None
            self._spawn(slot)
            if key is not None:
                code = proc.exitcode or 0
                why = f"signal {-code}" if code < 0 else f"exit status {code}"
                out.append(TrialMessage(key, "lost",
                                        reason=f"its worker process {proc.pid} died ({why})"))
        return out

    def _read(self, timeout: float) -> list[TrialMessage]:
        out = _drain(self._results, timeout)
        for msg in out:
            if msg.kind == "failed" or isinstance(msg.event, RunFinished):
                self._free(msg.key)
        return out

    def _free(self, key: str) -> None:
        for slot, busy in enumerate(self._busy):
            if busy == key:
                self._busy[slot] = None

    def verdict(self, key: str, epoch: int, stop: bool) -> None:
        for slot, busy in enumerate(self._busy):
            if busy == key:
                self._verdicts[slot].put((key, epoch, stop))

    def cancel(self, key: str) -> None:
        for slot, busy in enumerate(self._busy):
            if busy == key:
                self._flags[slot] = 1
                self._verdicts[slot].put((key, -1, True))

    def close(self, timeout: float = 1.0) -> None:
        """Tell every worker to end (a running trial stops at its next batch), wait at most
        ``timeout`` seconds for them, then kill the rest."""
        for slot, proc in enumerate(self._procs):
            if proc.is_alive():
                self._flags[slot] = 1
                if (key := self._busy[slot]) is not None:
                    self._verdicts[slot].put((key, -1, True))
                self._tasks[slot].put(None)
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=1)
        for q in (*self._tasks, *self._verdicts):
            q.close()
            q.cancel_join_thread()  # a killed worker's unread data must not hold us


_received: dict[str, Dataset] = {}
"""The driver's datasets this Dask worker process has checked, by SHA-256."""


def _dask_dataset(task: TrialTask, dataset: Dataset | None) -> Dataset | None:
    """The dataset ``task`` trains on: the driver's (scattered once to every worker, whose
    copy is checked by SHA-256 once), else None (the worker loads the config's own)."""
    if not task.data:
        return None
    if task.data not in _received:
        if dataset is None:
            raise NNFSError("the driver's dataset did not reach this Dask worker")
        _received.clear()  # one at a time
        _received[task.data] = check_dataset(dataset, task.data)
    return _received[task.data]


def _dask_trial(task: TrialTask, ns: str, dataset: Dataset | None = None) -> None:
    """A trial on a Dask worker: messages go through a ``distributed.Queue``, cancellation
    through a ``distributed.Event`` (asked at most every 0.2 s), verdicts through a
    ``distributed.Queue`` of the trial's own. Run again by the scheduler after its worker
    died, it only reports ``lost``: the driver retries it from the trial's last epoch
    checkpoint, which this copy of the task does not have."""
    from distributed import Event, Queue

    out = Queue(f"{ns}-messages")
    began = Event(f"{ns}-began-{task.key}-{task.attempt}")

    def emit(msg: TrialMessage) -> None:
        out.put(pickle.dumps(msg))

    if began.is_set():
        emit(TrialMessage(task.key, "lost", reason="its Dask worker died"))
        return
    began.set()
    stop = Event(f"{ns}-stop-{task.key}")
    last = [0.0, False]

    def cancelled() -> bool:
        now = time.monotonic()
        if not last[1] and now - last[0] >= 0.2:
            last[0], last[1] = now, stop.is_set()
        return bool(last[1])

    try:
        data = _dask_dataset(task, dataset)
    except NNFSError as exc:
        emit(TrialMessage(task.key, "failed", reason=str(exc)))
        return
    verdict = None
    if task.verdicts:
        verdict = partial(_await_verdict, partial(_poll, Queue(_verdict_queue(ns, task))),
                          lambda: stop.is_set(), task.key)
    run_trial(task, emit, cancelled, verdict, data)


def _poll(q: Any, timeout: float, batch: bool = False, every: float = 0.02) -> Any:
    """``q.get(timeout=...)`` of a ``distributed.Queue`` without its timeout: the scheduler
    logs every timed-out get as an error, so this asks the queue's size instead (``every``
    seconds) and gets only what is there. Raises TimeoutError when nothing came."""
    deadline = time.monotonic() + timeout
    while q.qsize() == 0:
        if time.monotonic() >= deadline:
            raise TimeoutError
        time.sleep(every)
    return q.get(batch=True) if batch else q.get()


def _verdict_queue(ns: str, task: TrialTask) -> str:
    return f"{ns}-verdicts-{task.key}-{task.attempt}"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SweepError(INSTALL_CLUSTER) from None
    return distributed


class DaskExecutor:
    """The workers of a Dask cluster given by its scheduler's address. Trials are Dask
    futures; messages come home through a named ``distributed.Queue``; a trial is stopped
    through a named ``distributed.Event`` and told its verdicts through a named
    ``distributed.Queue``; the driver's dataset (:meth:`share`) is scattered to every worker
    once. Nothing is written on the workers."""

    def __init__(self, address: str, workers: int | None = None) -> None:
        distributed = _import_distributed()
        try:
            self._client = distributed.Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.address = address
        self._ns = f"nnfs-sweep-{uuid.uuid4().hex[:12]}"
        self._queue = distributed.Queue(f"{self._ns}-messages", client=self._client)
        threads = sum(self._client.nthreads().values()) or 1
        self.slots = workers or threads
        self.where = f"Dask cluster {address} ({threads} worker thread{'s' * (threads != 1)})"
        self._futures: dict[str, Any] = {}
        self._tasks: dict[str, TrialTask] = {}
        self._data: tuple[str, Dataset] | None = None
        self._scattered: Any = None
        self._distributed = distributed

    def share(self, dataset: Dataset) -> str:
        digest = dataset_digest(dataset)
        self._data, self._scattered = (digest, dataset), None
        return digest

    def prepare(self, config: TrainConfig) -> str:
        return ""  # each worker loads the bundled data from its own install

    def submit(self, task: TrialTask) -> None:
        data = None
        if task.data and self._data is not None and self._data[0] == task.data:
            if self._scattered is None:  # one copy to every worker, once
                self._scattered = self._client.scatter(self._data[1], broadcast=True,
                                                       hash=False)
            data = self._scattered
        self._tasks[task.key] = task
        self._futures[task.key] = self._client.submit(
            _dask_trial, task, self._ns, data, key=f"{self._ns}-{task.key}-{task.attempt}",
            pure=False, retries=0)

    def messages(self, timeout: float) -> list[TrialMessage]:
        out: list[TrialMessage] = []
        try:
            if self._client.status not in ("running", "connecting"):
                raise OSError(f"client {self._client.status}")
            try:
                out += [pickle.loads(b) for b in _poll(self._queue, timeout, batch=True,
                                                       every=0.05)]
            except TimeoutError:
                pass
        except (OSError, self._distributed.comm.CommClosedError) as exc:
            raise SweepError(f"the Dask scheduler at {self.address} went away ({exc}); "
                             "the trials finished so far are recorded") from None
        done = {m.key for m in out if m.kind in ("failed", "lost")
                or isinstance(m.event, RunFinished)}
        for key, fut in list(self._futures.items()):
            if key in done:
                del self._futures[key]
            elif fut.status == "error":
                del self._futures[key]
                exc = fut.exception()
                out.append(TrialMessage(key, "lost", reason=f"{type(exc).__name__}: {exc}"))
            elif fut.status == "cancelled":
                del self._futures[key]
        return out

    def verdict(self, key: str, epoch: int, stop: bool) -> None:
        task = self._tasks.get(key)
        if task is None or not task.verdicts:
            return
        try:
            self._distributed.Queue(_verdict_queue(self._ns, task),
                                    client=self._client).put((key, epoch, stop))
        except OSError:  # the scheduler went away: the next messages() says so
            pass

    def cancel(self, key: str) -> None:
        try:
            self._distributed.Event(f"{self._ns}-stop-{key}", client=self._client).set()
        except OSError:
            pass
        self.verdict(key, -1, True)

    def close(self) -> None:
        try:
            for fut in self._futures.values():
                fut.cancel()
            self._client.close(timeout=2)
        except Exception:  # noqa: BLE001 - a scheduler already gone has nothing to close
            pass


def make_executor(workers: int | str | None = "auto", cluster: str | None = None) -> Executor:
    """The executor a sweep's settings ask for: a Dask cluster when ``cluster`` (or
    ``$NNFS_DASK_SCHEDULER``) gives an address, else one process per worker, else (one
    worker) this process."""
    cluster = cluster or os.environ.get(DASK_ENV) or None
    if cluster:
        return DaskExecutor(cluster, None if workers in (None, "auto") else
                            resolve_workers_any(workers))
    count = resolve_workers(workers)
    return InProcessExecutor() if count == 1 else LocalProcessExecutor(count, nice=WORKER_NICE)


def resolve_workers_any(workers: int | str) -> int:
    """A worker count for a cluster: any whole number ≥ 1 (not bounded by this machine)."""
    try:
        count = int(workers)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise NNFSError(f"workers: {workers} is not valid; expected 'auto' or a whole "
                        "number ≥ 1")
    return count
