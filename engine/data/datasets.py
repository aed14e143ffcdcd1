"""Datasets of square grey images with integer labels: MNIST, Fashion-MNIST, or IDX files on disk.

``load_dataset("mnist")`` reads the four bundled gzipped IDX files, checks
each against its pinned SHA-256 and caches the decoded arrays as ``.npy``
files (``cache_dir()``), so later loads skip the ~0.2 s of decompression.
``load_dataset("fashion-mnist")`` downloads Fashion-MNIST into
``cache_dir() / "fashion-mnist"`` on first use (see ``engine.data.download``).
``load_dataset("/some/dir")`` reads the same four files from a directory.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.download import (
    FASHION_MNIST_ALIASES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SUBDIR,
    ProgressCallback,
    fetch_fashion_mnist,
    terminal_progress,
)
from engine.data.idx import read_idx
from engine.errors import ConfigError, DatasetError
from engine.fileio import atomic_write

__all__ = ["Dataset", "MNIST_DIR", "MNIST_SHA256", "cache_dir", "load_dataset"]

MNIST_DIR: Path = Path(__file__).resolve().parent / "mnist"
"""Where the bundled MNIST IDX files live inside the package."""

MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""SHA-256 of each *decompressed* bundled file (equal to ``mnist/SHA256SUMS``)."""

_MNIST_SHAPES: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}

_TRAIN_IMAGES, _TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
_TEST_IMAGES, _TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
_CLASSES_FILE = "classes.txt"


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test splits of flattened uint8 images with uint8 labels.

    The arrays are read-only, so one loaded dataset can be shared by many runs.
    A batch is converted to float when it is drawn, e.g. ``x[idx] / 255``.
    """

    name: str
    """Short name shown to people: "mnist", or the directory's name."""
    x_train: np.ndarray
    """Training images, uint8, ``(n_train, n_features)``, each row a C-order flattened image."""
    y_train: np.ndarray
    """Training labels, uint8, ``(n_train,)``, each in ``[0, n_classes)``."""
    x_val: np.ndarray
    """Validation images, uint8, ``(n_val, n_features)``; ``n_val`` is 0 without a split."""
    y_val: np.ndarray
    """Validation labels, uint8, ``(n_val,)``."""
    x_test: np.ndarray
    """Test images, uint8, ``(n_test, n_features)``."""
    y_test: np.ndarray
    """Test labels, uint8, ``(n_test,)``."""
    image_shape: tuple[int, int]
    """``(height, width)`` of one image; ``height * width == n_features``."""
    class_names: tuple[str, ...]
    """Name of each class, indexed by label: "0".."9" for MNIST, "T-shirt/top".. for Fashion."""

    def __post_init__(self) -> None:
        n_features = self.n_features
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2 or x.shape[1] != n_features:
                raise ValueError(
                    f"x_{split}: shape {x.shape}; expected (n, {n_features}) "
                    f"for images of shape {self.image_shape}"
                )
            if y.shape != (x.shape[0],):
                raise ValueError(f"y_{split}: shape {y.shape}; expected ({x.shape[0]},)")
        if len(self.class_names) < 2:
            raise ValueError(f"class_names: {self.class_names!r}; expected at least 2 names")

    @property
    def n_features(self) -> int:
        """Pixels per image, ``height * width`` (784 for MNIST)."""
        return self.image_shape[0] * self.image_shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)`` (10 for MNIST)."""
        return len(self.class_names)


def cache_dir() -> Path:
    """Where decoded arrays are cached.

    ``$NNFS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/nnfs-tui``, else
    ``~/.cache/nnfs-tui``.
    """
    explicit = os.environ.get("NNFS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "nnfs-tui"


def load_dataset(
    name_or_path: str | os.PathLike[str] = "mnist",
    *,
    val_fraction: float = 0.0,
    subset: int | None = None,
    seed: int = 0,
    cache: bool = True,
    progress: ProgressCallback | None = None,
) -> Dataset:
    """Load a dataset and split off validation data; the same arguments give identical arrays.

    ``name_or_path`` is ``"mnist"`` (the bundled copy, SHA-256 checked; this
    name wins over a directory called ``mnist``, use ``"./mnist"`` for that),
    ``"fashion-mnist"`` (also ``"fashion_mnist"`` or ``"fashion"``: downloaded
    into ``cache_dir() / "fashion-mnist"`` on first use, checked on every
    load, see ``engine.data.download.fetch_fashion_mnist``; ``progress`` gets
    ``(file_name, bytes_done, bytes_total)`` during a download and defaults
    to a bar on stderr when stderr is a terminal), or a directory holding
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or
    with ``.gz``, also spelt
    ``train-images.idx3-ubyte``. Images must be square; there are
    ``max(label) + 1`` classes named "0", "1", ... unless the directory
    holds a ``classes.txt`` with one name per line.

    Splitting uses one permutation ``p = default_rng(seed).permutation(n_train)``:
    the last ``round(val_fraction * n_train)`` indices of ``p`` become the
    validation set, and the first ``subset`` of the rest the training set.
    Both keep the file's order (the indices are sorted), so without
    ``val_fraction`` and ``subset`` the training set is the file as is. A
    ``subset`` larger than what is left means all of it. The test set is
    never split or subsetted.

    Only the bundled MNIST is cached as ``.npy`` (``cache=False`` bypasses the cache):
    its decoded arrays live in ``cache_dir()`` as ``<sha256>.npy``, keyed by
    the SHA-256 of the decompressed IDX file, and are re-hashed on every load
    (about 30 ms), so a damaged cache file is noticed, decoded again and
    replaced. Directories are read directly each time.

    Raises ``ConfigError`` for a bad ``val_fraction``, ``subset`` or ``seed``
    and ``DatasetError`` for a missing, malformed or inconsistent file, or a
    download that failed on every mirror.
    """
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, int | float)
        or not math.isfinite(val_fraction)
        or not 0.0 <= val_fraction <= 0.5
    ):
        raise ConfigError("val_fraction", val_fraction, "a finite number in [0, 0.5]")
    if subset is not None and (
        isinstance(subset, bool) or not isinstance(subset, int | np.integer) or subset < 1
    ):
        raise ConfigError("subset", subset, "a whole number >= 1, or None for all samples")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError("seed", seed, "a whole number >= 0")

    key = name_or_path.strip().lower() if isinstance(name_or_path, str) else None
    fixed_class_names: tuple[str, ...] | None = None
    if key == "mnist":
        name = "mnist"
        files = {stem: MNIST_DIR / f"{stem}.gz" for stem in MNIST_SHA256}
        arrays = {}
        unwritable: OSError | None = None
        for stem, sha256 in MNIST_SHA256.items():
            arrays[stem], error = _read_pinned(files[stem], sha256, _MNIST_SHAPES[stem], cache)
            unwritable = unwritable or error
        if unwritable is not None:
            warnings.warn(
                f"not caching decoded MNIST in {cache_dir()}: {unwritable}; loads stay slower",
                RuntimeWarning,
                stacklevel=2,
            )
        class_file = None
    elif key in FASHION_MNIST_ALIASES:
        name = "fashion-mnist"
        directory = cache_dir() / FASHION_MNIST_SUBDIR
        bar = terminal_progress(sys.stderr) if progress is None else None
        try:
            arrays = fetch_fashion_mnist(directory, progress=progress or bar)
        finally:
            if bar is not None:
                bar.close()
        files = {stem: directory / f"{stem}.gz" for stem in arrays}
        class_file = None
        fixed_class_names = FASHION_MNIST_CLASSES
    else:
        directory = Path(name_or_path).expanduser()
        files = _idx_files(name_or_path)
        name = directory.resolve().name or str(directory)
        arrays = {stem: read_idx(path) for stem, path in files.items()}
        class_file = directory / _CLASSES_FILE

    image_shape = _check_images(files, arrays)
    n_labels = _check_labels(files, arrays)
    if fixed_class_names is not None:
        class_names = fixed_class_names  # the download checked labels < len(class_names)
    elif class_file is not None and class_file.is_file():
        class_names = _read_class_names(class_file, n_labels)
    else:
        class_names = tuple(str(k) for k in range(n_labels))

    n_features = image_shape[0] * image_shape[1]
    x_train = arrays[_TRAIN_IMAGES].reshape(-1, n_features)
    y_train = arrays[_TRAIN_LABELS]
    x_val = np.empty((0, n_features), dtype=np.uint8)
    y_val = np.empty((0,), dtype=np.uint8)
    if val_fraction > 0 or subset is not None:
        n = len(y_train)
        order = np.random.default_rng(int(seed)).permutation(n)
        n_val = round(val_fraction * n)
        train_idx = np.sort(order[: n - n_val][:subset])
        val_idx = np.sort(order[n - n_val :])
        x_val, y_val = x_train[val_idx], y_train[val_idx]
        x_train, y_train = x_train[train_idx], y_train[train_idx]

    parts = [x_train, y_train, x_val, y_val]
    parts += [arrays[_TEST_IMAGES].reshape(-1, n_features), arrays[_TEST_LABELS]]
    for part in parts:
        part.setflags(write=False)
    return Dataset(name, *parts, image_shape=image_shape, class_names=class_names)


def check_dataset_source(name_or_path: str | os.PathLike[str]) -> None:
    """Raise the DatasetError ``load_dataset`` would for a name that is no dataset or a
    directory without the four IDX files, without reading them (a form checks as you type);
    the named datasets pass (a download can still fail later)."""
    key = name_or_path.strip().lower() if isinstance(name_or_path, str) else None
    if key != "mnist" and key not in FASHION_MNIST_ALIASES:
        _idx_files(name_or_path)


def _idx_files(name_or_path: str | os.PathLike[str]) -> dict[str, Path]:
    """The four IDX files of a dataset directory, by stem; DatasetError when one is missing
    or the path is no directory."""
    directory = Path(name_or_path).expanduser()
    if not directory.is_dir():
        raise DatasetError(
            name_or_path,
            f"unknown dataset '{os.fspath(name_or_path)}'; "
            "expected 'mnist' or a directory holding the four IDX files "
            "(or 'fashion-mnist', downloaded on first use)",
        )
    return {stem: _find_idx(directory, stem)
            for stem in (_TRAIN_IMAGES, _TRAIN_LABELS, _TEST_IMAGES, _TEST_LABELS)}


def _find_idx(directory: Path, stem: str) -> Path:
    """The path of ``stem`` in ``directory``: raw or ``.gz``, ``-idx`` or ``.idx`` spelling."""
    dotted = stem.replace("-idx", ".idx", 1)
    candidates = [stem, f"{stem}.gz", dotted, f"{dotted}.gz"]
    for candidate in candidates:
        path = directory / candidate
        if path.is_file():
            return path
    raise DatasetError(directory / stem, f"file not found (looked for {', '.join(candidates)})")


def _check_images(files: dict[str, Path], arrays: dict[str, np.ndarray]) -> tuple[int, int]:
    """Both image files hold ``(n, h, h)`` arrays with the same ``h``; return ``(h, h)``."""
    shapes = {}
    for stem in (_TRAIN_IMAGES, _TEST_IMAGES):
        shape = arrays[stem].shape
        if len(shape) != 3:
            raise DatasetError(
                files[stem], f"images must be 3-D (count, height, width); file holds shape {shape}"
            )
        if shape[1] != shape[2]:
            raise DatasetError(
                files[stem],
                f"images are {shape[1]}x{shape[2]} (height x width); expected square images",
            )
        shapes[stem] = shape[1:]
    if shapes[_TRAIN_IMAGES] != shapes[_TEST_IMAGES]:
        raise DatasetError(
            files[_TEST_IMAGES],
            f"test images are {shapes[_TEST_IMAGES][0]}x{shapes[_TEST_IMAGES][1]} but "
            f"training images are {shapes[_TRAIN_IMAGES][0]}x{shapes[_TRAIN_IMAGES][1]}",
        )
    h, w = shapes[_TRAIN_IMAGES]
    return (h, w)


def _check_labels(files: dict[str, Path], arrays: dict[str, np.ndarray]) -> int:
    """Labels are 1-D, one per image; return the number of classes, ``max(label) + 1``."""
    for images, labels in ((_TRAIN_IMAGES, _TRAIN_LABELS), (_TEST_IMAGES, _TEST_LABELS)):
        y = arrays[labels]
        if y.ndim != 1:
            raise DatasetError(files[labels], f"labels must be 1-D; file holds shape {y.shape}")
        n_images = arrays[images].shape[0]
        if len(y) != n_images:
            raise DatasetError(
                files[labels],
                f"holds {len(y)} labels but {files[images].name} holds {n_images} images",
            )
    n_classes = int(max(arrays[_TRAIN_LABELS].max(), arrays[_TEST_LABELS].max())) + 1
    if n_classes < 2:
        raise DatasetError(
            files[_TRAIN_LABELS], "every label is 0; a classifier needs at least 2 classes"
        )
    return n_classes


def _read_class_names(path: Path, n_labels: int) -> tuple[str, ...]:
    """One name per line; at least one per label value (blank lines at the end are ignored)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"cannot be read as UTF-8 text ({exc})") from None
    names = [line.strip() for line in lines]
    while names and not names[-1]:
        names.pop()
    if "" in names:
        raise DatasetError(path, f"line {names.index('') + 1} is empty; expected a class name")
    if len(names) < n_labels:
        raise DatasetError(
            path, f"lists {len(names)} class names but the labels go up to {n_labels - 1}"
        )
    if len(set(names)) != len(names):
        raise DatasetError(path, "class names must be different from each other")
    return tuple(names)


def _idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header of a uint8 array of this shape."""
    return bytes([0, 0, 0x08, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()


def _read_pinned(
    path: Path, sha256: str, shape: tuple[int, ...], cache: bool
) -> tuple[np.ndarray, OSError | None]:
    """Read an IDX file whose SHA-256 and shape are known, through the ``.npy`` cache.

    Returns the array and the error that kept it from being cached, if any.
    """
    if not cache:
        return read_idx(path, sha256=sha256), None
    cached = cache_dir() / f"{sha256}.npy"
    array = _load_cached(cached, sha256, shape)
    if array is not None:
        return array, None
    array = read_idx(path, sha256=sha256)
    return array, _save_cached(cached, array)


def _load_cached(path: Path, sha256: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The cached array if it is intact (right shape, dtype and SHA-256), else None."""
    try:
        array = np.load(path, allow_pickle=False, mmap_mode=None)
    except (OSError, ValueError, EOFError):
        return None  # missing, truncated or garbled: decode again and overwrite
    if not isinstance(array, np.ndarray):  # an .npz archive in its place
        array.close()
        return None
    if array.dtype != np.uint8 or array.shape != shape:
        return None
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(_idx_header(shape))
    digest.update(array)
    if digest.hexdigest() != sha256:
        return None
    return array


def _save_cached(path: Path, array: np.ndarray) -> OSError | None:
    """Write ``array`` to ``path`` atomically (temp file, then rename); return what failed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))
    except OSError as exc:
        return exc
    return None
