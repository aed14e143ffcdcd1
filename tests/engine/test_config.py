"""Config validation: one message format, the same from typed values and from text."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import activations, checkpoint, optimizers
from engine.config import (
    ACTIVATIONS,
    DTYPES,
    FIELDS,
    FLAG_TO_FIELD,
    INITS,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
    ConfigError,
    TrainConfig,
    parse_field,
    preset,
)
from engine.network import MLP
from engine.schedules import lr_factor


@pytest.mark.parametrize("text", ["nan", "inf", "-1", "0", "1e309", "abc", "", "  "])
def test_bad_learning_rates_are_refused_by_name(text):
    with pytest.raises(ConfigError) as info:
        parse_field("learning_rate", text)
    message = str(info.value)
    assert message.startswith("learning_rate: ")
    assert message.endswith("is not valid; expected a finite number in (0, 1000]")


@pytest.mark.parametrize("text", ["3.5", "1e3", "-1", "0", "99999999999999", "ten"])
def test_integers_must_be_written_as_integers_in_range(text):
    with pytest.raises(ConfigError, match=r"^epochs: .* expected a whole number from 1 to"):
        parse_field("epochs", text)


@pytest.mark.parametrize("text", ["64,,32", "0", "-5", "100000", "", "64,", "a,b",
                                  "1,2,3,4,5,6,7,8,9"])
def test_bad_layer_lists(text):
    with pytest.raises(ConfigError, match="^hidden_sizes: "):
        parse_field("hidden_sizes", text)


def test_good_text_parses_to_typed_values():
    assert parse_field("hidden_sizes", " 256, 128 ") == (256, 128)
    assert parse_field("learning_rate", "4") == 4.0
    assert parse_field("batch_size", "128") == 128
    assert parse_field("activation", "ReLU") == "relu"
    assert parse_field("subset", "") is None and parse_field("subset", "5000") == 5000


def test_unknown_choice_lists_the_allowed_names():
    with pytest.raises(ConfigError, match="^optimizer: lion is not valid; expected one of sgd, "
                       "momentum, nesterov, rmsprop, adam, adamw$"):
        parse_field("optimizer", "lion")


def test_typed_values_get_the_same_message_as_text():
    with pytest.raises(ConfigError) as from_text:
        parse_field("dropout", "0.99")
    with pytest.raises(ConfigError) as typed:
        TrainConfig(dropout=0.99)
    assert str(from_text.value) == str(typed.value)


def test_booleans_are_not_numbers():
    with pytest.raises(ConfigError, match="^epochs: "):
        TrainConfig(epochs=True)


def test_networks_too_large_are_refused_with_the_size():
    with pytest.raises(ConfigError, match=r"at most 50,000,000 parameters .* GB"):
        TrainConfig(hidden_sizes=(16384, 16384))


def test_config_is_frozen_and_json_round_trips():
    config = TrainConfig(hidden_sizes=(32, 16), optimizer="nesterov", subset=100)
    with pytest.raises(AttributeError):
        config.epochs = 3  # type: ignore[misc]
    assert TrainConfig.from_json(config.to_json()) == config
    assert config.to_dict()["hidden_sizes"] == [32, 16]


def test_unknown_keys_and_wrong_types_in_json_are_refused():
    with pytest.raises(ConfigError, match="config: colour is not valid"):
        TrainConfig.from_dict({"colour": "red"})
    with pytest.raises(ConfigError, match="^epochs: "):
        TrainConfig.from_dict({"epochs": "10"})
    with pytest.raises(ConfigError, match="valid JSON"):
        TrainConfig.from_json("{oops")


def test_presets():
    assert preset("default") == TrainConfig()
    seed = preset("seed")
    assert (seed.hidden_sizes, seed.activation, seed.optimizer, seed.batch_size, seed.init) == (
        (64,), "sigmoid", "momentum", 128, "lecun")
    with pytest.raises(ConfigError, match="preset: nope is not valid"):
        preset("nope")
    assert set(PRESETS) >= {"default", "seed"}


def test_every_field_has_a_doc_line():
    assert all(spec.doc and "\n" not in spec.doc for spec in FIELDS.values())


def test_every_field_has_its_own_command_line_flags():
    """Each field can be set from the command line, and no flag sets two fields."""
    assert all(spec.flags for spec in FIELDS.values())
    assert sum(len(spec.flags) for spec in FIELDS.values()) == len(FLAG_TO_FIELD)
    assert FLAG_TO_FIELD["--l_rate"] == FLAG_TO_FIELD["--lr"] == "learning_rate"
    assert FLAG_TO_FIELD["--beta"] == "momentum" and FLAG_TO_FIELD["--warmup"] == "warmup_epochs"


def test_the_choice_lists_name_what_the_engine_implements():
    """The config's lists, which the CLI, the form and the help screen offer, are exactly the
    registries of the maths modules: nothing offered that cannot be built, nothing hidden."""
    assert set(ACTIVATIONS) == set(activations.ACTIVATIONS)
    assert set(OPTIMIZERS) == set(optimizers.OPTIMIZERS)
    assert set(DTYPES) == set(checkpoint._FLOAT_DTYPES)
    assert FIELDS["activation"].choices == ACTIVATIONS
    assert FIELDS["optimizer"].choices == OPTIMIZERS
    assert FIELDS["schedule"].choices == SCHEDULES
    assert FIELDS["init"].choices == INITS
    assert FIELDS["dtype"].choices == DTYPES


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_has_a_rule(schedule):
    """A schedule added to the config without a rule in lr_factor raises here."""
    factor = lr_factor(schedule, 9.0, 10, step_epochs=3, gamma=0.5)
    assert 0.0 <= factor <= 1.0
    assert (factor == 1.0) == (schedule == "constant")


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule: linear is not valid"):
        lr_factor("linear", 1.0, 10)


@pytest.mark.parametrize(("init", "variance"), [
    ("lecun", 1 / 400), ("he", 2 / 400), ("xavier", 2 / (400 + 600))])
def test_every_init_draws_with_its_own_variance(init, variance):
    assert set(INITS) == {"lecun", "he", "xavier"}  # a new init needs a row here
    w = MLP([400, 600, 10], init=init, seed=0).params["W1"]
    assert w.var() == pytest.approx(variance, rel=0.02)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_builds_a_network_of_that_type(dtype):
    net = MLP([4, 3, 2], dtype=dtype)
    assert all(p.dtype == dtype for p in net.params.values())


@given(st.text(max_size=12), st.sampled_from(sorted(FIELDS)))
def test_any_text_parses_or_raises_config_error(text, name):
    try:
        parse_field(name, text)
    except ConfigError as exc:
        assert str(exc).startswith(f"{name}: ")


@pytest.mark.parametrize(("schedule", "progress", "expected"), [
    ("constant", 7.3, 1.0),
    ("step", 2.9, 1.0), ("step", 3.0, 0.5), ("step", 6.5, 0.25),
    ("exponential", 2.0, 0.25),
    ("cosine", 0.0, 1.0), ("cosine", 5.0, 0.5), ("cosine", 10.0, 0.0),
])
def test_schedules(schedule, progress, expected):
    assert lr_factor(schedule, progress, 10, step_epochs=3, gamma=0.5) == pytest.approx(
        expected, abs=1e-12)


def test_warmup_rises_linearly_then_hands_over():
    assert lr_factor("cosine", 0.25, 10, warmup=1.0) == pytest.approx(0.25)
    assert lr_factor("cosine", 1.0, 10, warmup=1.0) == pytest.approx(1.0)
    assert lr_factor("cosine", 5.5, 10, warmup=1.0) == pytest.approx(
        0.5 * (1 + math.cos(math.pi * 0.5)))


def test_a_network_larger_than_available_memory_is_refused_before_allocating(monkeypatch,
                                                                             mnist_small):
    from engine import config as config_module
    from engine.training import Trainer

    monkeypatch.setattr(config_module, "available_bytes", lambda: 100 * 1024 * 1024)
    wide = TrainConfig(hidden_sizes=(8192, 4096))  # ~40M parameters, ~0.8 GB
    with pytest.raises(ConfigError, match=r"^hidden_sizes: 8192,4096 is not valid; expected a "
                       r"network that fits in memory \(needs about 0\.8 GB, 0\.1 GB available\)"):
        Trainer(wide, mnist_small)


def test_step_schedule_boundaries_do_not_depend_on_float_rounding() -> None:
    """4.1 epochs after a 0.1-epoch warm-up is 4 whole epochs (4.1 - 0.1 is 3.9999999999999996
    in floats): the fourth decay has happened."""
    assert lr_factor("step", 4.1, 5, warmup=0.1, step_epochs=1, gamma=0.7) == pytest.approx(
        0.7**4)
    assert lr_factor("step", 0.3, 5, warmup=0.1 + 0.2, step_epochs=1, gamma=0.7) == 1.0
    assert lr_factor("step", 0.7 + 0.6 - 0.3, 5, step_epochs=1, gamma=0.5) == 0.5


def test_a_lr_restart_runs_the_schedule_again_from_its_start() -> None:
    """Two schedules back to back: cosine over the first 2 epochs, then over the other 2."""
    for progress, expected in ((0.0, 1.0), (1.0, 0.5), (2.0, 1.0), (3.0, 0.5), (3.5, 0.5 * (
            1 + math.cos(math.pi * 0.75)))):
        assert lr_factor("cosine", progress, 4, restart=2.0) == pytest.approx(expected)
    # step and exponential count their decays from the restart again
    assert lr_factor("step", 5.5, 8, step_epochs=1, gamma=0.5, restart=4.0) == 0.5
    assert lr_factor("exponential", 6.0, 8, gamma=0.5, restart=4.0) == pytest.approx(0.25)
    # the warm-up is part of the schedule, so it comes again too
    assert lr_factor("cosine", 2.5, 4, warmup=1.0, restart=2.0) == pytest.approx(0.5)
    # a constant schedule has nothing to restart (its warm-up is not repeated either)
    assert lr_factor("constant", 2.5, 4, warmup=1.0, restart=2.0) == 1.0


def test_a_lr_restart_must_come_before_the_last_epoch() -> None:
    assert TrainConfig(epochs=4, lr_restart=3.5).lr_restart == 3.5
    with pytest.raises(ConfigError, match=r"^lr_restart: 4 is not valid; expected 0 "
                       r"\(never\), or an epoch before the last \(epochs is 4\)"):
        TrainConfig(epochs=4, lr_restart=4)
