"""How file paths are shown: relative to the folder the user ran migrator in."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: str | None, base: Path) -> str | None:
    """``path`` relative to ``base`` when it is inside it, as written or once links are
    resolved (a symlinked ``migrations/`` folder of the project points elsewhere, its
    files are still the project's); else as it is."""
    if path is None:
        return None
    absolute, root = os.path.abspath(path), os.path.abspath(base)
    if absolute == root:
        return "."
    inside = os.path.join(root, "")  # with its separator: /a/bc is not inside /a/b
    if absolute.startswith(inside):  # inside as written: the common case, no file system
        return absolute[len(inside) :].replace(os.sep, "/")
    try:
        resolved, resolved_root = Path(path).resolve(), base.resolve()
    except (OSError, RuntimeError):  # a link loop
        return path
    if resolved.is_relative_to(resolved_root):
        return resolved.relative_to(resolved_root).as_posix()
    return path
