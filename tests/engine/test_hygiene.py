"""The engine is headless: importing all of it loads no UI library."""

from __future__ import annotations

import subprocess
import sys


def test_engine_never_imports_textual_rich_or_plotext():
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('textual', 'rich', 'plotext', 'textual_plotext', 'nnfs_tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_the_licence_is_an_spdx_string_not_the_deprecated_table():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
