"""One step of every optimizer against hand-computed numbers, a second step against a plain
reference, state round-trips, and every optimizer solving the same small problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.optimizers import OPTIMIZERS, make_optimizer

THETA = [1.0, -2.0]
GRAD = [0.5, 0.25]


def one_step(name, lr=0.1, **hyper):
    params = {"W1": np.array(THETA), "b1": np.array(THETA)}
    grads = {"W1": np.array(GRAD), "b1": np.array(GRAD)}
    make_optimizer(name, **hyper).step(params, grads, lr)
    return params


@pytest.mark.parametrize(("name", "hyper", "expected"), [
    ("sgd", {}, [0.95, -2.025]),
    # v = 0.1·g ; θ − 0.1·v
    ("momentum", {"momentum": 0.9}, [0.995, -2.0025]),
    # b = g ; θ − 0.1·(g + 0.9·b)
    ("nesterov", {"momentum": 0.9}, [0.905, -2.0475]),
    # s = 0.01·g² ; θ − 0.1·g/√s = θ − 0.1·10
    ("rmsprop", {}, [0.0, -3.0]),
    # m̂ = g, v̂ = g² after bias correction: θ − 0.1·sign(g)
    ("adam", {}, [0.9, -2.1]),
    # θ·(1 − 0.1·0.01) then the Adam step
    ("adamw", {}, [0.899, -2.098]),
])
def test_first_step_matches_hand_computation(name, hyper, expected):
    params = one_step(name, **hyper)
    np.testing.assert_allclose(params["W1"], expected, rtol=1e-6, atol=1e-6)  # ε ≈ 1e-8


def test_coupled_weight_decay_changes_weights_not_biases():
    params = one_step("sgd", weight_decay=0.1)
    np.testing.assert_allclose(params["W1"], [1 - 0.1 * 0.6, -2 - 0.1 * 0.05])
    np.testing.assert_allclose(params["b1"], [0.95, -2.025])


def test_adamw_decays_weights_directly_and_not_biases():
    params = one_step("adamw", weight_decay=0.5)
    np.testing.assert_allclose(params["W1"], [0.95 - 0.1, -1.9 - 0.1], rtol=1e-6)
    np.testing.assert_allclose(params["b1"], [0.9, -2.1], rtol=1e-6)


def reference_adam(theta, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    """Adam/AdamW written out in plain Python floats, one element at a time."""
    theta = list(theta)
    m = [0.0] * len(theta)
    v = [0.0] * len(theta)
    for t, g in enumerate(grads, start=1):
        for i in range(len(theta)):
            gi = g[i] + (0 if decoupled else wd * theta[i])
            if decoupled:
                theta[i] *= 1 - lr * wd
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            theta[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return theta


@pytest.mark.parametrize(("name", "decoupled"), [("adam", False), ("adamw", True)])
def test_adam_family_over_several_steps_matches_reference(name, decoupled):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=3) for _ in range(5)]
    params = {"W1": np.array([0.3, -0.7, 1.2])}
    opt = make_optimizer(name, beta1=0.8, beta2=0.99, weight_decay=0.05)
    for g in grads:
        opt.step(params, {"W1": g.copy()}, 0.01)
    expected = reference_adam([0.3, -0.7, 1.2], grads, 0.01, 0.8, 0.99, wd=0.05,
                              decoupled=decoupled)
    np.testing.assert_allclose(params["W1"], expected, rtol=1e-9)


def test_momentum_is_the_tutorials_convex_combination():
    params = {"W1": np.array([0.0])}
    opt = make_optimizer("momentum", momentum=0.5)
    for _ in range(2):
        opt.step(params, {"W1": np.array([1.0])}, 1.0)
    # v1 = 0.5, v2 = 0.5·0.5 + 0.5 = 0.75 ; θ = −(0.5 + 0.75)
    np.testing.assert_allclose(params["W1"], [-1.25])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_round_trip_continues_identically(name):
    rng = np.random.default_rng(1)
    grads = [{"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)} for _ in range(6)]
    p1 = {"W1": np.ones((3, 2)), "b1": np.zeros(2)}
    a = make_optimizer(name, weight_decay=0.01)
    for g in grads[:3]:
        a.step(p1, {k: v.copy() for k, v in g.items()}, 0.05)
    p2 = {k: v.copy() for k, v in p1.items()}
    b = make_optimizer(name, weight_decay=0.01)
    b.load_state_dict({k: v.copy() for k, v in a.state_dict().items()}, p2)
    for g in grads[3:]:
        a.step(p1, {k: v.copy() for k, v in g.items()}, 0.05)
        b.step(p2, {k: v.copy() for k, v in g.items()}, 0.05)
    for key in p1:
        np.testing.assert_array_equal(p1[key], p2[key])


def test_state_with_wrong_shape_is_refused():
    opt = make_optimizer("adam")
    params = {"W1": np.ones((2, 2))}
    opt.step(params, {"W1": np.ones((2, 2))}, 0.1)
    state = opt.state_dict()
    state["exp_avg/W1"] = np.ones((3, 3))
    with pytest.raises(ValueError, match="shape"):
        make_optimizer("adam").load_state_dict(state, params)


def test_step_does_not_allocate_new_parameter_arrays():
    params = {"W1": np.ones((4, 3), dtype=np.float32)}
    before = params["W1"]
    opt = make_optimizer("adam")
    opt.step(params, {"W1": np.ones((4, 3), dtype=np.float32)}, 0.1)
    assert params["W1"] is before and before.dtype == np.float32


LEARNING_RATES = {"sgd": 0.1, "momentum": 0.5, "nesterov": 0.05, "rmsprop": 0.01,
                  "adam": 0.05, "adamw": 0.05}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_solves_the_same_least_squares_problem(name):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(20, 3))
    target = np.array([1.5, -2.0, 0.5])
    b = a @ target
    params = {"W1": np.zeros(3)}
    opt = make_optimizer(name, weight_decay=0.0)
    for t in range(1500):
        grad = a.T @ (a @ params["W1"] - b) / len(a)
        # decay the step size late on, so adaptive methods settle instead of hovering
        lr = LEARNING_RATES[name] * (0.1 if t > 1000 else 1.0)
        opt.step(params, {"W1": grad}, lr)
    np.testing.assert_allclose(params["W1"], target, atol=2e-3)


def test_unknown_optimizer_names_the_choices():
    with pytest.raises(ValueError, match="optimizer: lbfgs is not valid; expected one of sgd"):
        make_optimizer("lbfgs")


def test_the_optimizer_keeps_no_learning_rate_of_its_own():
    """The loop's scheduled rate is the only one: a rate change never has to reach a copy."""
    opt = make_optimizer("sgd")
    assert not hasattr(opt, "learning_rate")
    params = {"W1": np.array([1.0])}
    opt.step(params, {"W1": np.array([2.0])}, 0.25)
    opt.step(params, {"W1": np.array([2.0])}, 0.5)
    np.testing.assert_allclose(params["W1"], [1.0 - 0.5 - 1.0])
