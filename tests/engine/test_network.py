"""Gradient checks against central finite differences in float64, and forward-pass facts."""

from __future__ import annotations

import numpy as np
import pytest

from engine.activations import ACTIVATIONS
from engine.losses import softmax, softmax_cross_entropy
from engine.network import MLP


def numeric_grads(f, params: dict[str, np.ndarray], eps: float = 1e-6) -> dict[str, np.ndarray]:
    out = {}
    for key, p in params.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = f()
            p[idx] = old - eps
            minus = f()
            p[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        out[key] = g
    return out


def make_net(sizes, activation, seed=0):
    net = MLP(sizes, activation=activation, init="xavier", dtype="float64", seed=seed)
    rng = np.random.default_rng(seed + 100)
    for key in net.params:  # non-zero biases keep units away from ReLU's kink
        if key.startswith("b"):
            net.params[key][:] = rng.normal(0, 0.5, net.params[key].shape)
    return net


def assert_grads_match(net, x, y, **kw):
    loss, _, grads = net.loss_and_grads(x, y, **kw)
    num = numeric_grads(lambda: net.loss_and_grads(x, y, **kw)[0], net.params)
    assert list(grads) == list(net.params)
    for key in net.params:
        assert grads[key].shape == net.params[key].shape
        np.testing.assert_allclose(grads[key], num[key], rtol=1e-5, atol=1e-7, err_msg=key)
    return loss


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_each_activation_backpropagates_exactly(activation):
    net = make_net([6, 5, 4], activation)
    rng = np.random.default_rng(1)
    assert_grads_match(net, rng.normal(size=(7, 6)), rng.integers(0, 4, 7))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_networks_of_depth_one_to_three(depth):
    sizes = [5] + [4] * (depth - 1) + [3]
    net = make_net(sizes, "tanh", seed=depth)
    rng = np.random.default_rng(depth)
    assert_grads_match(net, rng.normal(size=(6, 5)), rng.integers(0, 3, 6))


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "gelu"])
def test_dropout_with_a_fixed_mask(activation):
    net = make_net([5, 6, 4, 3], activation, seed=3)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 5)), rng.integers(0, 3, 8)
    masks = [(rng.random((8, 6)) < 0.6).astype(float), (rng.random((8, 4)) < 0.6).astype(float)]
    loss_drop = assert_grads_match(net, x, y, masks=masks, dropout=0.4)
    assert loss_drop != pytest.approx(net.loss_and_grads(x, y)[0])


def test_weight_decay_adds_the_l2_term_to_weights_only():
    net = make_net([4, 3, 2], "sigmoid", seed=4)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 2, 5)
    assert_grads_match(net, x, y, weight_decay=0.3)
    _, _, plain = net.loss_and_grads(x, y)
    _, _, decayed = net.loss_and_grads(x, y, weight_decay=0.3)
    np.testing.assert_allclose(decayed["W1"] - plain["W1"], 0.3 * net.params["W1"])
    np.testing.assert_array_equal(decayed["b1"], plain["b1"])


def test_fused_softmax_cross_entropy_gradient_is_p_minus_y_over_n():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    kept = logits.copy()
    loss, dlogits, correct = softmax_cross_entropy(logits, labels)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(dlogits, (softmax(logits) - onehot) / 4)
    assert correct == int(np.sum(logits.argmax(axis=1) == labels))
    np.testing.assert_array_equal(logits, kept)  # the caller's logits are left alone
    expected = -np.mean(np.log(np.exp(logits)[np.arange(4), labels] / np.exp(logits).sum(1)))
    assert loss == pytest.approx(expected)


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]])
    p = softmax(logits)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    loss, dlogits, correct = softmax_cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(dlogits).all() and correct == 1  # a 3-way tie goes to the first class
    assert np.isfinite(loss) and loss == pytest.approx((2000.0 + np.log(3)) / 2, rel=1e-6)


def test_shapes_and_init_scales():
    net = MLP([784, 256, 128, 10], activation="relu", init="he", seed=0)
    assert [(k, v.shape) for k, v in net.params.items()] == [
        ("W1", (784, 256)), ("b1", (256,)), ("W2", (256, 128)), ("b2", (128,)),
        ("W3", (128, 10)), ("b3", (10,))]
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    lecun = MLP([784, 64, 10], init="lecun", seed=0)
    assert lecun.params["W1"].std() == pytest.approx(np.sqrt(1 / 784), rel=0.02)
    xavier = MLP([784, 64, 10], init="xavier", seed=0)
    assert xavier.params["W1"].std() == pytest.approx(np.sqrt(2 / (784 + 64)), rel=0.02)
    assert net.parameter_count == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (MLP([10, 8, 3], seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_predict_proba_rows_sum_to_one():
    net = MLP([6, 4, 3], seed=0)
    p = net.predict_proba(np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32))
    assert p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def pixel_batch(rng: np.random.Generator, n: int, features: int, blank: int) -> np.ndarray:
    """uint8 pixels like MNIST's: ``blank`` columns zero in every row, the rest mostly ink."""
    x = rng.integers(0, 256, size=(n, features), dtype=np.uint8)
    x[:, rng.choice(features, size=blank, replace=False)] = 0
    return x


@pytest.mark.parametrize("sizes", [[30, 10], [30, 8, 4], [30, 8, 6, 4]])
@pytest.mark.parametrize("blank, weight_decay", [(12, 0.0), (12, 0.1), (0, 0.0)])
def test_uint8_pixels_train_exactly_like_the_same_pixels_scaled(sizes, blank, weight_decay):
    """A uint8 batch is scaled inside and, when many columns are blank, only the inked
    columns are multiplied: the loss and every gradient match the float batch, and a
    blank pixel's weights get no gradient but their decay."""
    rng = np.random.default_rng(3)
    x = pixel_batch(rng, 16, sizes[0], blank)
    labels = rng.integers(0, sizes[-1], size=16)
    net = MLP(sizes, activation="tanh", init="xavier", dtype="float64", seed=1)
    loss, acc, grads = net.loss_and_grads(x, labels, weight_decay=weight_decay)
    ref_loss, ref_acc, ref = net.loss_and_grads(x / 255.0, labels, weight_decay=weight_decay)
    assert loss == pytest.approx(ref_loss, rel=1e-12) and acc == ref_acc
    assert list(grads) == list(ref)
    for key in ref:
        np.testing.assert_allclose(grads[key], ref[key], rtol=1e-10, atol=1e-14, err_msg=key)
    blank_cols = np.flatnonzero(~x.any(axis=0))
    assert len(blank_cols) == blank
    np.testing.assert_array_equal(grads["W1"][blank_cols],
                                  weight_decay * net.params["W1"][blank_cols])


def test_a_float32_network_takes_uint8_pixels_in_its_own_dtype():
    rng = np.random.default_rng(4)
    x = pixel_batch(rng, 32, 50, 20)
    labels = rng.integers(0, 10, size=32)
    net = MLP([50, 16, 10], activation="relu", init="he", dtype="float32", seed=0)
    loss, _, grads = net.loss_and_grads(x, labels)
    ref_loss, _, ref = net.loss_and_grads((x / np.float32(255)).astype(np.float32), labels)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for key in ref:
        np.testing.assert_allclose(grads[key], ref[key], rtol=1e-4, atol=1e-6, err_msg=key)
