"""Drawings become MNIST-like: ink fits a 20×20 box, centre of mass at the centre."""

from __future__ import annotations

import numpy as np
import pytest

from engine.preprocess import mnist_like, resize_area


def centre_of_mass(flat: np.ndarray) -> tuple[float, float]:
    img = flat.reshape(28, 28).astype(float)
    total = img.sum()
    return (img.sum(1) @ np.arange(28)) / total, (img.sum(0) @ np.arange(28)) / total


def test_a_small_stroke_in_a_corner_is_scaled_and_centred():
    drawing = np.zeros((28, 28))
    drawing[1:6, 1:3] = 1.0  # a 5×2 bar near the top-left
    out = mnist_like(drawing)
    assert out.dtype == np.uint8 and out.shape == (784,)
    img = out.reshape(28, 28)
    ys, xs = np.nonzero(img > 30)
    assert ys.max() - ys.min() + 1 == 20  # the long side fills the 20-pixel box
    assert xs.max() - xs.min() + 1 <= 10
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_a_big_drawing_on_a_larger_canvas_keeps_its_aspect_ratio():
    drawing = np.zeros((56, 56))
    drawing[10:50, 20:30] = 255  # 40 tall, 10 wide, given as 0-255
    img = mnist_like(drawing).reshape(28, 28)
    ys, xs = np.nonzero(img > 127)
    assert ys.max() - ys.min() + 1 == 20 and xs.max() - xs.min() + 1 == 5


def test_an_empty_drawing_is_all_zeros():
    assert not mnist_like(np.zeros((28, 28))).any()


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match="drawing: shape"):
        mnist_like(np.zeros(784))


def test_area_resize_preserves_the_mean():
    rng = np.random.default_rng(0)
    img = rng.random((13, 7))
    for h, w in [(20, 11), (5, 3), (13, 7)]:
        out = resize_area(img, h, w)
        assert out.shape == (h, w)
        assert out.mean() == pytest.approx(img.mean())


def test_a_model_reads_preprocessed_test_digits_as_well_as_the_originals(mnist):
    """MNIST digits are already normalised, so redoing it must not cost accuracy."""
    from engine import TrainConfig, Trainer
    from engine.data import load_dataset
    from engine.metrics import predict

    data = load_dataset("mnist", subset=10_000, seed=0)
    trainer = Trainer(TrainConfig(hidden_sizes=(64,), epochs=2, subset=10_000), data)
    trainer.run()
    x, y = mnist.x_test[:1000], mnist.y_test[:1000]
    redone = np.stack([mnist_like(d.reshape(28, 28)) for d in x])
    original_acc = np.mean(predict(trainer.network, x)[0] == y)
    redone_acc = np.mean(predict(trainer.network, redone)[0] == y)
    assert original_acc > 0.85
    assert redone_acc >= original_acc - 0.03
