"""The IDX reader, the bundled MNIST, directory datasets, splits and the .npy cache."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.data.datasets as datasets_module
from engine.data import MNIST_DIR, MNIST_SHA256, Dataset, cache_dir, load_dataset, read_idx
from engine.errors import ConfigError, DatasetError

# --- helpers -----------------------------------------------------------------


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file holding ``array`` (its bytes as they are, after the header)."""
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array).tobytes()


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, gzip-compressed when the name ends in .gz."""
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def synthetic_images(n: int, side: int = 8, first_id: int = 0) -> np.ndarray:
    """``(n, side, side)`` uint8 images, each unique: pixels 0 and 1 hold its id."""
    images = np.full((n, side, side), 7, dtype=np.uint8)
    ids = np.arange(first_id, first_id + n)
    images[:, 0, 0] = ids // 256
    images[:, 0, 1] = ids % 256
    return images


def image_ids(x: np.ndarray) -> np.ndarray:
    """The ids ``synthetic_images`` wrote into flattened images ``(n, features)``."""
    return x[:, 0].astype(np.int64) * 256 + x[:, 1]


def make_dataset_dir(
    directory: Path,
    *,
    n_train: int = 90,
    n_test: int = 30,
    side: int = 8,
    n_classes: int = 3,
    gz: tuple[bool, bool, bool, bool] = (True, False, True, False),
) -> Path:
    """Four synthetic IDX files (some raw, some gzipped) with labels ``id % n_classes``."""
    directory.mkdir(parents=True, exist_ok=True)
    train = synthetic_images(n_train, side)
    test = synthetic_images(n_test, side, first_id=n_train)
    contents = {
        "train-images-idx3-ubyte": idx_bytes(train),
        "train-labels-idx1-ubyte": idx_bytes((np.arange(n_train) % n_classes).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(test),
        "t10k-labels-idx1-ubyte": idx_bytes((np.arange(n_test) % n_classes).astype(np.uint8)),
    }
    for (stem, data), compressed in zip(contents.items(), gz, strict=True):
        write(directory / (stem + (".gz" if compressed else "")), data)
    return directory


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test caches into its own folder, never the real home cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NNFS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    """The bundled MNIST, decoded once for the module without touching any cache."""
    return load_dataset("mnist", cache=False)


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    return make_dataset_dir(tmp_path / "tiny")


# --- the bundled MNIST ---------------------------------------------------------


def test_mnist_has_the_published_shapes_and_labels(mnist: Dataset) -> None:
    assert mnist.name == "mnist"
    assert mnist.x_train.shape == (60000, 784) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 784) and mnist.x_test.dtype == np.uint8
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.uint8
    assert mnist.x_val.shape == (0, 784) and mnist.y_val.shape == (0,)
    assert mnist.image_shape == (28, 28)
    assert (mnist.n_features, mnist.n_classes) == (784, 10)
    assert mnist.class_names == tuple("0123456789")
    counts = np.bincount(mnist.y_train, minlength=10)
    assert counts.shape == (10,) and counts.sum() == 60000 and counts.min() > 5000
    assert set(np.unique(mnist.y_test)) == set(range(10))
    # the well-known first samples: a 5 in training, a 7 in test; pixels span 0..255
    assert (mnist.y_train[0], mnist.y_test[0]) == (5, 7)
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 255


def test_mnist_arrays_are_read_only(mnist: Dataset) -> None:
    with pytest.raises(ValueError):
        mnist.x_train[0, 0] = 1
    with pytest.raises(ValueError):
        mnist.y_test[0] = 1


def test_pinned_hashes_match_the_shipped_sha256sums() -> None:
    listed = dict(
        reversed(line.split()) for line in (MNIST_DIR / "SHA256SUMS").read_text().splitlines()
    )
    assert listed == MNIST_SHA256


def test_mnist_validation_split_sizes(
    mnist: Dataset, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNFS_CACHE_DIR", str(warm_cache))
    ds = load_dataset("mnist", val_fraction=0.1, seed=3)
    assert ds.x_train.shape == (54000, 784) and ds.x_val.shape == (6000, 784)
    assert ds.y_train.shape == (54000,) and ds.y_val.shape == (6000,)
    np.testing.assert_array_equal(ds.x_test, mnist.x_test)
    assert np.bincount(ds.y_train, minlength=10).sum() + np.bincount(ds.y_val).sum() == 60000


# --- read_idx ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_raw_and_gzip(tmp_path: Path, suffix: str) -> None:
    array = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    path = write(tmp_path / f"four-d{suffix}", idx_bytes(array))
    got = read_idx(path)
    np.testing.assert_array_equal(got, array)
    assert got.dtype == np.uint8 and got.shape == (2, 3, 4, 5)
    got[0, 0, 0, 0] = 99  # a fresh buffer of its own
    assert got.flags.writeable


def test_read_idx_accepts_the_right_checksum_and_multi_member_gzip(tmp_path: Path) -> None:
    data = idx_bytes(np.arange(100, dtype=np.uint8))
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(data[:30]) + gzip.compress(data[30:]))
    got = read_idx(path, sha256=hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(got, np.arange(100))


def test_read_idx_reports_a_checksum_mismatch() -> None:
    path = MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DatasetError) as info:
        read_idx(path, sha256="00" * 32)
    message = str(info.value)
    assert str(path) in message and "checksum mismatch" in message
    assert MNIST_SHA256["t10k-labels-idx1-ubyte"] in message  # the hash it got


def test_read_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope-idx1-ubyte: file not found"):
        read_idx(tmp_path / "nope-idx1-ubyte")


LABELS = np.arange(10, dtype=np.uint8)
BAD_FILES = {
    "bad magic": (b"\x01\x02\x08\x01" + idx_bytes(LABELS)[4:], "bad magic 0x01020801"),
    "unknown type": (idx_bytes(LABELS, type_code=0x42), "unknown data type code 0x42"),
    "float32": (idx_bytes(LABELS, type_code=0x0D), "unsupported IDX data type 0x0D"),
    "int32": (idx_bytes(LABELS, type_code=0x0C), "unsupported IDX data type 0x0C"),
    "zero ndim": (b"\x00\x00\x08\x00", "unsupported number of dimensions 0"),
    "five ndim": (b"\x00\x00\x08\x05" + b"\x00\x00\x00\x01" * 5 + b"\x00", "dimensions 5"),
    "zero dim": (idx_bytes(np.zeros((3, 0), np.uint8)), "zero dimension"),
    "short header": (b"\x00\x00", "truncated: 2 bytes, shorter than the 4-byte IDX header"),
    "cut dims": (b"\x00\x00\x08\x03\x00\x00\x00\x02\x00", "truncated: file ends inside the header"),
    "truncated": (
        idx_bytes(LABELS)[:-4],
        "truncated: header declares 10 bytes of data, file has 6",
    ),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_read_idx_rejects_malformed_files(tmp_path: Path, case: str, suffix: str) -> None:
    data, problem = BAD_FILES[case]
    path = write(tmp_path / f"bad-idx1-ubyte{suffix}", data)
    with pytest.raises(DatasetError) as info:
        read_idx(path)
    assert str(info.value).startswith(f"{path}: ")
    assert problem in str(info.value)


@pytest.mark.parametrize(("suffix", "has"), [("", "file has 12"), (".gz", "file has more than 10")])
def test_read_idx_rejects_trailing_bytes(tmp_path: Path, suffix: str, has: str) -> None:
    path = write(tmp_path / f"long{suffix}", idx_bytes(LABELS) + b"\x01\x02")
    with pytest.raises(DatasetError, match=f"trailing data: header declares 10 bytes.*{has}"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    ("dims", "problem"),
    [
        ((4_000_000_000,), "implausible size"),  # 4e9 items
        ((10_000_000, 4096), "truncated: header declares 40960000000 bytes"),  # within limits
        ((70_000, 65_536, 65_536), "implausible size"),
    ],
)
def test_a_lying_header_fails_without_allocating(
    tmp_path: Path, suffix: str, dims: tuple[int, ...], problem: str
) -> None:
    header = bytes([0, 0, 8, len(dims)]) + np.asarray(dims, ">u4").tobytes()
    path = write(tmp_path / f"liar{suffix}", header + b"\x05" * (20 - len(header)))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=problem):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_a_gzip_bomb_is_not_inflated(tmp_path: Path) -> None:
    """64 MB of zeros behind a header declaring 10 bytes: memory stays small."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(idx_bytes(LABELS))]
    zeros = bytes(2**20)
    parts += [compressor.compress(zeros) for _ in range(64)]
    path = tmp_path / "bomb.gz"
    path.write_bytes(b"".join(parts) + compressor.flush())
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="trailing data: header declares 10 bytes"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_read_idx_rejects_corrupt_gzip(tmp_path: Path) -> None:
    compressed = bytearray(gzip.compress(idx_bytes((np.arange(5000) % 251).astype(np.uint8))))
    compressed[len(compressed) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.gz"
    flipped.write_bytes(bytes(compressed))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(bytes(compressed[: len(compressed) // 2]))
    fake = tmp_path / "fake.gz"
    fake.write_bytes(b"this is not gzip at all")
    for path in (flipped, cut, fake):
        with pytest.raises(DatasetError) as info:
            read_idx(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "not a valid gzip file" in message, message


def test_read_idx_rejects_garbage_after_the_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "tail.gz"
    path.write_bytes(gzip.compress(idx_bytes(LABELS)) + b"garbage")
    with pytest.raises(DatasetError, match="not a valid gzip file"):
        read_idx(path)


VALID = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """Random bytes, or a valid IDX file (raw or gzipped) with bytes flipped, cut or added."""
    kind = draw(st.sampled_from(["random", "raw", "gzip"]))
    if kind == "random":
        return draw(st.binary(max_size=64))
    data = bytearray(VALID if kind == "raw" else gzip.compress(VALID))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "extend"]))
        if action == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[draw(st.integers(0, len(data))) :]
        else:
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


# the file is rewritten by every example, so sharing tmp_path between examples is fine
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated_files(), suffix=st.sampled_from(["", ".gz"]))
def test_read_idx_returns_an_array_or_raises_dataset_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except DatasetError as exc:
        assert str(exc).startswith(f"{path}: ")
    else:
        assert array.dtype == np.uint8 and 1 <= array.ndim <= 4 and array.size > 0


# --- directory datasets ----------------------------------------------------------


def test_a_directory_of_raw_and_gzipped_files_loads(synthetic_dir: Path) -> None:
    ds = load_dataset(synthetic_dir)
    assert ds.name == "tiny"
    assert ds.image_shape == (8, 8) and ds.n_features == 64
    assert ds.class_names == ("0", "1", "2") and ds.n_classes == 3
    assert ds.x_train.shape == (90, 64) and ds.x_test.shape == (30, 64)
    assert ds.x_val.shape == (0, 64) and ds.y_val.shape == (0,)
    np.testing.assert_array_equal(image_ids(ds.x_train), np.arange(90))
    np.testing.assert_array_equal(ds.y_train, np.arange(90) % 3)
    np.testing.assert_array_equal(image_ids(ds.x_test), np.arange(90, 120))
    np.testing.assert_array_equal(ds.x_train[5].reshape(8, 8), synthetic_images(90)[5])
    assert not cache_dir().exists()  # directories are read directly, never cached


def test_dotted_file_names_and_classes_txt(tmp_path: Path) -> None:
    directory = make_dataset_dir(tmp_path / "letters", side=5, gz=(False,) * 4)
    for path in directory.iterdir():
        path.rename(directory / path.name.replace("-idx", ".idx"))
    (directory / "classes.txt").write_text("alpha\nbeta\ngamma\ndelta\n\n")
    ds = load_dataset(str(directory))
    assert ds.image_shape == (5, 5)
    assert ds.class_names == ("alpha", "beta", "gamma", "delta") and ds.n_classes == 4


def test_classes_txt_with_too_few_names(synthetic_dir: Path) -> None:
    (synthetic_dir / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DatasetError, match=r"classes.txt: lists 2 class names.*up to 2"):
        load_dataset(synthetic_dir)


def test_a_missing_file_is_named(synthetic_dir: Path) -> None:
    (synthetic_dir / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError) as info:
        load_dataset(synthetic_dir)
    message = str(info.value)
    assert str(synthetic_dir / "t10k-labels-idx1-ubyte") in message and "file not found" in message


def test_label_and_image_counts_must_match(synthetic_dir: Path) -> None:
    write(synthetic_dir / "train-labels-idx1-ubyte", idx_bytes(np.zeros(89, np.uint8) + 1))
    with pytest.raises(DatasetError) as info:
        load_dataset(synthetic_dir)
    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message
    assert "89 labels" in message and "90 images" in message


def test_images_must_be_square(synthetic_dir: Path) -> None:
    (synthetic_dir / "train-images-idx3-ubyte.gz").unlink()
    path = write(
        synthetic_dir / "train-images-idx3-ubyte", idx_bytes(np.zeros((90, 8, 6), np.uint8))
    )
    with pytest.raises(DatasetError) as info:
        load_dataset(synthetic_dir)
    assert str(path) in str(info.value) and "8x6" in str(info.value)
    assert "square" in str(info.value)


def test_labels_must_be_one_dimensional_and_hold_two_classes(synthetic_dir: Path) -> None:
    path = write(synthetic_dir / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros((30, 2), np.uint8)))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte: labels must be 1-D"):
        load_dataset(synthetic_dir)
    write(path, idx_bytes(np.zeros(30, np.uint8)))
    write(synthetic_dir / "train-labels-idx1-ubyte", idx_bytes(np.zeros(90, np.uint8)))
    with pytest.raises(DatasetError, match="at least 2 classes"):
        load_dataset(synthetic_dir)


@pytest.mark.parametrize("name", ["foo", "mnist-fashion", "/no/such/directory"])
def test_an_unknown_dataset_name(name: str) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset(name)
    assert (
        f"unknown dataset '{name}'; expected 'mnist' or a directory holding the four IDX files"
        in str(info.value)
    )


# --- validation split and subset ----------------------------------------------------


def test_split_sizes_and_disjointness(synthetic_dir: Path) -> None:
    ds = load_dataset(synthetic_dir, val_fraction=0.2, seed=1)
    assert ds.x_train.shape == (72, 64) and ds.y_train.shape == (72,)
    assert ds.x_val.shape == (18, 64) and ds.y_val.shape == (18,)
    train_ids, val_ids = image_ids(ds.x_train), image_ids(ds.x_val)
    assert set(train_ids).isdisjoint(val_ids)
    assert sorted([*train_ids, *val_ids]) == list(range(90))
    # rows keep the file's order, and each label still belongs to its image
    assert list(train_ids) == sorted(train_ids) and list(val_ids) == sorted(val_ids)
    np.testing.assert_array_equal(ds.y_train, train_ids % 3)
    np.testing.assert_array_equal(ds.y_val, val_ids % 3)
    assert image_ids(ds.x_test).tolist() == list(range(90, 120))  # never split


def test_split_and_subset_are_deterministic_per_seed(synthetic_dir: Path) -> None:
    first = load_dataset(synthetic_dir, val_fraction=0.3, subset=20, seed=7)
    again = load_dataset(synthetic_dir, val_fraction=0.3, subset=20, seed=7)
    other = load_dataset(synthetic_dir, val_fraction=0.3, subset=20, seed=8)
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    assert not np.array_equal(image_ids(first.x_val), image_ids(other.x_val))
    assert not np.array_equal(image_ids(first.x_train), image_ids(other.x_train))


def test_subset_takes_a_random_sample_of_the_training_part(synthetic_dir: Path) -> None:
    full = load_dataset(synthetic_dir, val_fraction=0.5, seed=2)
    ds = load_dataset(synthetic_dir, val_fraction=0.5, subset=12, seed=2)
    assert ds.x_train.shape == (12, 64) and ds.y_train.shape == (12,)
    np.testing.assert_array_equal(ds.x_val, full.x_val)  # the split does not move
    ids = image_ids(ds.x_train)
    assert set(ids) <= set(image_ids(full.x_train))
    assert ids.tolist() != list(range(12))  # a sample, not the head of the file
    only_subset = load_dataset(synthetic_dir, subset=40, seed=2)
    assert only_subset.x_train.shape == (40, 64) and only_subset.x_val.shape == (0, 64)


def test_a_subset_larger_than_the_data_keeps_everything(synthetic_dir: Path) -> None:
    ds = load_dataset(synthetic_dir, val_fraction=0.1, subset=10_000)
    assert ds.x_train.shape == (81, 64) and ds.x_val.shape == (9, 64)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"val_fraction": 0.6}, "val_fraction"),
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"val_fraction": float("nan")}, "val_fraction"),
        ({"val_fraction": float("inf")}, "val_fraction"),
        ({"val_fraction": "0.1"}, "val_fraction"),
        ({"subset": 0}, "subset"),
        ({"subset": -5}, "subset"),
        ({"subset": 2.5}, "subset"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_split_arguments_raise_config_error(
    synthetic_dir: Path, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_dataset(synthetic_dir, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    if field == "val_fraction":
        assert "a finite number in [0, 0.5]" in str(info.value)


def test_dataset_checks_its_shapes() -> None:
    x, y = np.zeros((4, 9), np.uint8), np.zeros(4, np.uint8)
    empty_x, empty_y = np.zeros((0, 9), np.uint8), np.zeros(0, np.uint8)
    ds = Dataset("t", x, y, empty_x, empty_y, x, y, image_shape=(3, 3), class_names=("a", "b"))
    assert (ds.n_features, ds.n_classes) == (9, 2)
    with pytest.raises(ValueError, match="x_test"):
        Dataset(
            "t", x, y, empty_x, empty_y, x[:, :8], y, image_shape=(3, 3), class_names=("a", "b")
        )
    with pytest.raises(ValueError, match="y_train"):
        Dataset("t", x, y[:3], empty_x, empty_y, x, y, image_shape=(3, 3), class_names=("a", "b"))


# --- the .npy cache ----------------------------------------------------------------


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NNFS_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("NNFS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "nnfs-tui"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "nnfs-tui"


def assert_same_data(a: Dataset, b: Dataset) -> None:
    # np.array_equal: assert_array_equal takes ~0.7 s on 47 MB
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder filled once by a cold MNIST load; copy it before changing it."""
    folder = tmp_path_factory.mktemp("warm") / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNFS_CACHE_DIR", str(folder))
        load_dataset("mnist")
    return folder


def refuse_to_decode(*args: object, **kwargs: object) -> np.ndarray:
    raise AssertionError("decoded an IDX file although the cache holds it")


def test_a_cold_load_writes_the_cache(mnist: Dataset, private_cache: Path) -> None:
    load_dataset("mnist", cache=False)
    assert not private_cache.exists()  # cache=False neither reads nor writes
    assert_same_data(load_dataset("mnist"), mnist)
    files = {p.name for p in private_cache.iterdir()}
    assert files == {f"{sha}.npy" for sha in MNIST_SHA256.values()}  # and no temp files
    cached = np.load(private_cache / f"{MNIST_SHA256['train-images-idx3-ubyte']}.npy")
    assert np.array_equal(cached, mnist.x_train.reshape(60000, 28, 28))


def test_a_warm_load_reads_only_the_cache(
    mnist: Dataset, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNFS_CACHE_DIR", str(warm_cache))
    monkeypatch.setattr(datasets_module, "read_idx", refuse_to_decode)
    stamps = {p: p.stat().st_mtime_ns for p in warm_cache.iterdir()}
    ds = load_dataset("mnist", val_fraction=0.1)
    assert ds.x_train.shape == (54000, 784) and not ds.x_train.flags.writeable
    np.testing.assert_array_equal(ds.x_test, mnist.x_test)
    assert {p: p.stat().st_mtime_ns for p in warm_cache.iterdir()} == stamps  # not rewritten


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "wrong shape", "other data"])
def test_a_damaged_cache_is_detected_and_repaired(
    mnist: Dataset, warm_cache: Path, private_cache: Path, damage: str
) -> None:
    shutil.copytree(warm_cache, private_cache)
    cached = private_cache / f"{MNIST_SHA256['t10k-images-idx3-ubyte']}.npy"
    good = cached.read_bytes()
    if damage == "truncate":
        cached.write_bytes(good[: len(good) // 2])
    elif damage == "flip":  # one pixel off: only the hash can tell
        spoiled = bytearray(good)
        spoiled[len(good) // 2] ^= 0x01
        cached.write_bytes(bytes(spoiled))
    elif damage == "garbage":
        cached.write_bytes(b"not an npy file")
    elif damage == "wrong shape":
        np.save(cached, np.zeros((10000, 784), np.uint8))
    else:
        np.save(cached, np.zeros((10000, 28, 28), np.uint8))
    assert_same_data(load_dataset("mnist"), mnist)
    assert cached.read_bytes() == good


def test_an_unwritable_cache_dir_only_warns(
    mnist: Dataset, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder's parent should be")
    monkeypatch.setenv("NNFS_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="not caching"):
        ds = load_dataset("mnist")
    assert_same_data(ds, mnist)
    assert list(tmp_path.glob("**/*.tmp")) == []
