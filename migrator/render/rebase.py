"""Render a :class:`~migrator.rebase.Rebase`: which branch stays and why, every rename and
edit, a diff of each edit for ``--dry-run``, and the verified result."""

from __future__ import annotations

import difflib
from pathlib import Path

from migrator.rebase import (
    KEPT_NAMED,
    KEPT_NOT_MOVED,
    KEPT_ON_FIRST_PARENT,
    KEPT_ON_HEAD,
    KEPT_ON_REF,
    UNCHECKED_STATIC,
    FileEdit,
    Rebase,
)
from migrator.render.escape import terminal, terminal_block
from migrator.render.paths import display_path


def nothing_to_rebase(app: str) -> str:
    return f"{terminal(app)}: nothing to rebase: one leaf.\n"


def database_note(rebase: Rebase, alias: str) -> str:
    """Why applied state was not checked (the rebase goes on); "" when it was."""
    if rebase.unchecked is None:
        return ""
    if rebase.unchecked == UNCHECKED_STATIC:
        return (
            f"note: --static reads no database: not checked whether {alias!r} has "
            "applied the migrations that move\n"
        )
    return (
        f"note: database {alias!r} cannot be read ({terminal(rebase.database_error)}): not checked "
        "whether it has applied the migrations that move\n"
    )


def _why(rebase: Rebase) -> str:
    return {
        KEPT_NAMED: "named with --keep",
        KEPT_NOT_MOVED: "the leaf not moved",
        KEPT_ON_REF: f"on {rebase.onto}",
        KEPT_ON_HEAD: "on the mainline (HEAD)",
        KEPT_ON_FIRST_PARENT: "on the mainline (HEAD^1)",
    }[rebase.why]


def plan_text(rebase: Rebase, base: Path) -> str:
    """The branch kept and the ones moved, then each planned change."""
    lines = [
        f"{rebase.app}: keeping {rebase.keep} ({_why(rebase)}); moving "
        + ", ".join(rebase.moving_leaves)
    ]
    for verb, source, path in rebase.changes:
        renamed = f"{display_path(str(source), base)} -> " if source is not None else ""
        lines.append(f"  {verb:<6} {renamed}{display_path(str(path), base)}")
    return "".join(terminal(line) + "\n" for line in lines)


def _diff(edit: FileEdit, base: Path) -> str:
    return "".join(
        difflib.unified_diff(
            edit.old.splitlines(keepends=True),
            edit.new.splitlines(keepends=True),
            fromfile=terminal(f"a/{display_path(str(edit.old_path), base)}"),
            tofile=terminal(f"b/{display_path(str(edit.new_path), base)}"),
        )
    )


def dry_run_text(rebase: Rebase, base: Path) -> str:
    """A unified diff of each edit; nothing was written."""
    diffs = [terminal_block(_diff(edit, base)) for edit in rebase.edits]
    return (
        "".join(d if d.endswith("\n") else d + "\n" for d in diffs) + "Dry run: nothing written.\n"
    )


def verified_text(rebase: Rebase) -> str:
    leaf = terminal(rebase.new_leaf)
    return (
        f"Verified in a fresh process: {rebase.app!r} has one leaf ({leaf}) and "
        f"{rebase.migration_count} migrations.\n"
    )
