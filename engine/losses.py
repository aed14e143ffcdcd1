"""Softmax and cross-entropy, fused: the gradient with respect to the logits is (p - y) / n."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (batch, classes) logits; stable because each row's max is subtracted."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of (batch, classes) logits against integer labels (batch,).

    Returns ``(loss, probs, dlogits)`` where ``loss = -mean(log p[i, y_i])`` and
    ``dlogits = (probs - onehot(labels)) / batch`` is the gradient of the loss.
    The log-probabilities come from log-sum-exp, so no ``log(0)`` is ever taken.
    """
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sums = exp.sum(axis=1)
    loss = float(np.mean(np.log(sums) - shifted[rows, labels]))
    probs = exp
    probs /= sums[:, None]
    dlogits = probs.copy()
    dlogits[rows, labels] -= 1
    dlogits *= dlogits.dtype.type(1.0 / n)
    return loss, probs, dlogits


def l2_penalty(params: dict[str, np.ndarray], weight_decay: float) -> float:
    """λ/2 · Σ‖W‖² over the weight matrices (biases are not decayed)."""
    return 0.5 * weight_decay * sum(float(np.vdot(p, p)) for k, p in params.items()
                                    if k.startswith("W"))
