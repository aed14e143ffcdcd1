"""The import contracts in pyproject.toml ([tool.importlinter]) hold, checked by import-linter.

The engine stays headless, the app never reaches into the CLI, widgets know nothing of the
screens that use them, and ``pixels`` is the primitive the picture widgets build on. A broken
contract fails with import-linter's own report: which module imports which, and on what line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Runs the contracts of ./pyproject.toml on the packages in the current directory.
_LINT = ("import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the tree at ``root``, with that tree (not an installed copy) first
    on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", _LINT], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " KEPT" in result.stdout and " BROKEN" not in result.stdout


def test_an_engine_module_importing_textual_breaks_a_contract(tmp_path):
    """The check can fail: a copy of the tree whose engine imports textual is refused, by
    contract name and import line."""
    ignore = shutil.ignore_patterns("__pycache__", "*.gz", "*.tcss")
    for package in ("engine", "nnfs_tui"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    events = tmp_path / "engine" / "events.py"
    events.write_text(events.read_text(encoding="utf-8") + "\nimport textual  # noqa\n",
                      encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "engine is headless: no app, no UI libraries BROKEN" in result.stdout
    assert "engine.events -> textual" in result.stdout
