"""The runs table at 80 columns: columns that are "-" for every run are left out, and long
generated run names are shortened to their distinguishing end (the whole name is on the
Runs screen's detail line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from engine.config import TrainConfig, architecture
from engine.runs import TABLE_COLUMNS, RunInfo
from nnfs_tui.widgets.runs_table import RunsTable, short_name

CONFIG = TrainConfig(hidden_sizes=(128, 64), epochs=3)


def record(name: str, *, val: float | None = None, test: float | None = 0.95,
           config: TrainConfig | None = CONFIG, status: str = "completed") -> RunInfo:
    return RunInfo(name=name, path=Path("/nowhere") / name, status=status, config=config,
                   epochs_completed=3, best_val_acc=val, test_acc=test, seconds=61.0,
                   architecture=architecture(config) if config else "")


#: Twelve trials of one sweep: the names differ only at their end.
SWEEP = [record(f"sweep-20261202-022702-128-64-adam-{i:03d}", test=0.9 + i / 200)
         for i in range(12)]


class TableApp(App[None]):
    """One RunsTable, filled with ``runs`` once mounted."""

    def __init__(self, runs: list[RunInfo], sort_column: str | None = None) -> None:
        super().__init__()
        self.runs = runs
        self.sort_column = sort_column

    def compose(self) -> ComposeResult:
        yield RunsTable()

    def on_mount(self) -> None:
        self.query_one(RunsTable).show(self.runs, {}, sort_column=self.sort_column,
                                       descending=False, timing=False)


async def laid_out(app: TableApp, pilot) -> RunsTable:
    table = app.query_one(RunsTable)
    for _ in range(20):
        await pilot.pause()
        if table.fitted:
            break
    assert table.fitted
    return table


def shown_cells(table: RunsTable, column: str) -> list[str]:
    return [str(table.get_cell(run.name, column)).strip() for run in table.shown]


async def test_a_column_of_dashes_is_left_out_and_comes_back_with_a_value():
    app = TableApp(SWEEP)  # no run holds out a validation split
    async with app.run_test(size=(80, 24)) as pilot:
        table = await laid_out(app, pilot)
        keys = [c.key.value for c in table.ordered_columns]
        assert "best_val_acc" not in keys and table.empty == ["best_val_acc"]
        assert "best_val_acc" not in table.hidden  # nothing to list on the detail line
        assert table.max_scroll_x == 0
        table.show([*SWEEP, record("with-val", val=0.97)], {}, sort_column=None,
                   descending=False, timing=False)
        await pilot.pause()
        assert table.empty == []
        assert "best_val_acc" in [c.key.value for c in table.ordered_columns] \
            or "best_val_acc" in table.hidden  # back: shown, or named on the detail line


async def test_the_sort_column_stays_even_when_it_is_all_dashes():
    app = TableApp(SWEEP, sort_column="best_val_acc")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await laid_out(app, pilot)
        assert table.empty == []
        assert str(table.columns["best_val_acc"].label).strip().endswith("▲")


async def test_long_sweep_names_show_their_distinguishing_end_at_80_columns():
    app = TableApp(SWEEP)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await laid_out(app, pilot)
        assert table.max_scroll_x == 0  # nothing cut off to the right
        width = table.columns["name"].get_render_width(table)
        names = shown_cells(table, "name")
        assert all(len(name) < width for name in names)
        assert len(set(names)) == len(SWEEP)  # every trial told apart
        assert [name[-3:] for name in names] == [f"{i:03d}" for i in range(12)]
        assert {"test_acc", "learning_rate", "status"} <= {c.key.value
                                                           for c in table.ordered_columns}


async def test_an_empty_table_keeps_its_headers():
    app = TableApp([])
    async with app.run_test(size=(80, 24)) as pilot:
        table = await laid_out(app, pilot)
        assert table.empty == []
        assert len(table.ordered_columns) + len(table.hidden) == len(TABLE_COLUMNS) + 1


@pytest.mark.parametrize(("name", "width", "shown"), [
    ("b-sgd-16", 16, "b-sgd-16"),
    ("20261128-131502-128-64-adam", 20, "131502-128-64-adam"),  # the date goes first
    ("sweep-20261202-022702-8-sgd-009", 16, "…22702-8-sgd-009"),
    ("sweep-20261202-022702-8-sgd-009", 1, "…"),
])
def test_short_names(name, width, shown):
    assert short_name(name, width) == shown
    assert len(short_name(name, width)) <= width
