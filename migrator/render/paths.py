"""How file paths are shown: relative to the folder the user ran migrator in."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: str | None, base: Path) -> str | None:
    """``path`` relative to ``base`` when it is inside it, else as it is."""
    if path is None:
        return None
    try:
        return Path(os.path.relpath(path, base)).as_posix() if _inside(path, base) else path
    except ValueError:
        return path


def _inside(path: str, base: Path) -> bool:
    """Inside as written (a symlinked ``migrations/`` folder of the project points
    elsewhere, its files are still the project's), or once links are resolved."""
    if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(base)):
        return True
    try:
        return Path(path).resolve().is_relative_to(base.resolve())
    except OSError:
        return False
