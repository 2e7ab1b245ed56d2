"""Reading migration files as text: where things are, without importing anything."""

from __future__ import annotations

import re
from pathlib import Path

# Git writes "<<<<<<< ours", "=======", ">>>>>>> theirs" (and "||||||| base" with diff3)
# at the start of a line.
_CONFLICT_MARKER = re.compile(r"^(<{7}|>{7}|\|{7})( |$)|^={7}$", re.MULTILINE)
_MIGRATION_CLASS = re.compile(r"^class\s+Migration\b", re.MULTILINE)


def read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def conflict_marker_line(path: str | Path) -> int | None:
    """The line of the first git conflict marker in a file, or ``None``."""
    text = read_text(path)
    match = _CONFLICT_MARKER.search(text)
    return _line_of(text, match.start()) if match else None


def migration_class_line(path: str | Path | None) -> int | None:
    """The line of ``class Migration`` in a migration file, or ``None``."""
    if path is None:
        return None
    text = read_text(path)
    match = _MIGRATION_CLASS.search(text)
    return _line_of(text, match.start()) if match else None


def reference_line(path: str | Path | None, name: str) -> int | None:
    """The first line that quotes ``name`` (a migration name in a dependency tuple)."""
    if path is None:
        return None
    text = read_text(path)
    match = re.search(r"""(['"])""" + re.escape(name) + r"\1", text)
    if match:
        return _line_of(text, match.start())
    return migration_class_line(path)


def attribute_line(path: str | Path | None, attribute: str) -> int | None:
    """The line of the last ``attribute = ...`` in a class body (the one Python keeps),
    else the line of ``class Migration``."""
    if path is None:
        return None
    text = read_text(path)
    found = list(re.finditer(rf"^[ \t]+{re.escape(attribute)}\s*[:=]", text, re.MULTILINE))
    if found:
        return _line_of(text, found[-1].start())
    return migration_class_line(path)
