"""Inspect helpers and the per-epoch LayerStats event."""

from __future__ import annotations

import numpy as np
import pytest

from engine import TrainConfig, Trainer
from engine.data import load_dataset
from engine.events import LayerStats
from engine.inspect import dead_unit_share, first_layer_images, weight_histograms
from engine.metrics import scale_pixels
from engine.network import MLP
from engine.training import build_network


def test_first_layer_images_are_one_image_per_hidden_unit_scaled_to_one():
    net = MLP([784, 12, 10], seed=0)
    images = first_layer_images(net.params["W1"], (28, 28))
    assert images.shape == (12, 28, 28)
    np.testing.assert_allclose(np.abs(images).max(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(images[3].ravel() * np.abs(net.params["W1"][:, 3]).max(),
                               net.params["W1"][:, 3], rtol=1e-6)
    with pytest.raises(ValueError, match="expected 10×10"):
        first_layer_images(net.params["W1"], (10, 10))


def test_weight_histograms_count_every_weight():
    net = MLP([20, 8, 3], seed=0)
    hists = weight_histograms(net.params, bins=7)
    assert list(hists) == ["W1", "W2"]
    counts, edges = hists["W1"]
    assert counts.sum() == 160 and len(edges) == 8 and edges[0] == -edges[-1]


def test_dead_units_are_those_never_active():
    net = MLP([4, 6, 3], activation="relu", seed=0)
    net.params["b1"][:3] = -1e6  # units 0-2 can never fire
    net.params["b1"][3:] = 1e6  # units 3-5 always do
    x = np.random.default_rng(0).integers(0, 256, (50, 4), dtype=np.uint8)
    (share,) = dead_unit_share(net, x)
    assert share == pytest.approx(0.5)
    sigmoid = MLP([4, 6, 3], activation="sigmoid", seed=0)
    assert dead_unit_share(sigmoid, x) == (None,)


def test_layer_stats_follow_each_epoch_with_the_gradient_size():
    # One full batch per epoch: the first epoch's gradient is that of the initial weights.
    data = load_dataset("mnist", subset=256, seed=0)
    config = TrainConfig(hidden_sizes=(16, 8), batch_size=256, epochs=2, subset=256)
    events = []
    Trainer(config, data, on_event=events.append).run()
    stats = [e for e in events if isinstance(e, LayerStats)]
    assert [s.epoch for s in stats] == [1, 2] and stats[0].layers == ("W1", "W2", "W3")
    assert len(stats[0].dead_share) == 2 and all(0 <= d <= 1 for d in stats[0].dead_share)

    net = build_network(config, 784, 10)
    order = np.random.default_rng([config.seed, 1]).permutation(256)
    _, _, grads = net.loss_and_grads(scale_pixels(data.x_train[order]),
                                     data.y_train[order].astype(np.intp))
    expected = [float(np.sqrt(np.mean(np.square(grads[k], dtype=np.float64))))
                for k in ("W1", "W2", "W3")]
    np.testing.assert_allclose(stats[0].grad_rms, expected, rtol=1e-4)
