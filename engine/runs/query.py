"""The one filter language and sort order over recorded runs, shared by ``nnfs-train runs
--filter/--sort`` and the Runs screen's ``/`` filter and sort menu.

Both work on the values of :meth:`RunInfo.row() <engine.runs.store.RunInfo.row>` (the
TABLE_COLUMNS), so the CSV export writes exactly the rows shown, in their order.

Filter. A plain word must occur in what the table shows of the run's name (less the
generated ``YYYYmmdd-HHMMSS`` time stamp), architecture, activation, optimizer, learning
rate, batch size or status; a word of NAME_WORD characters or more may also occur anywhere
in the full run name, so a pasted run name or a date like ``20261128`` finds its runs.
``field=value`` (or ``==``), ``field!=value`` and, for numbers,
``<``, ``<=``, ``>``, ``>=`` compare one column: ``lr>=1e-3``, ``batch=64``, ``test>97.5``
(accuracies in percent, as shown), ``time>1:30``, ``status=diverged``. Every word and term
must hold. A term that cannot be understood (an unknown column, ``lr>fast``, ``lr>nan``, a
comparison without a column) is named in ``RunFilter.problems`` and then nothing matches.

Sort. By one column, ascending or descending; numbers as numbers, architectures by their
layer sizes (784-64-10 before 784-256-10), text without regard to case. A run without a
value in that column (missing or not finite) comes last in either direction; ties keep the
store's order (newest first). No column: the store's order, reversed when descending.
Accuracies are best first when a column is first chosen (:func:`default_descending`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.config import format_field
from engine.errors import ConfigError
from engine.numbers import finite_or_none
from engine.runs.store import TABLE_COLUMNS, RunInfo

#: Columns sorted and compared as numbers.
NUMERIC = frozenset({"learning_rate", "batch_size", "epochs", "best_val_acc", "test_acc",
                     "seconds"})
#: Columns whose first sort is descending (best first).
DESCENDING_FIRST = frozenset({"best_val_acc", "test_acc"})
#: Columns a filter compares as percentages (the table shows 97.12%, the store 0.9712).
PERCENT = frozenset({"best_val_acc", "test_acc"})
#: What a plain filter word is looked for in (as the table shows it).
FILTER_FIELDS = ("name", "architecture", "activation", "optimizer", "learning_rate",
                 "batch_size", "status")
#: Names a ``field=value`` term (or ``--sort``) may use for each column.
FILTER_NAMES: dict[str, str] = {
    **{key: key for key in TABLE_COLUMNS},
    "arch": "architecture", "act": "activation", "opt": "optimizer", "lr": "learning_rate",
    "batch": "batch_size", "val": "best_val_acc", "best_val": "best_val_acc",
    "test": "test_acc", "time": "seconds",
}
#: The short names, as the filter's error message suggests them.
SHORT_NAMES = ("name", "arch", "act", "opt", "lr", "batch", "epochs", "val", "test", "time",
               "status")
#: A generated run name's time stamp, left out of what plain words match.
STAMP = re.compile(r"(?<![0-9])[0-9]{8}-[0-9]{6}(?![0-9])")
#: Plain words at least this long are also looked for in the whole run name, time stamp
#: included (shorter ones, like "1128", would match every run of a day).
NAME_WORD = 8
#: What the table shows for a missing or non-finite value.
MISSING = "-"
_TERM = re.compile(r"^([a-z_]+)(<=|>=|!=|==|=|<|>)(.*)$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def row_values(run: RunInfo) -> dict[str, Any]:
    """``run.row()`` with non-finite numbers replaced by None."""
    return {key: finite_or_none(value) for key, value in run.row().items()}


def percent(value: float | None) -> str:
    """An accuracy as the table shows it: ``0.9712`` -> ``97.12%``; None -> ``-``."""
    return MISSING if value is None else f"{100 * value:.2f}%"


def shown_text(run: RunInfo) -> dict[str, str]:
    """What the Runs table shows in each column but ``seconds`` (a front end formats time
    its own way): ``-`` for anything missing, epochs as ``done/planned`` when the run
    stopped short. Plain filter words are matched against this text."""
    v = row_values(run)
    planned = run.config.epochs if run.config else None
    done = v["epochs"]
    lr = v["learning_rate"]
    return {
        "name": v["name"],
        "architecture": v["architecture"] or MISSING,
        "activation": v["activation"] or MISSING,
        "optimizer": v["optimizer"] or MISSING,
        "learning_rate": MISSING if lr is None else format_field("learning_rate", lr),
        "batch_size": MISSING if v["batch_size"] is None else str(v["batch_size"]),
        "epochs": str(done) if planned in (None, done) else f"{done}/{planned}",
        "best_val_acc": percent(v["best_val_acc"]),
        "test_acc": percent(v["test_acc"]),
        "status": v["status"],
    }


def search_text(run: RunInfo) -> str:
    """What plain filter words are looked for in: the visible text columns, lower case,
    the name without its generated time stamp (else "128" would match every run of
    November 28th)."""
    shown = shown_text(run)
    text = [STAMP.sub("", run.name)] + [shown[key] for key in FILTER_FIELDS[1:]]
    return " ".join(text).lower()


def _seconds(text: str) -> float:
    """'90', '1:30' or '1:02:03' as seconds."""
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


@dataclass(frozen=True)
class Term:
    """One ``field<op>value`` term of a filter."""

    column: str
    """The TABLE_COLUMNS key it compares."""
    op: str
    """=, !=, <, <=, > or >=."""
    value: Any
    """A float for numeric columns (percent for accuracies), lower-case text otherwise."""

    def holds(self, run: RunInfo) -> bool:
        """True when the run's value compares as the term says (a missing value only
        satisfies ``!=``)."""
        value = row_values(run).get(self.column)
        if value is None or value == "":
            return self.op == "!="
        if self.column in NUMERIC:
            value = 100 * value if self.column in PERCENT else value
        else:
            value = str(value).lower()
        return _OPERATORS[self.op](value, self.value)


@dataclass(frozen=True)
class RunFilter:
    """A parsed filter: plain words and ``field<op>value`` terms, all of which must hold."""

    words: tuple[str, ...] = ()
    """Lower-case words looked for in the visible text columns."""
    terms: tuple[Term, ...] = ()
    """Column comparisons."""
    problems: tuple[str, ...] = ()
    """Terms that could not be understood (then nothing matches), to show the person."""

    def matches(self, run: RunInfo) -> bool:
        """True when every word and term holds for the run (never, with problems)."""
        if self.problems:
            return False
        if self.words:
            haystack, name = search_text(run), run.name.lower()
            if not all(word in haystack or (len(word) >= NAME_WORD and word in name)
                       for word in self.words):
                return False
        return all(term.holds(run) for term in self.terms)


def parse_filter(query: str) -> RunFilter:
    """Split a filter into words and ``field<op>value`` terms (see the module docstring)."""
    words, terms, problems = [], [], []
    for token in query.lower().split():
        found = _TERM.match(token)
        if not found:
            if token[0] in "<>=!":
                problems.append(f"{token}: name a column first (e.g. lr{token})")
            else:
                words.append(token)
            continue
        name, op, text = found.groups()
        op = "=" if op == "==" else op
        column = FILTER_NAMES.get(name)
        if column is None:
            problems.append(f"{name}: not a column (try {', '.join(sorted(SHORT_NAMES))})")
            continue
        if column in NUMERIC:
            try:
                value = (_seconds(text) if column == "seconds"
                         else float(text.removesuffix("%")))
                if not math.isfinite(value):
                    raise ValueError(text)
            except ValueError:
                problems.append(f"{name}{op}{text}: expected a finite number")
                continue
        elif op in ("=", "!="):
            value = text
        else:
            problems.append(f"{name}{op}: only = and != for text")
            continue
        terms.append(Term(column, op, value))
    return RunFilter(tuple(words), tuple(terms), tuple(problems))


def matches(run: RunInfo, query: str | RunFilter) -> bool:
    """True when the run passes the filter (a query string or a parsed RunFilter)."""
    parsed = parse_filter(query) if isinstance(query, str) else query
    return parsed.matches(run)


def resolve_column(name: str) -> str:
    """The TABLE_COLUMNS key for a column name or its short name (``lr``, ``test``, ...);
    ConfigError for anything else."""
    column = FILTER_NAMES.get(name.strip().lower())
    if column is None:
        raise ConfigError("sort", name, "one of " + ", ".join(TABLE_COLUMNS)
                          + " (or " + ", ".join(SHORT_NAMES) + ")")
    return column


def default_descending(column: str | None) -> bool:
    """The direction a column sorts in when first chosen: accuracies best first, the rest
    ascending (and no column: newest first)."""
    return column in DESCENDING_FIRST


def _sort_value(column: str, value: Any) -> Any:
    if column == "architecture":  # by layer sizes, so 784-64-10 comes before 784-256-10
        try:
            return tuple(int(part) for part in str(value).split("-"))
        except ValueError:
            return ()
    if column in NUMERIC:
        return float(value)
    return str(value).lower()


def sort_runs(runs: Iterable[RunInfo], column: str | None,
              descending: bool = False) -> list[RunInfo]:
    """Runs ordered by one TABLE_COLUMNS column (None: as given, i.e. newest first); rows
    without a value (missing or not finite) sort last whichever the direction. Ties keep
    their order."""
    runs = list(runs)
    if column is None:
        return runs[::-1] if descending else runs
    present, missing = [], []
    for run in runs:
        value = row_values(run).get(column)
        (missing if value is None or value == "" else present).append(run)
    present.sort(key=lambda r: _sort_value(column, row_values(r)[column]), reverse=descending)
    return present + missing
