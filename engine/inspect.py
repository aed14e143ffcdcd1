"""What a trained network looks like inside: first-layer weights as images, weight
histograms, and hidden units that never fire."""

from __future__ import annotations

import numpy as np

from engine.metrics import scale_pixels
from engine.network import MLP

#: Activations whose units can die (output stuck at or below zero for every input).
CAN_DIE = ("relu", "leaky_relu", "gelu")


def first_layer_images(w1: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """W1 (pixels, hidden) → (hidden, h, w) images in [-1, 1], each scaled by its own max |w|:
    what each hidden unit responds to (positive) and is suppressed by (negative)."""
    h, w = image_shape
    if w1.shape[0] != h * w:
        raise ValueError(f"W1 has {w1.shape[0]} inputs, expected {h}×{w} = {h * w}")
    images = w1.T.reshape(-1, h, w).astype(np.float64)
    scale = np.abs(images).max(axis=(1, 2), keepdims=True)
    return images / np.where(scale > 0, scale, 1.0)


def weight_histograms(params: dict[str, np.ndarray],
                      bins: int = 21) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each weight matrix: (counts (bins,), edges (bins+1,)) over a range symmetric
    about 0."""
    out = {}
    for key, value in params.items():
        if not key.startswith("W"):
            continue
        limit = float(np.abs(value).max()) or 1.0
        out[key] = np.histogram(value, bins=bins, range=(-limit, limit))
    return out


def hidden_activations(network: MLP, x: np.ndarray) -> list[np.ndarray]:
    """Pre-activations z (n, units) of each hidden layer for inputs x (n, features)."""
    a = scale_pixels(x, network.dtype)
    zs = []
    for i in range(1, network.n_layers):
        z = a @ network.params[f"W{i}"]
        z += network.params[f"b{i}"]
        zs.append(z.copy())
        a = network.activation.forward(z)
    return zs


def dead_unit_share(network: MLP, x: np.ndarray) -> tuple[float | None, ...]:
    """Per hidden layer, the share of units with z ≤ 0 for every input in x (so they pass no
    gradient, or only leaky_relu's small one); None where the activation cannot die."""
    zs = hidden_activations(network, x)
    if network.activation.name not in CAN_DIE or len(x) == 0:
        return tuple(None for _ in zs)
    return tuple(float(np.mean((z <= 0).all(axis=0))) for z in zs)
