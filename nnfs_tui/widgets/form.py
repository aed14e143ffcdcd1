"""The hyperparameter form, driven by ``engine.config.FIELDS``.

A Select for every choice field and an Input for the rest. Typed text goes through
``engine.config.parse_field``, so the error shown under a field is the engine's own message.
While a run trains, the fields that cannot change mid-run are disabled (the form gets the
class ``-locked``);
the live ones stay editable and are applied to the run with Enter (or on leaving the field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from engine.config import (
    APPLIES_WHEN,
    FIELDS,
    PRESET_DOCS,
    PRESETS,
    TrainConfig,
    architecture,
    field_applies,
    format_field,
    parameter_count,
    parse_field,
)
from engine.data import check_dataset_source
from engine.errors import ConfigError, DatasetError
from engine.events import LiveChange
from nnfs_tui.keymap import in_app_words
from nnfs_tui.widgets.text_field import TextField

#: The order of the form: network, optimisation, schedule, data. Every field of FIELDS.
FORM_ORDER: tuple[str, ...] = (
    "hidden_sizes", "activation", "init",
    "optimizer", "learning_rate", "momentum", "beta1", "beta2", "alpha", "eps",
    "weight_decay", "dropout", "batch_size", "epochs",
    "schedule", "warmup_epochs", "lr_step_epochs", "lr_gamma", "lr_restart",
    "seed", "subset", "val_fraction", "dataset", "dtype",
)

class FieldRow(Vertical):
    """One field: its name, its control, and the engine's error under it when invalid."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > .line { height: 1; }
    FieldRow .name { width: 15; }
    FieldRow .error { display: none; color: $error; }
    FieldRow.-invalid .error { display: block; }
    FieldRow .hint { color: $text-muted; }
    """

    def __init__(self, name: str, control: Widget, *, live: bool = False,
                 hint: bool = False) -> None:
        super().__init__(id=f"row-{name}", classes="-live" if live else "")
        self.field = name
        """The config field."""
        self.control = control
        """The Input or Select."""
        self.has_hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal(classes="line"):
            yield Label(self.field, classes="name", markup=False)
            yield self.control
        yield Static("", classes="error", markup=False)
        if self.has_hint:
            yield Static("", classes="hint", markup=False)

    def show_error(self, message: str | None) -> None:
        self.set_class(bool(message), "-invalid")
        self.query_one(".error", Static).update(message or "")

    def show_hint(self, text: str) -> None:
        if self.has_hint:
            self.query_one(".hint", Static).update(text)


class HyperparameterForm(Vertical):
    """Every TrainConfig field, validated as typed; presets at the top."""

    @dataclass(eq=False)
    class LiveEdit(Message):
        """The person applied new values of live fields during a run."""

        changes: tuple[LiveChange, ...]
        """The values as typed (parsed); the engine checks them when the run takes them."""

    class Edited(Message):
        """A field changed (valid or not); the app refreshes what depends on the form."""

    locked: reactive[bool] = reactive(False, init=False)
    """True while a run trains: only live fields stay editable."""
    n_features: reactive[int] = reactive(784, init=False)
    """Inputs per sample, for the parameter count."""
    n_classes: reactive[int] = reactive(10, init=False)
    """Classes, for the parameter count."""

    def __init__(self, config: TrainConfig, *, preset: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.values: dict[str, Any] = config.to_dict()
        """The last valid value of every field."""
        self.values["hidden_sizes"] = tuple(config.hidden_sizes)
        self.errors: dict[str, ConfigError] = {}
        """Fields whose text does not parse, with the engine's error."""
        self.applied: dict[str, Any] = {}
        """Live fields' values in the running model (while locked)."""
        self.sent: dict[str, Any] = {}
        """Live values sent to the run and not yet in the model (a paused run takes them at
        its next batch): Enter again on the same value sends nothing."""
        self._preset = _matching_preset(self.values)
        """The preset the values are, dataset aside (None: custom); ``preset`` only picks
        between presets that are equal."""
        if preset in PRESETS and PRESETS[preset].replace(dataset=config.dataset) == config:
            self._preset = preset

    # -- building --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="fields", can_focus=False):
            options = [(name, name) for name in PRESETS]
            preset = Select(options, value=self._preset or Select.NULL, allow_blank=True,
                            prompt="(custom)", compact=True, id="preset",
                            tooltip="\n".join(f"{k}: {in_app_words(v)}"
                                              for k, v in PRESET_DOCS.items()))
            yield FieldRow("preset", preset)
            for name in FORM_ORDER:
                spec = FIELDS[name]
                text = format_field(name, self.values[name])
                control: Widget
                if spec.kind == "choice":
                    control = Select([(c, c) for c in spec.choices], value=text,
                                     allow_blank=False, compact=True, id=f"f-{name}",
                                     name=name)
                else:
                    control = TextField(text, compact=True, id=f"f-{name}", name=name,
                                        placeholder="all" if name == "subset" else "")
                control.tooltip = f"{spec.doc}\nexpected {spec.allowed}" + (
                    "\nlive: can change while training (Enter applies)" if spec.live else "")
                yield FieldRow(name, control, live=spec.live, hint=name == "hidden_sizes")
        yield Static("", id="field-doc", markup=False)

    def on_mount(self) -> None:
        self._update_visibility()
        self._update_parameter_count()
        self.query_one("#field-doc", Static).update(self._doc_for("preset"))

    # -- reading ---------------------------------------------------------------------------
    def control(self, name: str) -> Input | Select:
        return self.query_one(f"#f-{name}")  # type: ignore[return-value]

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{name}", FieldRow)

    def config(self) -> TrainConfig:
        """The config the form describes; raises the first field's ConfigError."""
        for name in FORM_ORDER:
            if name in self.errors:
                raise self.errors[name]
        try:
            return TrainConfig(**self.values)
        except ConfigError as exc:
            if exc.field in FIELDS:
                self.show_error(exc.field, str(exc))
            raise

    @property
    def is_valid(self) -> bool:
        return not self.errors

    # -- writing ---------------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Show every field of ``config`` (clears errors)."""
        # the controls post Changed for the new text later; checking it again is harmless
        for name in FORM_ORDER:
            value = getattr(config, name)
            self.values[name] = value
            self.errors.pop(name, None)
            self.row(name).show_error(None)
            self.control(name).value = format_field(name, value)
        self._update_visibility()
        self._update_parameter_count()
        self._update_preset()
        self.post_message(self.Edited())

    def clear_run_errors(self) -> None:
        """Forget errors the engine raised for a past run (typing errors stay)."""
        for name in FORM_ORDER:
            if name not in self.errors:
                self.row(name).show_error(None)

    def show_error(self, name: str, message: str) -> None:
        """Mark a field invalid with a message (e.g. one the engine raised at start)."""
        if name in FIELDS:
            self.row(name).show_error(message)
            self.sent.pop(name, None)  # refused: the same value may be sent again

    def mark_applied(self, changes: dict[str, Any]) -> None:
        """Live changes reached the model: those fields are no longer pending."""
        self.applied.update(changes)
        for name in changes:
            self.sent.pop(name, None)
            if name in FIELDS:
                self.row(name).remove_class("-pending")

    def watch_locked(self, locked: bool) -> None:
        # one class on the form and `disabled` on each locked row (its control follows):
        # every change of either restyles a subtree, so as few as that
        self.set_class(locked, "-locked")
        for name in ("preset", *FORM_ORDER):
            if name == "preset" or not FIELDS[name].live:
                self.row(name).disabled = locked
        if locked:
            self.applied = {name: self.values[name] for name in FORM_ORDER
                            if FIELDS[name].live}
        else:
            self.applied = {}
            self.sent = {}
            for row in self.query(FieldRow):
                row.remove_class("-pending")

    def watch_n_features(self) -> None:
        self._update_parameter_count()

    def watch_n_classes(self) -> None:
        self._update_parameter_count()

    # -- events ----------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        name = event.input.name
        if name:
            self._check(name, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "preset":
            # the Select also reports its first value when mounted: only a new choice counts
            if event.value in PRESETS and event.value != self._preset:
                self._preset = str(event.value)
                dataset = self.values["dataset"]
                self.set_config(PRESETS[self._preset].replace(dataset=dataset))
            return
        name = event.select.name
        if name and event.value is not Select.NULL:
            self._check(name, str(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.name:
            self._apply_live(event.input.name)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input.name:
            self._apply_live(event.input.name)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        name = "preset" if widget.id == "preset" else widget.name
        if name in FIELDS or name == "preset":
            self.query_one("#field-doc", Static).update(self._doc_for(name))

    # -- internals -------------------------------------------------------------------------
    def _doc_for(self, name: str) -> str:
        if name == "preset":
            return "preset: a named starting point (" + ", ".join(PRESETS) + ")"
        spec = FIELDS[name]
        live = " Live: Enter applies it to the run." if spec.live else ""
        if spec.kind in ("choice", "str"):  # the Select lists the choices; the doc says it
            return f"{name}: {spec.doc}.{live}"
        return f"{name}: {spec.doc}; expected {spec.allowed}.{live}"

    def _check(self, name: str, text: str) -> None:
        row = self.row(name)
        try:
            value = parse_field(name, text)
            if name == "hidden_sizes":
                TrainConfig(hidden_sizes=value)  # the engine's limit on the parameter count
            if name == "dataset":
                _check_dataset(value)
        except ConfigError as exc:
            self.errors[name] = exc
            row.show_error(str(exc))
        else:
            self.errors.pop(name, None)
            self.values[name] = value
            row.show_error(None)
        if name in ("optimizer", "schedule"):
            self._update_visibility()
        if name == "hidden_sizes":
            self._update_parameter_count()
        self._update_preset()
        if self.locked and FIELDS[name].live:
            pending = name not in self.errors and self.values[name] != self.applied.get(name)
            row.set_class(pending, "-pending")
        self.post_message(self.Edited())

    def _apply_live(self, name: str) -> None:
        if not self.locked or not FIELDS[name].live or name in self.errors:
            return
        value = self.values[name]
        if name in self.sent:
            if value == self.sent[name]:
                return  # already on its way
        elif value == self.applied.get(name):
            return
        self.sent[name] = value
        self.post_message(self.LiveEdit((LiveChange(name, value),)))

    def _update_visibility(self) -> None:
        for name in APPLIES_WHEN:
            shown = field_applies(name, self.values)
            row = self.row(name)
            if not shown and name in self.errors:
                # a hidden field cannot block a run: back to its last valid value
                self.errors.pop(name)
                row.show_error(None)
                self.control(name).value = format_field(name, self.values[name])
            row.display = shown

    def _update_preset(self) -> None:
        """Show the preset the form's values are (dataset aside), or "(custom)"."""
        if not self.is_mounted:
            return
        match = _matching_preset(self.values)
        if match != self._preset:
            self._preset = match  # first, so the Select's Changed message is a no-op
            self.query_one("#preset", Select).value = match or Select.NULL

    def _update_parameter_count(self) -> None:
        if not self.is_mounted:
            return
        sizes = self.values["hidden_sizes"]
        count = parameter_count(self.n_features, sizes, self.n_classes)
        stale = " (last valid)" if "hidden_sizes" in self.errors else ""
        self.row("hidden_sizes").show_hint(
            f"{architecture(sizes, self.n_features, self.n_classes)} · {count:,} params{stale}")


def _matching_preset(values: dict[str, Any]) -> str | None:
    """The first preset equal to the form's values (the dataset aside), or None."""
    try:
        config = TrainConfig(**values)
    except (ConfigError, TypeError):
        return None
    return next((name for name, preset in PRESETS.items()
                 if preset.replace(dataset=config.dataset) == config), None)


def _check_dataset(value: str) -> None:
    """ConfigError unless ``value`` names a dataset or a directory of the four IDX files
    (checked as typed, without reading them)."""
    try:
        check_dataset_source(value)
    except DatasetError as exc:
        known = "" if exc.problem.startswith("unknown dataset") else f" ({exc.problem})"
        raise ConfigError("dataset", value, FIELDS["dataset"].allowed + known) from None
