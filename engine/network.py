"""A multilayer perceptron: affine layers with one activation between, softmax at the end.

Shapes, batch first: ``x`` is (n, features); ``W{i}`` is (fan_in, fan_out), ``b{i}`` is
(fan_out,); logits and probabilities are (n, classes). Layer i computes
``z_i = a_{i-1} @ W_i + b_i`` and ``a_i = f(z_i)`` for hidden layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.activations import get_activation
from engine.config import INITS
from engine.losses import l2_penalty, softmax, softmax_cross_entropy
from engine.metrics import scale_pixels

SPARSE_INPUT_SHARE = 0.9
"""Below this share of input columns with any nonzero pixel in a batch, ``loss_and_grads``
multiplies only those columns (an MNIST batch of 128 has about 530 of 784): the rest add
exactly nothing to the first layer's product and get a zero weight gradient."""


class MLP:
    """Parameters in one ordered dict ``{"W1", "b1", "W2", "b2", ...}``; gradients the same.

    >>> net = MLP([784, 64, 10], activation="sigmoid", init="lecun", seed=0)
    >>> net.params["W1"].shape, net.params["b1"].shape
    ((784, 64), (64,))
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str = "relu",
        init: str = "he",
        dtype: str | np.dtype = "float32",
        seed: int | np.random.Generator = 0,
    ) -> None:
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"sizes: {list(sizes)} is not valid; expected [inputs, ..., classes]")
        if init not in INITS:
            raise ValueError(f"init: {init} is not valid; expected one of {', '.join(INITS)}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = get_activation(activation)
        self.init = init
        self.dtype = np.dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        pairs = zip(self.sizes[:-1], self.sizes[1:], strict=True)
        for i, (fan_in, fan_out) in enumerate(pairs, start=1):
            if init == "lecun":  # the tutorial's N(0, 1/fan_in)
                std = np.sqrt(1.0 / fan_in)
            elif init == "he":
                std = np.sqrt(2.0 / fan_in)
            else:  # Glorot/Xavier normal
                std = np.sqrt(2.0 / (fan_in + fan_out))
            self.params[f"W{i}"] = (rng.standard_normal((fan_in, fan_out)) * std).astype(
                self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)

    @property
    def n_layers(self) -> int:
        """Affine layers (hidden layers + 1)."""
        return len(self.sizes) - 1

    @property
    def parameter_count(self) -> int:
        return sum(p.size for p in self.params.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (n, classes) of inputs (n, features), without dropout."""
        a = x
        for i in range(1, self.n_layers + 1):
            z = a @ self.params[f"W{i}"]
            z += self.params[f"b{i}"]
            a = self.activation.forward(z) if i < self.n_layers else z
        return a

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes); each row sums to 1."""
        return softmax(self.forward(x))

    def loss_and_grads(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        *,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        masks: Sequence[np.ndarray] | None = None,
        weight_decay: float = 0.0,
    ) -> tuple[float, float, dict[str, np.ndarray]]:
        """Forward and backward pass on one batch.

        x: (n, features) in the network's dtype, or uint8 pixels (scaled by 1/255 here, and
        only the columns with a nonzero pixel multiplied: see ``SPARSE_INPUT_SHARE``);
        labels: (n,) integers.
        Returns ``(loss, accuracy, grads)``: the mean cross-entropy (plus λ/2·Σ‖W‖² when
        ``weight_decay`` is given), the share of the batch predicted right, and gradients with
        the keys and shapes of ``params``. Inverted dropout zeroes each hidden unit with
        probability ``dropout`` and scales the rest by 1/(1-dropout); ``masks`` fixes the
        masks (one (n, units) array of 0/1 per hidden layer) for gradient checks.
        """
        n_layers = self.n_layers
        x, cols = self.prepare_input(x)
        w_first = self.params["W1"] if cols is None else self.params["W1"][cols]
        acts = [x]          # a_0 .. a_{L-1}: inputs of each affine layer (after dropout)
        outs: list[np.ndarray] = [x]  # the same before dropout, for the activation's derivative
        zs: list[np.ndarray | None] = [None]
        drops: list[np.ndarray | None] = [None]
        a = x
        keep = 1.0 - dropout
        for i in range(1, n_layers):
            z = a @ (w_first if i == 1 else self.params[f"W{i}"])
            z += self.params[f"b{i}"]
            z_kept = z.copy() if self.activation.needs_z else None
            a = self.activation.forward(z)
            outs.append(a)
            mask = None
            if masks is not None:
                mask = np.asarray(masks[i - 1], dtype=a.dtype) / a.dtype.type(keep)
            elif dropout > 0.0:
                if rng is None:
                    raise ValueError("dropout needs an rng")
                mask = (rng.random(a.shape, dtype=np.float32) < keep).astype(a.dtype)
                mask *= a.dtype.type(1.0 / keep)
            if mask is not None:
                a = a * mask
            acts.append(a)
            zs.append(z_kept)
            drops.append(mask)
        logits = a @ (w_first if n_layers == 1 else self.params[f"W{n_layers}"])
        logits += self.params[f"b{n_layers}"]
        loss, delta, correct = softmax_cross_entropy(logits, labels)
        accuracy = correct / len(labels)

        grads: dict[str, np.ndarray] = {}
        for i in range(n_layers, 0, -1):
            a_prev = acts[i - 1]
            if i == 1 and cols is not None:
                grads["W1"] = np.zeros_like(self.params["W1"])
                grads["W1"][cols] = a_prev.T @ delta
            else:
                grads[f"W{i}"] = a_prev.T @ delta
            grads[f"b{i}"] = delta.sum(axis=0)
            if i > 1:
                delta = delta @ self.params[f"W{i}"].T
                if drops[i - 1] is not None:
                    delta *= drops[i - 1]
                delta = self.activation.backward(delta, zs[i - 1], outs[i - 1])
        if weight_decay:
            loss += l2_penalty(self.params, weight_decay)
            for key, g in grads.items():
                if key.startswith("W"):
                    g += g.dtype.type(weight_decay) * self.params[key]
        ordered = {key: grads[key] for key in self.params}
        return loss, accuracy, ordered

    def prepare_input(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """What the first layer multiplies: the batch as floats in the network's dtype, and
        the indices of the columns kept (None: all of them; uint8 pixels keep only the
        columns the batch inks when they are fewer than ``SPARSE_INPUT_SHARE``)."""
        if x.dtype != np.uint8:
            return x.astype(self.dtype, copy=False), None
        cols = np.flatnonzero(np.bitwise_or.reduce(x, axis=0))  # faster than any() on uint8
        if len(cols) >= SPARSE_INPUT_SHARE * x.shape[1]:
            return scale_pixels(x, self.dtype), None
        return scale_pixels(x[:, cols], self.dtype), cols

    def copy_params(self) -> dict[str, np.ndarray]:
        """A deep copy of the parameters."""
        return {k: v.copy() for k, v in self.params.items()}
