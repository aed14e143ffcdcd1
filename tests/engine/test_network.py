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
    loss, probs, dlogits = softmax_cross_entropy(logits, labels)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(dlogits, (probs - onehot) / 4)
    expected = -np.mean(np.log(np.exp(logits)[np.arange(4), labels] / np.exp(logits).sum(1)))
    assert loss == pytest.approx(expected)


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]])
    p = softmax(logits)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    loss, _, _ = softmax_cross_entropy(logits, np.array([2, 0]))
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
