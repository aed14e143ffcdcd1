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
) -> tuple[float, np.ndarray, int]:
    """Mean cross-entropy of (batch, classes) logits against integer labels (batch,).

    Returns ``(loss, dlogits, correct)`` where ``loss = -mean(log p[i, y_i])``,
    ``dlogits = (p - onehot(labels)) / batch`` is the gradient of the loss with respect to the
    logits, and ``correct`` counts the rows whose arg-max is the label. The log-probabilities
    come from log-sum-exp, so no ``log(0)`` is ever taken. ``logits`` is left as it was.
    """
    n = logits.shape[0]
    rows = np.arange(n)
    correct = int(np.count_nonzero(logits.argmax(axis=1) == labels))
    exp = logits - logits.max(axis=1, keepdims=True)
    picked = exp[rows, labels]
    np.exp(exp, out=exp)
    sums = exp.sum(axis=1)
    loss = (float(np.log(sums).sum()) - float(picked.sum())) / n
    sums *= n  # p / n = exp / (n · Σexp), one division for the gradient
    exp /= sums[:, None]
    exp[rows, labels] -= exp.dtype.type(1.0 / n)
    return loss, exp, correct


def l2_penalty(params: dict[str, np.ndarray], weight_decay: float) -> float:
    """λ/2 · Σ‖W‖² over the weight matrices (biases are not decayed)."""
    return 0.5 * weight_decay * sum(float(np.vdot(p, p)) for k, p in params.items()
                                    if k.startswith("W"))
