"""Update rules that walk the params and grads dicts and change parameters in place.

Weight decay λ follows PyTorch: added to the gradient (g ← g + λθ) for every rule but adamw,
which decays the weights directly (θ ← θ − lr·λ·θ). It applies to weight matrices ("W*"),
not to biases.

State (moments, step count) is held in arrays so a checkpoint can save it and training can
resume where it stopped: see :meth:`Optimizer.state_dict`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Params = dict[str, np.ndarray]


class Optimizer:
    """Base class. Subclasses set ``name``, ``slots`` (per-parameter state) and ``_update``."""

    name = "base"
    slots: tuple[str, ...] = ()
    nonnegative_slots: frozenset[str] = frozenset()
    """Slots that hold means of squares: a checkpoint with a negative value there is refused."""
    hyper_names: tuple[str, ...] = ("weight_decay",)
    defaults: dict[str, float] = {}

    def __init__(self, **hyper: float) -> None:
        unknown = set(hyper) - set(self.hyper_names)
        if unknown:
            raise ValueError(f"{self.name}: unknown hyperparameters {sorted(unknown)}; "
                             f"expected {', '.join(self.hyper_names)}")
        self.hyper: dict[str, float] = {**self.defaults, **{k: float(v) for k, v in
                                                            hyper.items()}}
        self.hyper.setdefault("weight_decay", 0.0)
        self.step_count = 0
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        self._scratch: dict[str, np.ndarray] = {}

    def set_hyperparameters(self, **hyper: float) -> None:
        """Change hyperparameters between steps; names this rule does not use are ignored.
        The learning rate is not one of them: the loop passes it to every :meth:`step`."""
        for key, value in hyper.items():
            if key in self.hyper_names:
                self.hyper[key] = float(value)

    def step(self, params: Params, grads: Params, lr: float) -> None:
        """Update every parameter in place from its gradient with the rate ``lr`` (the
        schedule's rate for this step); ``grads`` may be overwritten."""
        lr = float(lr)
        self.step_count += 1
        wd = self.hyper["weight_decay"]
        coupled = wd and self.name != "adamw"
        scratch = self._scratch
        for key, theta in params.items():
            g = grads[key]
            if coupled and key[0] == "W":
                g += g.dtype.type(wd) * theta
            tmp = scratch.get(key)
            if tmp is None or tmp.shape != theta.shape or tmp.dtype != theta.dtype:
                tmp = self._prepare(key, theta)
            self._update(key, theta, g, lr, tmp)

    def _prepare(self, key: str, theta: np.ndarray) -> np.ndarray:
        """Zero state for a parameter seen for the first time, and its scratch array."""
        for slot in self.slots:
            if key not in self.state[slot]:
                self.state[slot][key] = np.zeros_like(theta)
        tmp = self._scratch[key] = np.empty_like(theta)
        return tmp

    def _update(self, key: str, theta: np.ndarray, g: np.ndarray, lr: float,
                tmp: np.ndarray) -> None:
        raise NotImplementedError

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Arrays only: ``{"step": (), "<slot>/<param>": array, ...}``."""
        out = {"step": np.array(self.step_count, dtype=np.int64)}
        for slot, arrays in self.state.items():
            for key, arr in arrays.items():
                out[f"{slot}/{key}"] = arr
        return out

    def load_state_dict(self, state: dict[str, np.ndarray], params: Params) -> None:
        """Restore from :meth:`state_dict`; shapes are checked against ``params``."""
        step = state.get("step")
        if step is None or np.ndim(step) != 0:
            raise ValueError(f"{self.name} state: missing step count")
        new: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        for name, arr in state.items():
            if name == "step":
                continue
            slot, _, key = name.partition("/")
            if slot not in new or key not in params:
                raise ValueError(f"{self.name} state: unexpected entry {name!r}")
            if arr.shape != params[key].shape:
                raise ValueError(f"{self.name} state: {name} has shape {arr.shape}, "
                                 f"expected {params[key].shape}")
            new[slot][key] = np.array(arr, dtype=params[key].dtype)
        self.step_count = int(step)
        self.state = new
        self._scratch.clear()  # the next step makes sure every slot exists again


class SGD(Optimizer):
    """θ ← θ − lr·g."""

    name = "sgd"

    def _update(self, key, theta, g, lr, tmp):
        np.multiply(g, lr, out=tmp)
        theta -= tmp


class Momentum(Optimizer):
    """The tutorial's rule: v ← β·v + (1−β)·g ; θ ← θ − lr·v (v starts at 0)."""

    name = "momentum"
    slots = ("velocity",)
    hyper_names = ("momentum", "weight_decay")
    defaults = {"momentum": 0.9}

    def _update(self, key, theta, g, lr, tmp):
        beta = self.hyper["momentum"]
        v = self.state["velocity"][key]
        v *= beta
        np.multiply(g, 1.0 - beta, out=tmp)
        v += tmp
        np.multiply(v, lr, out=tmp)
        theta -= tmp


class Nesterov(Optimizer):
    """PyTorch's ``SGD(momentum=μ, nesterov=True)``: b ← μ·b + g ; θ ← θ − lr·(g + μ·b)."""

    name = "nesterov"
    slots = ("buffer",)
    hyper_names = ("momentum", "weight_decay")
    defaults = {"momentum": 0.9}

    def _update(self, key, theta, g, lr, tmp):
        mu = self.hyper["momentum"]
        b = self.state["buffer"][key]
        b *= mu
        b += g
        np.multiply(b, mu, out=tmp)
        tmp += g
        tmp *= lr
        theta -= tmp


class RMSprop(Optimizer):
    """PyTorch's RMSprop (no momentum, not centred): s ← α·s + (1−α)·g² ; θ ← θ − lr·g/(√s + ε)."""

    name = "rmsprop"
    slots = ("square_avg",)
    nonnegative_slots = frozenset({"square_avg"})
    hyper_names = ("alpha", "eps", "weight_decay")
    defaults = {"alpha": 0.99, "eps": 1e-8}

    def _update(self, key, theta, g, lr, tmp):
        alpha = self.hyper["alpha"]
        s = self.state["square_avg"][key]
        s *= alpha
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - alpha
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.hyper["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        theta -= tmp


class Adam(Optimizer):
    """PyTorch's Adam: m, v moving averages of g and g², bias-corrected;
    θ ← θ − lr·m̂/(√v̂ + ε)."""

    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")
    nonnegative_slots = frozenset({"exp_avg_sq"})
    hyper_names = ("beta1", "beta2", "eps", "weight_decay")
    defaults = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def _update(self, key, theta, g, lr, tmp):
        b1, b2, eps = self.hyper["beta1"], self.hyper["beta2"], self.hyper["eps"]
        t = self.step_count
        m = self.state["exp_avg"][key]
        v = self.state["exp_avg_sq"][key]
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        # denom = √v / √(1−β2^t) + ε ; θ ← θ − (lr / (1−β1^t)) · m / denom, as PyTorch does.
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2**t)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1.0 - b1**t)
        theta -= tmp


class AdamW(Adam):
    """PyTorch's AdamW: θ ← θ·(1 − lr·λ), then the Adam step without λ in the gradient."""

    name = "adamw"
    defaults = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}

    def _update(self, key, theta, g, lr, tmp):
        wd = self.hyper["weight_decay"]
        if wd and key.startswith("W"):
            theta *= 1.0 - lr * wd
        super()._update(key, theta, g, lr, tmp)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam, AdamW)
}


def make_optimizer(name: str, **hyper: Any) -> Optimizer:
    """Build an optimizer by name. Hyperparameters it does not use are ignored, so a whole
    config's worth (momentum, beta1, ...) can be passed to any of them. It keeps no learning
    rate: each :meth:`Optimizer.step` is given the rate to apply."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"optimizer: {name} is not valid; expected one of {', '.join(OPTIMIZERS)}"
        ) from None
    used = {k: v for k, v in hyper.items() if k in cls.hyper_names}
    return cls(**used)
