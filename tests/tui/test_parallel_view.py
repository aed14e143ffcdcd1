"""The Runs screen's parallel-coordinates view (p): brushing by keys and mouse, the
importance panel, the scatter (v), sweep around this (w), and the footer's run keys.

The runs are sixteen fixed records (tests/tui/synthetic_runs.py) whose score depends on the
learning rate mostly, so which runs a brush keeps, and which field matters, are known.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey

from engine.runs import RunStore
from engine.runs.importance import Importance
from engine.sweep import SweepError
from nnfs_tui.app import create_app
from nnfs_tui.dialogs.sweep import ExecutorChoice, SweepDialog
from nnfs_tui.screens.runs import RunsScreen
from nnfs_tui.widgets.importance import ImportancePanel
from nnfs_tui.widgets.parallel_plot import SHORT_NAMES, ParallelPlot, score_ranks, short_name
from nnfs_tui.widgets.scatter_plot import ScatterPlot, x_positions
from tests.tui.helpers import SMALL, wait_for
from tests.tui.synthetic_runs import synthetic_configs, synthetic_score, write_synthetic_runs
from tests.tui.test_runs import RunsApp, opened, runs_read, shown_names

CONFIGS = synthetic_configs()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return write_synthetic_runs(tmp_path / "runs")


def names_where(test) -> set[str]:  # noqa: ANN001
    """The synthetic runs whose config passes ``test``."""
    return {name for name, config in CONFIGS.items() if test(config)}


def summary(screen: RunsScreen) -> str:
    return str(screen.query_one("#runs-summary").render())


def plot_text(widget: ParallelPlot | ScatterPlot | ImportancePanel) -> str:
    return widget.render().plain  # type: ignore[union-attr]


async def parallel_view(pilot: Pilot) -> RunsScreen:
    screen = await opened(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: screen.parallel_plot.has_focus, "the plot's focus")
    return screen


async def test_brushing_with_key_bursts_keeps_the_runs_inside_every_brush(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await parallel_view(pilot)
        plot = screen.parallel_plot
        assert [a.name for a in plot.shown_axes] == ["hidden_sizes", "optimizer",
                                                     "learning_rate", "batch_size", "score"]
        # the optimizer axis (adam below sgd): its top edge down one step keeps adam only
        await pilot.press("right", "down")
        adam = names_where(lambda c: c.optimizer == "adam")
        assert set(shown_names(screen)) == adam
        assert "brushes keep 8 of 16" in summary(screen)
        # hidden_sizes (32, 64, 128, 128,64): the bottom edge up one step drops 32
        await pilot.press("left", "shift+up")
        wide = names_where(lambda c: c.optimizer == "adam" and c.hidden_sizes != (32,))
        assert set(shown_names(screen)) == wide and len(wide) == 6
        # with the text filter: both must hold
        await pilot.press("slash", *"batch=64", "enter")
        assert set(shown_names(screen)) == {n for n in wide if CONFIGS[n].batch_size == 64}
        # back in the plot (Tab from the table): Backspace clears the picked axis's brush
        assert screen.table.has_focus
        await pilot.press("tab", "backspace")
        assert set(shown_names(screen)) == {n for n in adam if CONFIGS[n].batch_size == 64}
        # p hides the view: its brushes no longer filter
        await pilot.press("p")
        assert len(shown_names(screen)) == 8 and "brushes" not in summary(screen)


async def test_dragging_along_the_score_axis_keeps_the_best_runs(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await parallel_view(pilot)
        plot = screen.parallel_plot
        columns = plot.columns(len(plot.shown_axes))
        top = 2  # the first plot row, under the names and the top values
        middle = top + plot.plot_rows // 2
        await pilot.mouse_down(ParallelPlot, offset=(columns[-1], top))
        await pilot.hover(ParallelPlot, offset=(columns[-1], middle))
        await pilot.mouse_up(ParallelPlot, offset=(columns[-1], middle))
        brush = plot.brushes["score"]
        assert brush.high == 1.0 and 0.3 < brush.low < 0.7
        scores = {name: synthetic_score(c) for name, c in CONFIGS.items()}
        low, high = min(scores.values()), max(scores.values())
        kept = {n for n, s in scores.items() if (s - low) / (high - low) >= brush.low - 1e-9}
        assert set(shown_names(screen)) == kept and 0 < len(kept) < 16
        assert f"brushes keep {len(kept)} of 16" in summary(screen)
        # the labels say the brushed range in percent
        assert f"{100 * high:.1f}%" in plot_text(plot).splitlines()[1]


class PanelApp(App[None]):
    """An importance panel alone, of a given width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def compose(self) -> ComposeResult:
        panel = ImportancePanel()
        panel.styles.width = self.width
        yield panel


FOUND = Importance(shares=(("lr_restart", 0.5), ("learning_rate", 0.3), ("weight_decay", 0.2)),
                   n_runs=12, method="PED-ANOVA (Optuna)")


@pytest.mark.parametrize("width", [34, 40])
async def test_the_importance_panel_shows_full_names_when_they_fit(width) -> None:
    app = PanelApp(width)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(ImportancePanel)
        panel.show(FOUND)
        await pilot.pause()
        names = [line.split()[0] for line in plot_text(panel).splitlines()[1:4]]
        assert names == ["lr_restart", "learning_rate", "weight_decay"]


async def test_a_narrow_importance_panel_abbreviates_as_the_axes_do() -> None:
    """At its narrowest (26 columns, as at 80x24) the names that do not fit beside a bar take
    the axes' short names; the others stay whole."""
    app = PanelApp(26)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(ImportancePanel)
        panel.show(FOUND)
        await pilot.pause()
        lines = plot_text(panel).splitlines()[1:4]
        names = [line.split()[0] for line in lines]
        assert names == ["lr_restart", "lr", "wd"]
        assert names[1:] == [short_name(f, 9) for f in ("learning_rate", "weight_decay")]
        assert all(line.rstrip().endswith("%") for line in lines)


async def test_the_importance_panel_ranks_the_learning_rate_first(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await parallel_view(pilot)
        await wait_for(pilot, lambda: screen.importance is not None, "the importance")
        shares = screen.importance.shares
        assert shares[0][0] == "learning_rate" and shares[0][1] > 2 * shares[1][1]
        lines = plot_text(screen.importance_panel).splitlines()
        # at 120 columns the full field names, as on the plot's axes
        assert lines[0].startswith("importance · 16 runs")
        assert lines[1].startswith("learning_rate ")
        # the plot keeps the most important axes when they do not all fit
        assert screen.parallel_plot.ranking[0] == "learning_rate"
        # too few runs: the panel says so instead of showing noise
        screen.filter_input.focus()
        await pilot.press(*"lr>=0.01", "enter")
        assert len(shown_names(screen)) == 6
        await wait_for(pilot, lambda: screen.importance is not None
                       and screen.importance.n_runs == 6, "the importance of six runs")
        text = plot_text(screen.importance_panel)
        assert "8" in text and "lr " not in text and screen.importance.problem in text


async def test_the_scatter_shows_the_score_against_the_picked_field(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await parallel_view(pilot)
        await pilot.press("right", "right", "v")  # learning_rate, then the scatter
        scatter = screen.scatter_plot
        assert scatter.display and not screen.parallel_plot.display and scatter.has_focus
        text = plot_text(scatter)
        assert "score against learning_rate (log)" in text
        assert "0.0001" in text and "0.1" in text.splitlines()[-1]
        points = sum(line.count("●") + line.count("◆") for line in text.splitlines())
        assert 4 <= points <= 16  # runs of equal lr and score share a dot
        await pilot.press("left")  # the previous field: a category axis, by name
        text = plot_text(scatter)
        assert "score against optimizer (categories)" in text
        assert "adam" in text.splitlines()[-1] and "sgd" in text.splitlines()[-1]
        await pilot.press("v")
        assert screen.parallel_plot.display and not scatter.display


async def test_axes_that_do_not_fit_are_left_out_least_important_first_and_named(
        tmp_path) -> None:
    store = write_synthetic_runs(tmp_path / "runs", wide=True)
    app = RunsApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await parallel_view(pilot)
        every = [a.name for a in screen.parallel_plot.axes]
        assert len(every) == 9 and every[-1] == "score"
        assert [a.name for a in screen.parallel_plot.shown_axes] == every
        assert "left out" not in plot_text(screen.parallel_plot)
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        assert screen.parallel  # as the screen was left
        await wait_for(pilot, lambda: screen.importance is not None, "the importance")
        await pilot.pause()
        plot = screen.parallel_plot
        shown = [a.name for a in plot.shown_axes]
        assert 3 <= len(shown) < len(every) and shown[-1] == "score"
        assert shown == [name for name in every if name in shown]  # in the config's order
        ranked = [name for name, _ in screen.importance.shares]
        assert shown[:-1] == [name for name in every if name in ranked[:len(shown) - 1]]
        key_line = plot_text(plot).splitlines()[-1]
        assert f"{len(every) - len(shown)} axes left out" in key_line
        assert all(SHORT_NAMES.get(name, name) in key_line for name in plot.left_out)


def test_score_ranks_colour_by_rank_with_ties_alike() -> None:
    assert score_ranks([0.9, None, 0.1, 0.5, 0.9]) == [1.0, None, 0.0, 0.5, 1.0]
    assert score_ranks([None]) == [None] and score_ranks([0.7]) == [0.0]


def test_runs_of_one_category_spread_across_its_slot_in_the_scatter() -> None:
    from engine.runs.parallel import Axis

    axis = Axis("optimizer", "category", categories=("adam", "sgd"))
    xs = x_positions(axis, ["adam", "sgd", "adam", "adam", "rmsprop"])
    assert xs[4] is None  # not a category of the axis: no place
    adam = [xs[0], xs[2], xs[3]]
    assert all(0.0 < x < 0.5 for x in adam) and len(set(adam)) == 3  # apart, in its half
    assert xs[1] == 0.75  # alone: the middle of its slot


async def test_the_footer_shows_the_run_keys_only_when_there_are_runs(tmp_path) -> None:
    app = RunsApp(RunStore(tmp_path / "empty"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await runs_read(pilot)
        await pilot.pause()
        keys = {k.description for k in screen.query(FooterKey)}
        assert "Filter" in keys and not {"Delete", "Export", "Open", "Sweep around"} & keys
    write_synthetic_runs(tmp_path / "full")
    app = RunsApp(RunStore(tmp_path / "full"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot)
        await pilot.pause()
        keys = {k.description for k in screen.query(FooterKey)}
        assert {"Delete", "Export", "Open"} <= keys


def _refused(settings):  # noqa: ANN001, ANN202
    raise SweepError("no executor in this test: the plan is what is checked")


async def test_sweep_around_a_run_prefills_the_dialog_and_enter_starts_it(
        small_dataset, store) -> None:  # noqa: ANN001
    app = create_app(SMALL, dataset=small_dataset, timing=False, runs_dir=store.root)
    async with app.run_test(size=(120, 40)) as pilot:
        app.controller.sweeps.executor_for = _refused
        await pilot.press("f2")
        screen = await opened(pilot)
        name = "run-11-sgd"  # learning_rate 0.003, hidden 64
        screen.table.move_cursor(row=shown_names(screen).index(name))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepDialog), "the dialog")
        dialog = app.screen
        assert dialog.query_one(".dialog").border_title.startswith(f"Sweep around {name}")
        assert dialog.query_one("#vary-0", Input).value == "hidden_sizes: 32 64 128"
        assert dialog.query_one("#sample", Input).value == "learning_rate=log:0.001:0.009"
        assert dialog.query_one("#workers", Input).value == "auto"
        assert dialog.query_one("#ok", Button).has_focus  # ready: Enter starts it
        planned = dialog.trials
        assert len(planned) == 9 and {t.config.hidden_sizes for t in planned} == {
            (32,), (64,), (128,)}
        assert all(0.001 <= t.config.learning_rate <= 0.009 for t in planned)
        assert all(t.config.replace(hidden_sizes=(64,), learning_rate=0.003) ==
                   CONFIGS[name] for t in planned)  # every other field as the run had it
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.controller.sweeps.view is not None
                       and app.controller.sweeps.sweep is None, "the sweep to start and end")
        view = app.controller.sweeps.view
        assert list(view.settings.planned) == planned and view.settings.base == CONFIGS[name]
        assert app.sweep_executor == ExecutorChoice("auto", "")


async def test_sweep_around_a_brushed_region_and_the_executor_last_chosen(
        small_dataset, store) -> None:  # noqa: ANN001
    app = create_app(SMALL, dataset=small_dataset, timing=False, runs_dir=store.root)
    async with app.run_test(size=(120, 40)) as pilot:
        app.controller.sweeps.executor_for = _refused
        app.sweep_executor = ExecutorChoice("1", "")  # as a sweep before this one left it
        await pilot.press("f2")
        screen = await opened(pilot)
        await pilot.press("p", "right", "right", "down", "down", "shift+up", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepDialog), "the dialog")
        dialog = app.screen
        lr = screen.parallel_plot.axes[2]
        brush = screen.parallel_plot.brushes["learning_rate"]
        sample = dialog.query_one("#sample", Input).value
        assert sample.startswith("learning_rate=log:")
        low, high = map(float, sample.split(":")[1:])
        assert low == pytest.approx(float(lr.value_at(brush.low)), rel=1e-2)
        assert high == pytest.approx(float(lr.value_at(brush.high)), rel=1e-2)
        assert 1e-4 < low < high < 0.1
        assert dialog.query_one("#workers", Input).value == "1"  # where the last one trained


async def test_the_view_is_kept_when_the_screen_opens_again(store) -> None:
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await parallel_view(pilot)
        await pilot.press("right", "down", "escape", "escape")
        await wait_for(pilot, lambda: app.results, "the screen to close")
        app.push_screen(RunsScreen(store, timing=False))
        screen = await opened(pilot)
        assert screen.parallel and screen.parallel_plot.display
        assert set(shown_names(screen)) == names_where(lambda c: c.optimizer == "adam")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_parallel_view_snapshot(snap_compare, tmp_path, size) -> None:  # noqa: ANN001
    """Sixteen runs in parallel coordinates: the learning rate brushed, one run highlighted,
    the importance beside."""
    store = write_synthetic_runs(tmp_path / "runs")

    async def brushed(pilot: Pilot) -> None:
        screen = await parallel_view(pilot)
        await pilot.press("right", "right", "down", "shift+up")
        await wait_for(pilot, lambda: screen.importance is not None, "the importance")
        await pilot.pause()

    assert snap_compare(RunsApp(store), terminal_size=size, run_before=brushed)


async def test_tab_goes_down_the_screen_and_the_focused_panel_stands_out(store) -> None:
    """Tab walks filter → table → plot (top to bottom) and round again; whichever panel has
    the focus is marked: the filter's line, the table's header row, or the plot's title."""
    app = RunsApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await parallel_view(pilot)
        table, plot, view = screen.table, screen.parallel_plot, screen.query_one("#runs-view")

        def marks() -> tuple[object, object, object]:
            header = table.get_component_rich_style("datatable--header").bgcolor
            return (screen.filter_input.styles.background, header, view.styles.border_top)

        on_plot = marks()
        assert view.border_title and "Tab" in str(view.border_subtitle or view.border_title)
        order = []
        for _ in range(3):
            await pilot.press("tab")
            order.append(app.focused)
            if app.focused is table:
                on_table = marks()
            elif app.focused is screen.filter_input:
                on_filter = marks()
        assert order == [screen.filter_input, table, plot]
        # each panel's mark changes as the focus comes and goes
        assert on_filter[0] != on_table[0]
        assert on_table[1] != on_plot[1] and on_table[1] != on_filter[1]
        assert on_plot[2] != on_table[2] and on_plot[2] != on_filter[2]
        # a burst straight after p: the plot has the arrows, Tab Tab Tab comes back to it
        await pilot.press("tab", "tab", "tab", "right", "down")
        assert app.focused is plot and plot.brushes
        await pilot.press("shift+tab")
        assert app.focused is table
