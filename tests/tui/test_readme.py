"""The README's keymap is the app's: every row of KEYMAP appears in it as a table row."""

from __future__ import annotations

from pathlib import Path

from nnfs_tui.keymap import KEYMAP

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_key_the_app_binds() -> None:
    text = README.read_text(encoding="utf-8")
    for section, rows in KEYMAP:
        assert f"**{section}**" in text, section
        for keys, what in rows:
            assert f"| {keys} | {what} |" in text, f"README lacks the row for {keys}"
