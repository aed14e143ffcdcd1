"""Hostile files through the app (Pilot): a bad run folder or checkpoint is shown as such,
and the app keeps running, listing the rest and keeping the model it had."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList

from nnfs_tui.app import create_app
from nnfs_tui.dialogs import LoadCheckpointDialog
from nnfs_tui.screens.runs import RunsScreen
from tests.engine.test_hostile import CHECKPOINT_CASES, STORE_CASES, make_run
from tests.tui.helpers import SMALL, wait_for

#: One hostile run folder of each kind the Runs screen and Ctrl+O must survive together.
BAD_RUNS = ("run.json is a FIFO", "metrics.csv is /dev/zero", "run.json deep",
            "run.json 400-digit pid", "metrics.csv binary", "run folder links out of the store",
            "config.json is /dev/urandom", "run.json accuracy 1e308")


def hostile_store(tmp_path: Path, ckpt: bytes) -> Path:
    """A runs directory: one good run with a good checkpoint, one run per BAD_RUNS case, and
    a run whose best.npz is hostile."""
    root, outside = tmp_path / "runs", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.json").write_text("{}")
    good = make_run(root, "good")
    (good / "best.npz").write_bytes(ckpt)
    for i, case in enumerate(BAD_RUNS):
        STORE_CASES[case](make_run(root, f"bad-{i}"), outside)
    evil = make_run(root, "evil-checkpoint")
    (evil / "best.npz").write_bytes(CHECKPOINT_CASES["meta deeper than the parser"][0](ckpt))
    return root


async def test_hostile_run_folders_and_checkpoints_never_stop_the_app(small_dataset, tmp_path,
                                                                      ckpt_bytes) -> None:
    root = hostile_store(tmp_path, ckpt_bytes)
    app = create_app(SMALL, dataset=small_dataset, timing=False, runs_dir=root)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen)
                       and app.screen.loaded, "the runs to be read")
        screen = app.screen
        runs = {run.name: run for run in screen.runs}
        assert runs["good"].status == "completed"
        assert len(runs) == 2 + len(BAD_RUNS)
        for i, case in enumerate(BAD_RUNS):  # each listed; highlighting reads its metrics
            run = runs[f"bad-{i}"]
            assert run.status in ("unreadable", "incomplete", "interrupted", "completed"), case
            assert run.status in ("interrupted", "completed") or run.problem
            shown = [r.name for r in screen.table.shown]
            screen.table.move_cursor(row=shown.index(run.name))
            await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunsScreen), "F2 to close")

        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, LoadCheckpointDialog), "Ctrl+O")
        dialog = app.screen
        recent = dialog.query_one(OptionList)
        texts = [str(recent.get_option_at_index(i).prompt) for i in range(recent.option_count)]
        assert any("good/best.npz" in t and "epoch 1" in t for t in texts)
        assert any("evil-checkpoint/best.npz" in t and "unreadable" in t for t in texts)
        for case in ("meta deeper than the parser", "slot missing", "param declared 3 GB"):
            bad = tmp_path / "typed.npz"
            bad.write_bytes(CHECKPOINT_CASES[case][0](ckpt_bytes))
            dialog.query_one(Input).value = str(bad)
            await pilot.press("enter")
            assert dialog.error.startswith(str(bad)) and "\n" not in dialog.error
            assert app.screen is dialog  # refused inline; nothing replaced the model
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LoadCheckpointDialog), "Esc")
        assert app.controller.loaded is None
