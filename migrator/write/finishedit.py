"""The source edits of ``squash --finish``: repoint the keys a migration names in its
``dependencies`` and ``run_before`` (and nowhere else: another squash's ``replaces``
keeps naming what it replaced), and remove a squashed migration's ``replaces``.

Like :mod:`migrator.write.sourceedit`, only the characters that must change change:
comments, quoting, line endings and the encoding stay as they are.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from migrator.graph import Key
from migrator.write.sourceedit import line_offsets, rewrite_keys, source_lines

#: The class attributes whose keys name migrations that must run first (or after).
NAMING = ("dependencies", "run_before")


def _char(lines: list[str], starts: list[int], line: int, column: int) -> int:
    """The character offset of ``ast``'s (line, UTF-8 byte column)."""
    text = lines[line - 1].encode("utf-8")[:column].decode("utf-8", "replace")
    return starts[line - 1] + len(text)


def _assignments(source: str) -> dict[str, ast.stmt]:
    """The ``Migration`` class's assignments (the last of each name, as Python binds)."""
    found: dict[str, ast.stmt] = {}
    tree = ast.parse(source)
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == "Migration"):
            continue
        for statement in node.body:
            targets = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets = [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = statement
    return found


def _spans(source: str, names: tuple[str, ...]) -> list[tuple[int, int]]:
    lines, starts = source_lines(source), line_offsets(source)
    spans = []
    for name, statement in _assignments(source).items():
        if name in names and statement.end_lineno is not None:
            begin = _char(lines, starts, statement.lineno, statement.col_offset)
            end = _char(lines, starts, statement.end_lineno, statement.end_col_offset or 0)
            spans.append((begin, end))
    return spans


def repoint(source: str, mapping: Mapping[Key, Key]) -> tuple[str, set[Key]]:
    """``source`` with each key of ``mapping`` written in ``dependencies`` or
    ``run_before`` replaced by its new key (same app), and the keys it replaced."""
    return rewrite_keys(source, mapping, _spans(source, NAMING))


def drop_replaces(source: str) -> str | None:
    """``source`` without the ``Migration`` class's ``replaces = [...]`` (its lines, and
    the blank line after it when one is left before it too), or ``None`` when it has no
    such statement on lines of its own."""
    statement = _assignments(source).get("replaces")
    if statement is None or statement.end_lineno is None:
        return None
    lines = source_lines(source)
    first, last = statement.lineno - 1, statement.end_lineno  # lines[first:last]
    lead = lines[first].encode("utf-8")[: statement.col_offset].decode("utf-8", "replace")
    tail = lines[last - 1].encode("utf-8")[statement.end_col_offset or 0 :].decode("utf-8")
    if lead.strip() or (tail.strip() and not tail.strip().startswith("#")):
        return None  # shares a line with another statement: not ours to cut
    blank_before = first == 0 or not lines[first - 1].strip()
    if blank_before and last < len(lines) and not lines[last].strip():
        last += 1
    return "".join(lines[:first] + lines[last:])
