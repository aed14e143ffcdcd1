"""How recorded runs differ: the live changes each made while training, and the config
fields two runs started with (the Runs screen's diff)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.events import LiveChange
from engine.runs.store import RunInfo


@dataclass
class ConfigDiff:
    """How two runs' settings differ: the config fields they started with, and the
    hyperparameters changed by hand while they trained (which a rerun replays)."""

    left: str
    """The first run's name."""
    right: str
    """The second run's name."""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Config field -> (left value, right value), for the fields that differ."""
    left_live: tuple[LiveChange, ...] = ()
    """The first run's live changes (all of them, whether or not they differ)."""
    right_live: tuple[LiveChange, ...] = ()
    """The second run's live changes."""

    @property
    def live_changes_differ(self) -> bool:
        """True when the runs changed different values, or at different steps."""
        def key(live: tuple[LiveChange, ...]) -> list[tuple[int | None, str, Any]]:
            return [(c.step, c.field, c.value) for c in live]
        return key(self.left_live) != key(self.right_live)

    @property
    def identical(self) -> bool:
        """Same config and same live changes: same seed, same result."""
        return not self.changes and not self.live_changes_differ

    def summary(self) -> str:
        """One line: "1 field differs", "2 fields and the live changes differ", ..."""
        n = len(self.changes)
        fields = f"{n} config field{'s' * (n != 1)}"
        if self.live_changes_differ:
            return (f"{fields} and the live changes differ" if n
                    else "The configs are the same; the live changes differ")
        if not n:
            return "Identical: same config, same live changes"
        return f"{fields} differ{'s' * (n == 1)}"


def diff_configs(a: RunInfo, b: RunInfo) -> ConfigDiff:
    """How two runs' settings differ: config fields (name → (a's value, b's value)) and the
    live changes of each run."""
    da = a.config.to_dict() if a.config else {}
    db = b.config.to_dict() if b.config else {}
    changes = {k: (da.get(k), db.get(k)) for k in sorted(set(da) | set(db))
               if da.get(k) != db.get(k)}
    return ConfigDiff(a.name, b.name, changes, a.live_changes, b.live_changes)
