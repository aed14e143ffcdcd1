"""Hidden-layer activations, each a forward function and its derivative.

``forward(z)`` maps pre-activations ``z`` of shape (batch, units) to ``a`` of the same shape
(it may overwrite ``z``: callers that need ``z`` afterwards pass a copy).
``backward(grad, z, a)`` returns ``grad * f'(z)`` (it may overwrite ``grad``); each uses
whichever of ``z`` and ``a`` makes the derivative cheapest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01
"""Slope of leaky_relu for negative inputs (PyTorch's default)."""

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_GELU_C = 0.044715


@dataclass(frozen=True)
class Activation:
    """A named activation: forward and the chain-rule step backward."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    needs_z: bool
    """True when backward reads z, so the network must keep it."""


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def _relu_back(grad: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    # a > 0 exactly where z > 0; the derivative at 0 is taken as 0, as PyTorch does.
    grad *= a > 0
    return grad


def _leaky_relu(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, z * z.dtype.type(LEAKY_SLOPE))


def _leaky_relu_back(grad: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.multiply(grad, np.where(z > 0, 1, LEAKY_SLOPE).astype(grad.dtype), out=grad)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-z) = (1 + tanh(z/2)) / 2: no exp to overflow for large |z|. In place.
    z *= 0.5
    np.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def _sigmoid_back(grad: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    grad *= a
    grad *= 1 - a
    return grad


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


def _tanh_back(grad: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    grad *= 1 - a * a
    return grad


def _gelu(z: np.ndarray) -> np.ndarray:
    # The tanh approximation (PyTorch's approximate="tanh"); NumPy has no erf.
    with np.errstate(over="ignore"):  # z³ overflows only where tanh saturates anyway
        inner = np.tanh(_SQRT_2_OVER_PI * (z + _GELU_C * z**3)).astype(z.dtype, copy=False)
    return (0.5 * z * (1 + inner)).astype(z.dtype, copy=False)


def _gelu_back(grad: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        t = np.tanh(_SQRT_2_OVER_PI * (z + _GELU_C * z**3))
    dt = (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * z * z)
    deriv = 0.5 * (1 + t) + 0.5 * z * dt
    return np.multiply(grad, deriv.astype(grad.dtype, copy=False), out=grad)


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", _relu, _relu_back, needs_z=False),
    "leaky_relu": Activation("leaky_relu", _leaky_relu, _leaky_relu_back, needs_z=True),
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_back, needs_z=False),
    "tanh": Activation("tanh", _tanh, _tanh_back, needs_z=False),
    "gelu": Activation("gelu", _gelu, _gelu_back, needs_z=True),
}


def get_activation(name: str) -> Activation:
    """The activation called ``name`` (see ``ACTIVATIONS``)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"activation: {name} is not valid; expected one of {', '.join(ACTIVATIONS)}"
        ) from None
