"""Numbers read from files or events, made safe to show, sort and write as JSON.

A diverged run reports NaN or infinite losses and accuracies; JSON has no spelling for them
and a table should show "-". These are the one place that rule is written.
"""

from __future__ import annotations

import math
from typing import Any


def finite_or_none(value: Any) -> Any:
    """None for a non-finite float (nan, inf, -inf); any other value unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else None.

    For values read from a file that may hold anything: ``"abc"``, ``true``, ``NaN`` and
    ``null`` all become None.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        value = float(value)  # a 400-digit integer overflows here, not in isfinite
    except OverflowError:
        return None
    return value if math.isfinite(value) else None
