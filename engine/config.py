"""One frozen, validated description of a training run.

The CLI, the app's form and checkpoints all build a :class:`TrainConfig` through the same
validation, so a bad value gets the same one-line message everywhere::

    learning_rate: nan is not valid; expected a finite number in (0, 1000]

`parse_field(name, text)` turns the text a person typed (form or command line) into the typed
value, with the same messages; `TrainConfig(**fields)` checks typed values.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError
from engine.memory import usable_bytes

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")
INITS = ("lecun", "he", "xavier")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "exponential", "cosine")
DTYPES = ("float32", "float64")

#: The widest hidden layer and the most parameters a config may ask for. 5e7 float32
#: parameters plus optimizer state is ~1 GB: beyond that a from-scratch MLP is the wrong tool.
MAX_LAYER_SIZE = 16384
MAX_PARAMETERS = 50_000_000
MAX_LAYERS = 8
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class FieldSpec:
    """How one config field is typed, bounded and described."""

    kind: str
    """One of "int", "float", "choice", "sizes", "str", "optional_int"."""
    allowed: str
    """The text after "expected" in an error message."""
    doc: str
    """One line for the help screen (``flag_help`` is the line in ``--help``)."""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """True when `low` itself is not allowed (an open interval)."""
    choices: tuple[str, ...] = ()
    live: bool = False
    """True when the field may change while a run trains (applied at the next batch)."""
    flags: tuple[str, ...] = ()
    """Every command-line spelling of the field, the main one first: the tutorial's
    (``--l_rate``, ``--batch_size``) and the project's (``--learning-rate``, ``--lr``)."""
    metavar: str | None = None
    """What ``--help`` shows after the flag (None: the flag's own name in capitals)."""
    flag_help: str | None = None
    """The flag's line in ``--help`` (None: none); a choice field lists its choices."""


def _num(kind: str, low: float, high: float, doc: str, *, low_open: bool = False,
         live: bool = False, flags: tuple[str, ...] = (), metavar: str | None = None,
         flag_help: str | None = None) -> FieldSpec:
    if kind == "int":
        allowed = f"a whole number from {int(low)} to {int(high)}"
    else:
        left = "(" if low_open else "["
        allowed = f"a finite number in {left}{low:g}, {high:g}]"
    return FieldSpec(kind, allowed, doc, low, high, low_open, live=live, flags=flags,
                     metavar=metavar, flag_help=flag_help)


def _choice(choices: tuple[str, ...], doc: str, flags: tuple[str, ...]) -> FieldSpec:
    allowed = "one of " + ", ".join(choices)
    return FieldSpec("choice", allowed, doc, choices=choices, flags=flags, flag_help=allowed)


FIELDS: dict[str, FieldSpec] = {
    "dataset": FieldSpec("str", "'mnist', 'fashion-mnist' or a directory of IDX files",
                         "'mnist' (bundled), 'fashion-mnist' (downloaded once) or a directory "
                         "holding the four IDX files", flags=("--dataset", "--data-dir"),
                         metavar="NAME|DIR",
                         flag_help="'mnist', 'fashion-mnist' or a directory of IDX files"),
    "hidden_sizes": FieldSpec(
        "sizes", f"comma-separated layer sizes, 1 to {MAX_LAYERS} layers of 1 to {MAX_LAYER_SIZE}",
        "hidden layer sizes, e.g. 64 or 256,128", flags=("--hidden",), metavar="SIZES",
        flag_help="hidden layer sizes, e.g. 64 or 256,128"),
    "activation": _choice(ACTIVATIONS, "activation of the hidden layers", ("--activation",)),
    "init": _choice(INITS, "weight init: lecun (variance 1/fan_in), he (2/fan_in), xavier",
                    ("--init",)),
    "optimizer": _choice(OPTIMIZERS, "update rule", ("--optimizer",)),
    "learning_rate": _num("float", 0, 1000, "step size (before the schedule)", low_open=True,
                          live=True, flags=("--l_rate", "--learning-rate", "--lr"),
                          metavar="LR", flag_help="learning rate"),
    "momentum": _num("float", 0, 0.999, "β of momentum/nesterov",
                     live=True, flags=("--beta",), metavar="B",
                     flag_help="momentum β of momentum/nesterov"),
    "beta1": _num("float", 0, 0.999, "Adam/AdamW β1: decay of the mean of gradients", live=True,
                  flags=("--beta1",), metavar="B"),
    "beta2": _num("float", 0, 0.999999, "Adam/AdamW β2: decay of the mean of squared gradients",
                  live=True, flags=("--beta2",), metavar="B"),
    "alpha": _num("float", 0, 0.999999, "RMSprop α: decay of the mean of squared gradients",
                  live=True, flags=("--alpha",), metavar="A", flag_help="RMSprop decay"),
    "eps": _num("float", 0, 1, "small number added to denominators (rmsprop, adam, adamw)",
                low_open=True, flags=("--eps",), metavar="E"),
    "weight_decay": _num("float", 0, 10, "L2 weight decay λ (decoupled for adamw)", live=True,
                         flags=("--weight-decay",), metavar="L"),
    "dropout": _num("float", 0, 0.95, "probability of dropping a hidden unit in training",
                    live=True, flags=("--dropout",), metavar="P"),
    "schedule": _choice(SCHEDULES, "learning-rate schedule over epochs", ("--schedule",)),
    "warmup_epochs": _num("float", 0, 1000, "linear warm-up from 0, in epochs (any schedule)",
                          flags=("--warmup",), metavar="EPOCHS",
                          flag_help="linear learning-rate warm-up"),
    "lr_step_epochs": _num("int", 1, MAX_EPOCHS, "step schedule: epochs between decays",
                           flags=("--lr-step-epochs",), metavar="N"),
    "lr_gamma": _num("float", 0, 1, "step/exponential schedule: factor per decay",
                     low_open=True, flags=("--lr-gamma",), metavar="F"),
    "lr_restart": _num("float", 0, MAX_EPOCHS, "epoch where the schedule starts over "
                             "(0: never): the epochs after it get the whole schedule, warm-up "
                             "included, again (a finished run continued with more epochs)",
                             flags=("--lr-restart",), metavar="EPOCH"),
    "batch_size": _num("int", 1, MAX_BATCH_SIZE, "samples per update", live=True,
                       flags=("--batch_size", "--batch-size"), metavar="N",
                       flag_help="samples per update"),
    "epochs": _num("int", 1, MAX_EPOCHS, "passes over the training set", flags=("--epochs",),
                   metavar="N"),
    "seed": _num("int", 0, MAX_SEED, "seed of every random choice in the run", flags=("--seed",),
                 metavar="N"),
    "val_fraction": _num("float", 0, 0.5, "share of the training set held out for validation",
                         flags=("--val-fraction",), metavar="F"),
    "subset": FieldSpec("optional_int", "empty (all) or a whole number from 1 to 10000000",
                        "train on only this many samples (empty: all)", 1, 10_000_000,
                        flags=("--subset",), metavar="N", flag_help="train on N samples only"),
    "dtype": _choice(DTYPES, "floating-point type of the weights and the hot loop", ("--dtype",)),
}

#: Fields that may change while a run trains.
LIVE_FIELDS: tuple[str, ...] = tuple(name for name, spec in FIELDS.items() if spec.live)

#: Fields besides the live ones that a run continuing a checkpoint may set anew.
CONTINUE_FIELDS: tuple[str, ...] = ("epochs", "lr_restart")

#: Command-line flag (``--l_rate``, ``--learning-rate``) → the config field it sets.
FLAG_TO_FIELD: dict[str, str] = {flag: name for name, spec in FIELDS.items()
                                 for flag in spec.flags}


APPLIES_WHEN: dict[str, tuple[str, tuple[str, ...]]] = {
    "momentum": ("optimizer", ("momentum", "nesterov")),
    "beta1": ("optimizer", ("adam", "adamw")),
    "beta2": ("optimizer", ("adam", "adamw")),
    "alpha": ("optimizer", ("rmsprop",)),
    "eps": ("optimizer", ("rmsprop", "adam", "adamw")),
    "lr_step_epochs": ("schedule", ("step",)),
    "lr_gamma": ("schedule", ("step", "exponential")),
    "lr_restart": ("schedule", ("step", "exponential", "cosine")),
}
"""Fields that matter only under some optimizers or schedules: field → (the field that
decides, the values under which it is used). Every other field always applies."""


def field_applies(name: str, values: Mapping[str, Any]) -> bool:
    """False when field ``name`` has no effect given the optimizer / schedule in ``values``
    (a dict of field values, or a TrainConfig)."""
    rule = APPLIES_WHEN.get(name)
    if rule is None:
        return True
    decider = values[rule[0]] if isinstance(values, Mapping) else getattr(values, rule[0])
    return decider in rule[1]


def check_field(name: str, value: Any) -> Any:
    """Validate one typed value and return it normalised (e.g. a list of sizes as a tuple)."""
    spec = FIELDS.get(name)
    if spec is None:
        raise ConfigError("config", name, "one of the fields " + ", ".join(FIELDS))
    kind = spec.kind
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise ConfigError(name, value, spec.allowed)
        return value
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(name, value, spec.allowed)
        return value
    if kind == "sizes":
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            raise ConfigError(name, value, spec.allowed)
        sizes = tuple(value)
        if not 1 <= len(sizes) <= MAX_LAYERS or not all(
            _is_int(s) and 1 <= s <= MAX_LAYER_SIZE for s in sizes
        ):
            raise ConfigError(name, ",".join(str(s) for s in sizes) or "(empty)", spec.allowed)
        return tuple(int(s) for s in sizes)
    if kind == "optional_int":
        if value is None:
            return None
        kind = "int"
    if kind == "int":
        if not _is_int(value) or not spec.low <= value <= spec.high:
            raise ConfigError(name, value, spec.allowed)
        return int(value)
    # float
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, value, spec.allowed)
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ConfigError(name, value, spec.allowed) from None
    too_low = number <= spec.low if spec.low_open else number < spec.low
    if not math.isfinite(number) or too_low or number > spec.high:
        raise ConfigError(name, value, spec.allowed)
    return number


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_field(name: str, text: str) -> Any:
    """Turn typed text (a form field, a command-line flag) into a checked value.

    Integers must be written as integers: ``3.5`` and ``1e3`` are refused for an int field.
    """
    spec = FIELDS.get(name)
    if spec is None:
        raise ConfigError("config", name, "one of the fields " + ", ".join(FIELDS))
    raw = text.strip()
    kind = spec.kind
    if kind in ("choice", "str"):
        return check_field(name, raw.lower() if kind == "choice" else raw)
    if "_" in raw or not raw.isascii():  # Python reads 1_000 and "١٠"; a person may not
        raise ConfigError(name, raw, spec.allowed + " (ASCII digits, no '_')")
    if kind == "sizes":
        parts = [p.strip() for p in raw.split(",")]
        if not raw or any(not _looks_int(p) for p in parts):
            raise ConfigError(name, raw or "(empty)", spec.allowed)
        return check_field(name, [int(p) for p in parts])
    if kind == "optional_int":
        if raw == "" or raw.lower() in ("all", "none"):
            return None
        if not _looks_int(raw):
            raise ConfigError(name, raw, spec.allowed)
        return check_field(name, int(raw))
    if kind == "int":
        if not _looks_int(raw):
            raise ConfigError(name, raw or "(empty)", spec.allowed)
        return check_field(name, int(raw))
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(name, raw or "(empty)", spec.allowed) from None
    if not math.isfinite(number):
        raise ConfigError(name, raw, spec.allowed)
    try:
        return check_field(name, number)
    except ConfigError as exc:  # name the text as typed: "0", not "0.0"
        raise ConfigError(name, raw, exc.allowed) from None


def _looks_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isdigit() and digits.isascii() and len(digits) <= 12


def format_field(name: str, value: Any) -> str:
    """The text a form or command line shows for a value (inverse of :func:`parse_field`)."""
    if value is None:
        return ""
    if FIELDS[name].kind == "sizes":
        return ",".join(str(s) for s in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a run. Frozen; each field is checked on construction."""

    dataset: str = "mnist"
    """'mnist' (bundled) or a directory holding the four IDX files."""
    hidden_sizes: tuple[int, ...] = (256,)
    """Sizes of the hidden layers, input to output; the network is in-h1-...-classes."""
    activation: str = "relu"
    """Activation of every hidden layer."""
    init: str = "he"
    """Weight initialisation: lecun (N(0, 1/fan_in)), he (N(0, 2/fan_in)), xavier."""
    optimizer: str = "adam"
    """Update rule: sgd, momentum, nesterov, rmsprop, adam or adamw."""
    learning_rate: float = 2e-3
    """Base step size; the schedule scales it."""
    momentum: float = 0.9
    """β of momentum (v ← βv + (1−β)g) and nesterov (PyTorch's buffer); rmsprop, adam and
    adamw do not use it."""
    beta1: float = 0.9
    """Adam/AdamW decay of the first moment."""
    beta2: float = 0.999
    """Adam/AdamW decay of the second moment."""
    alpha: float = 0.99
    """RMSprop decay of the mean square."""
    eps: float = 1e-8
    """Added to denominators of rmsprop, adam and adamw."""
    weight_decay: float = 0.0
    """L2 weight decay λ: added as λθ to the gradient, or decoupled for adamw."""
    dropout: float = 0.0
    """Probability of zeroing a hidden unit during training (inverted dropout)."""
    schedule: str = "cosine"
    """Learning-rate schedule: constant, step, exponential or cosine (near 0 at the run's end)."""
    warmup_epochs: float = 0.0
    """Epochs of linear warm-up from 0 before the schedule."""
    lr_step_epochs: int = 3
    """Step schedule: multiply by lr_gamma every this many epochs."""
    lr_gamma: float = 0.5
    """Step and exponential schedules: factor per decay (exponential: per epoch)."""
    lr_restart: float = 0.0
    """Epoch where the schedule starts over (0: never). Before it the schedule runs over
    ``lr_restart`` epochs, after it over the rest, as two runs back to back: a finished
    cosine run continued with more epochs trains them from the full rate, not from ~0."""
    batch_size: int = 128
    """Samples per update."""
    epochs: int = 10
    """Passes over the training set."""
    seed: int = 0
    """Seeds the weights, the shuffles, dropout and the validation split."""
    val_fraction: float = 0.0
    """Share of the training set held out for validation (0: none)."""
    subset: int | None = None
    """Train on only the first this-many shuffled samples (None: all)."""
    dtype: str = "float32"
    """Floating-point type of weights and activations."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_field(f.name, getattr(self, f.name)))
        estimate = parameter_count(784, self.hidden_sizes, 10)
        if estimate > MAX_PARAMETERS:
            raise ConfigError(
                "hidden_sizes", format_field("hidden_sizes", self.hidden_sizes),
                f"at most {MAX_PARAMETERS:,} parameters (this network has about "
                f"{estimate:,}, {estimate * 16 / 1e9:.1f} GB with optimizer state)")

        if self.lr_restart and self.lr_restart >= self.epochs:
            raise ConfigError("lr_restart", format_field("lr_restart", self.lr_restart),
                              f"0 (never), or an epoch before the last (epochs is "
                              f"{self.epochs})")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (and checked)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, hidden_sizes as a list."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["hidden_sizes"] = list(self.hidden_sizes)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from JSON-like data; unknown keys are refused by name."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", type(data).__name__, "a JSON object of config fields")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ConfigError("config", ", ".join(unknown), "only the fields " + ", ".join(FIELDS))
        values = dict(data)
        if isinstance(values.get("hidden_sizes"), list):
            values["hidden_sizes"] = tuple(values["hidden_sizes"])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("config", "JSON", f"valid JSON ({exc.msg} at char {exc.pos})") \
                from None
        return cls.from_dict(data)


def architecture(config: TrainConfig | tuple[int, ...] | list[int], n_inputs: int = 784,
                 n_classes: int = 10) -> str:
    """``784-256-10``: the layer sizes, inputs to classes, as every table and log shows them
    (``config`` is a TrainConfig or its ``hidden_sizes``)."""
    hidden = config.hidden_sizes if isinstance(config, TrainConfig) else tuple(config)
    return "-".join(str(s) for s in (n_inputs, *hidden, n_classes))


def parameter_count(n_inputs: int, hidden_sizes: tuple[int, ...] | list[int],
                    n_classes: int) -> int:
    """Weights plus biases of an n_inputs-hidden-n_classes MLP."""
    sizes = [n_inputs, *hidden_sizes, n_classes]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def estimate_bytes(config: TrainConfig, n_inputs: int = 784, n_classes: int = 10) -> int:
    """Memory a run needs, roughly: parameters, gradients, two optimizer slots and a scratch
    buffer (5 copies), plus the activations of one batch kept for backprop (3 copies)."""
    itemsize = 4 if config.dtype == "float32" else 8
    params = parameter_count(n_inputs, config.hidden_sizes, n_classes)
    widths = n_inputs + sum(config.hidden_sizes) + n_classes
    return itemsize * (5 * params + 3 * config.batch_size * widths)


def available_bytes() -> int | None:
    """Memory this process may still allocate (see :func:`engine.memory.usable_bytes`: the
    address-space limit, the cgroup's memory.max, available memory), None when unknown."""
    return usable_bytes()


def check_fits_in_memory(config: TrainConfig, n_inputs: int, n_classes: int) -> None:
    """Refuse, before allocating, a network over MAX_PARAMETERS for the data's real input
    and class counts (the config alone can only assume MNIST's 784 and 10), or one that
    would not fit in the memory this process may use now."""
    count = parameter_count(n_inputs, config.hidden_sizes, n_classes)
    if count > MAX_PARAMETERS:
        raise ConfigError("hidden_sizes", format_field("hidden_sizes", config.hidden_sizes),
                          f"at most {MAX_PARAMETERS:,} parameters with this data's "
                          f"{n_inputs:,} inputs and {n_classes:,} classes (this network has "
                          f"{count:,})")
    need = estimate_bytes(config, n_inputs, n_classes)
    have = available_bytes()
    if have is not None and need > have:
        raise ConfigError("hidden_sizes", format_field("hidden_sizes", config.hidden_sizes),
                          f"a network that fits in memory (needs about {need / 1e9:.1f} GB, "
                          f"{have / 1e9:.1f} GB available)")


#: Named starting points. "default" reaches 98% on MNIST in 10 epochs; "seed" is the
#: tutorial's 784-64-10 sigmoid network trained with its momentum rule.
PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    "seed": TrainConfig(
        hidden_sizes=(64,), activation="sigmoid", init="lecun", optimizer="momentum",
        learning_rate=1e-3, momentum=0.9, schedule="constant", batch_size=128, epochs=10),
    "fast": TrainConfig(hidden_sizes=(64,), subset=10_000, epochs=5, val_fraction=0.1),
}
PRESET_DOCS: dict[str, str] = {
    "default": "784-256-10 relu, Adam 2e-3, cosine schedule, 10 epochs: ≥98% test accuracy",
    "seed": "the tutorial's 784-64-10 sigmoid net, momentum β=0.9 (try --l_rate 4)",
    "fast": "784-64-10 on a 10,000-sample subset, 5 epochs: a run in a few seconds",
}


def preset(name: str) -> TrainConfig:
    """The config of a named preset."""
    if name not in PRESETS:
        raise ConfigError("preset", name, "one of " + ", ".join(PRESETS))
    return PRESETS[name]
