"""The config fields two runs differ in, side by side, the hyperparameters each changed while
it trained, and their results."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from engine.config import FIELDS, format_field
from engine.runs import ConfigDiff, RunInfo
from nnfs_tui.widgets.runs_table import cells


def _value(name: str, value: object) -> str:
    if value is None:
        return "-"
    if name in FIELDS:
        try:
            return format_field(name, value) or "-"
        except (TypeError, ValueError):
            pass
    return str(value)


class ConfigDiffDialog(ModalScreen[None]):
    """A table: field | left run's value | right run's value, for the differing fields only;
    then, when either run was changed by hand while training, one line per run with those
    changes; then each run's best validation and test accuracy. Esc, q, d or Enter closes
    it."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")  # absolute: subclasses elsewhere work
    DEFAULT_CSS = """
    ConfigDiffDialog #diff-live { padding-top: 1; }
    """
    BINDINGS = [Binding("escape,q,d,enter", "close", "Close")]

    def __init__(self, diff: ConfigDiff, left: RunInfo | None = None,
                 right: RunInfo | None = None) -> None:
        super().__init__()
        self.diff: ConfigDiff = diff
        """The fields and live changes that differ (engine.runs.diff_configs)."""
        self.left: RunInfo | None = left
        """The first run (for its results line)."""
        self.right: RunInfo | None = right
        """The second run."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide") as box:
            box.border_title = "Config diff"
            box.border_subtitle = "Esc closes"
            if self.diff.identical:
                yield Static("The two configs are identical" + (
                    ", and so are the changes made while training" if self.diff.left_live
                    else "") + ": same seed, same result (any difference is the machine's).",
                    id="diff-same", markup=False)
            else:
                yield Static(self.diff.summary() + ":", id="diff-summary", classes="hint",
                             markup=False)
            if self.diff.changes:
                table: DataTable = DataTable(id="diff-table", cursor_type="row",
                                             zebra_stripes=True)
                yield table
            if self.diff.left_live or self.diff.right_live:
                yield Static(self._live(), id="diff-live", markup=False)
            yield Static(self._results(), id="diff-results", markup=False)

    def _live(self) -> Text:
        """One line per run: what was changed by hand while it trained, and when."""
        same = not self.diff.live_changes_differ
        text = Text("Changed while training" + (" (the same in both runs)" if same else "")
                    + ":\n", style="bold")
        for name, live in ((self.diff.left, self.diff.left_live),
                           (self.diff.right, self.diff.right_live)):
            text.append(f"{name}: ", style="bold")
            text.append("; ".join(change.describe() for change in live) if live
                        else "nothing", style="" if live else "dim")
            text.append("\n")
        text.rstrip()
        return text

    @property
    def live_lines(self) -> list[str]:
        """The live-change lines as shown (one per run), [] when neither run had any."""
        if not self.query("#diff-live"):
            return []
        return str(self.query_one("#diff-live", Static).render()).splitlines()[1:]

    @property
    def summary(self) -> str:
        """The line above the table."""
        node = self.query("#diff-summary") or self.query("#diff-same")
        return str(node.first(Static).render())

    def on_mount(self) -> None:
        if not self.diff.changes:
            return
        table = self.query_one("#diff-table", DataTable)
        table.add_column("field", key="field")
        table.add_column(Text(self.diff.left, style="bold"), key="left")
        table.add_column(Text(self.diff.right, style="bold"), key="right")
        for name, (a, b) in self.diff.changes.items():
            table.add_row(name, _value(name, a), _value(name, b), key=name)
        table.focus()

    def _results(self) -> Text:
        text = Text()
        for run in (self.left, self.right):
            if run is None:
                continue
            row = cells(run, timing=False)
            text.append(f"{run.name}: ", style="bold")
            text.append(f"best val {row['best_val_acc'].plain} · test {row['test_acc'].plain} "
                        f"· {row['epochs'].plain} epochs · ")
            text.append_text(row["status"])
            text.append("\n")
        text.rstrip()
        return text

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        """(field, left, right) as shown."""
        if not self.diff.changes:
            return []
        table = self.query_one("#diff-table", DataTable)
        return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]

    def action_close(self) -> None:
        self.dismiss(None)
