"""Every key of the app in one table: the help screen, ``nnfs-tui --help`` and the README.

A test checks that each binding of the app, its screens and widgets appears here.
"""

from __future__ import annotations

import re
import textwrap

from engine.config import FLAG_TO_FIELD

#: (section, ((keys, what they do), ...)) in the order a newcomer needs them.
KEYMAP: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Run (work everywhere, even while typing)", (
        ("F1", "help: every key and hyperparameter (Esc, or F1 again, goes back)"),
        ("F5", "start a run with the form's values"),
        ("F6", "pause / resume the run"),
        ("F7", "stop the run (at the next batch)"),
        ("F8", "start over: stop the run and start a fresh one"),
        ("F3", "next view: loss, accuracy, digits, log (below 110x34)"),
        ("F2", "runs: every recorded run, to compare, rerun, load or delete"),
        ("F4", "inspect the model: confusion matrix, weights, layer health"),
        ("F9", "draw a digit and watch the model's guesses"),
        ("Ctrl+T, Esc", "back to the train screen (screens switch, they do not stack: "
                        "F1, F2, F4 and F9 replace each other, their key again goes back)"),
        ("Ctrl+S", "save the model now (mid-run too)"),
        ("Ctrl+O", "load a checkpoint to inspect it or continue training it"),
        ("F12", "sweep: grid, random or TPE search over the form's values on every core or "
                "a Dask cluster; while it runs, F12 shows its view (F7 stops it)"),
        ("F10, Ctrl+Q", "quit: stops the run at the next batch and saves it first"),
        ("Ctrl+Z", "suspend to the shell (`fg` comes back; not on the Draw screen)"),
        ("Ctrl+P", "command palette: every action by name"),
    )),
    ("Form", (
        ("Tab, Shift+Tab", "next / previous field (a text field entered, or focused again "
         "when a dialog closes, has its value selected: typing replaces it)"),
        ("Enter", "live field during a run: apply the value now"),
        ("Ctrl+L", "learning-rate finder: a range test on a copy of the form's model (a few "
                   "seconds), its curve on a log axis; Enter puts the suggestion into "
                   "learning_rate, Esc closes"),
        ("Enter, Space", "open a choice list"),
        ("Esc", "leave the form (to the digit viewer)"),
    )),
    ("Learning-rate finder (Ctrl+L in the form)", (
        ("Enter", "put the suggested rate into learning_rate and close (during a run, Enter "
                  "in that field then applies it live)"),
        ("Esc", "close; a test still running stops at its next batch"),
    )),
    ("Sweep dialog (F12 while no sweep runs; w in Runs)", (
        ("Enter", "next grid line or field (the last grid line, filled in, gets a new one "
                  "below it), then Start sweep; Enter on Start sweep starts it"),
        ("Tab, Shift+Tab", "next / previous field or button"),
        ("Esc", "cancel: nothing starts"),
    )),
    ("Sweep view (F12 while a sweep runs)", (
        ("↑, ↓, PageUp, PageDown", "move through the trials: varied values, status, score"),
        ("F7", "stop the sweep (its ended trials stay recorded; F2 ranks them)"),
        ("Esc, q", "back to the train screen (the sweep goes on; F12 shows it again)"),
    )),
    ("Outside a text field", (
        ("Space", "pause / resume"),
        ("s", "start a run"),
        ("i", "inspect the model (as F4)"),
        ("d", "draw a digit (as F9)"),
        ("v", "next view (below 110x34)"),
        ("?", "help"),
        ("q", "quit"),
    )),
    ("Digit viewer (focus it with Esc or a click)", (
        ("n, →, j", "next test digit"),
        ("p, ←, k", "previous test digit"),
        ("r", "random test digit"),
        ("m", "only the digits the model gets wrong (toggle)"),
        ("Home, End", "first / last test digit (with m on: first / last mistake)"),
    )),
    ("Runs (F2)", (
        ("↑, ↓, PageUp, PageDown, Home, End", "move through the runs"),
        ("←, →", "scroll the columns when they are wider than the screen (a narrow one leaves "
                 "out the least used columns and shows their values on the line below)"),
        ("Space, Enter", "select / unselect a run: its curves join the plots (up to 8)"),
        ("c", "unselect all"),
        ("/", "filter: every word must match a column as shown (not the time stamp in the name); "
              "`lr>=1e-3`, `batch=64`, `test>97`, `status=diverged` compare one column "
              "(Enter or ↓ back to the table)"),
        ("s", "sort: pick the column from a list (the current one again reverses; or click a "
              "header)"),
        ("S", "reverse the sort"),
        ("m", "plots show test, validation or train curves"),
        ("d", "config diff of the two selected runs"),
        ("r", "rerun the run: same config, same seed, same result"),
        ("l", "load the run's config into the form"),
        ("o", "open the run's model (inspect it or continue training it)"),
        ("x, Delete", "delete the run (asks first)"),
        ("e", "export the filtered, sorted table to CSV"),
        ("Ctrl+R", "read the runs directory again"),
        ("p", "parallel coordinates of the filtered runs instead of the curves, with the "
              "importance of each field beside them (p again: the curves)"),
        ("v", "in that view: the score against the picked axis's field (v again: back)"),
        ("w", "sweep around this: the sweep dialog filled with ranges around the run (or the "
              "brushed ranges); Enter starts it where the last sweep trained"),
        ("Tab", "top to bottom: filter, table, plot (the focused one is marked: the filter "
                "line, the table's header row, the plot's title line)"),
        ("Esc, q", "close (from the filter or the plot: back to the table)"),
    )),
    ("Parallel coordinates (p in Runs, the plot focused)", (
        ("←, →", "pick an axis (in the scatter: the field)"),
        ("↑, ↓", "move the brush's top edge: the table keeps the runs inside every brush"),
        ("Shift+↑, Shift+↓", "move the brush's bottom edge"),
        ("Backspace, Delete", "clear the picked axis's brush"),
        ("mouse", "drag along an axis to brush it; click an axis to pick it"),
    )),
    ("Inspect (F4)", (
        ("1, 2, 3", "tabs: confusion matrix, first-layer weights, layer health"),
        ("↑, ↓, ←, →", "confusion matrix: move between cells (a click selects one)"),
        ("Enter", "page through that cell's test images, most confident mistake first (the "
                  "arrows, Home and End then move through them)"),
        ("w", "jump to the cell with the most mistakes"),
        ("n, p", "next / previous image of the cell, or page of weights"),
        ("→, j, ←, k", "with the images focused: next / previous image"),
        ("Home, End", "first / last image of the cell"),
        ("Esc, Tab, Backspace", "from the images back to the matrix (Esc on the matrix "
                                "closes)"),
        ("PageDown, PageUp", "next / previous page of weights"),
        ("z", "weights: switch between full-size (1×) and half-size (½×) tiles"),
        ("r", "look again at the model as it is now (it may have trained on)"),
    )),
    ("Draw (F9)", (
        ("↑, ↓, ←, →", "move the brush a pixel"),
        ("Shift+↑, Shift+↓, Shift+←, Shift+→", "move the brush four pixels"),
        ("Space", "paint under the brush"),
        ("d", "pen down / up: moving paints"),
        ("e", "eraser down / up: moving rubs out"),
        ("x, Delete", "rub out under the brush"),
        ("c", "clear"),
        ("+, =, -", "larger / smaller brush"),
        ("u, Ctrl+Z", "undo"),
        ("t", "a random test image on the canvas (its label stays in the title until you "
              "edit it)"),
        ("mouse", "drag paints, right-drag erases"),
        ("Esc", "close"),
    )),
)


def in_app_words(doc: str) -> str:
    """A command-line tip in the app's words: ``--l_rate 4`` → ``learning_rate 4 in the
    form`` (the app takes no such flag; ``nnfs-train`` does)."""
    return re.sub(r"(--[\w-]+)\s+([^\s)]+)",
                  lambda m: f"{FLAG_TO_FIELD.get(m[1], m[1][2:])} {m[2]} in the form", doc)


def plain(what: str) -> str:
    """A description without the README's code marks (`lr>=1e-3` reads lr>=1e-3 on screen)."""
    return what.replace("`", "")


def keymap_text(width: int = 100) -> str:
    """The keymap as plain text, for --help: per section, a key column as wide as its
    longest keys, and descriptions wrapped to ``width`` under their own column."""
    lines = []
    for section, keys in KEYMAP:
        lines.append(f"{section}:")
        key_width = max(len(k) for k, _ in keys)
        indent = " " * (2 + key_width + 2)
        for k, what in keys:
            lines.extend(textwrap.wrap(plain(what), width, initial_indent=f"  {k:<{key_width}}  ",
                                       subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(lines)
