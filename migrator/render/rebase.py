"""Render a :class:`~migrator.rebase.Rebase`: which branch stays and why, every rename and
edit, a diff of each edit for ``--dry-run``, and the verified result."""

from __future__ import annotations

import difflib
from pathlib import Path

from migrator.graph import key_str
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
from migrator.regenerate import Regenerate
from migrator.render.escape import terminal, terminal_block
from migrator.render.paths import display_path


def nothing_to_rebase(app: str) -> str:
    return f"{terminal(app)}: nothing to rebase: one leaf.\n"


def database_note(rebase: Rebase) -> str:
    """Why applied state was not checked (the rebase goes on); "" when it was."""
    if rebase.unchecked == UNCHECKED_STATIC:
        return (
            "note: --static reads no database: not checked whether a database has "
            "applied the migrations that move\n"
        )
    return "".join(
        f"note: database {d.alias!r} cannot be read ({terminal(d.error)}): not checked "
        "whether it has applied the migrations that move\n"
        for d in rebase.databases
        if not d.readable
    )


def _why(rebase: Rebase | Regenerate) -> str:
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
    for database in rebase.row_renames:
        for old, new in database.renames:
            lines.append(f"  row    database {database.alias!r}: {key_str(old)} -> {key_str(new)}")
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
    text = (
        f"Verified in a fresh process: {rebase.app!r} has one leaf ({leaf}) and "
        f"{rebase.migration_count} migrations.\n"
    )
    for database in rebase.row_renames:
        count = len(database.renames)
        text += (
            f"Database {database.alias!r}: renamed {count} applied row{'s' if count != 1 else ''}"
            "; a fresh process sees them applied under their new names, no row left "
            "without a file.\n"
        )
    return text


# -- rebase --regenerate --------------------------------------------------------------------


def regenerate_plan_text(regenerate: Regenerate, base: Path) -> str:
    """The branch kept, the migrations removed and kept, each change, then the
    makemigrations run."""
    why = _why(regenerate)
    removed = ", ".join(name for _, name in regenerate.removed)
    lines = [
        f"{regenerate.app}: keeping {regenerate.keep} ({why}); regenerating "
        + ", ".join(regenerate.moving_leaves)
    ]
    lines.append(f"  remove (makemigrations wrote them): {removed}")
    if regenerate.kept:
        lines.append(
            "  keep (hand-written), rebased: "
            + ", ".join(f"{old[1]} -> {new[1]}" for old, new in regenerate.kept.items())
        )
    for change in regenerate.plan.changes:
        if change.verb == "generate":  # makemigrations, once the rest is on disk
            lines.append(
                f"  then   makemigrations {regenerate.app}: writes what the merged models "
                f"still need after {regenerate.last_kept}"
            )
            continue
        source = getattr(change, "source", None)
        renamed = f"{display_path(str(source), base)} -> " if source is not None else ""
        lines.append(f"  {change.verb:<6} {renamed}{display_path(str(change.path), base)}")
    return "".join(line + "\n" for line in lines)


def regenerate_dry_run_text(regenerate: Regenerate, base: Path) -> str:
    diffs = [_diff(edit, base) for edit in regenerate.edits]
    return (
        "".join(d if d.endswith("\n") else d + "\n" for d in diffs)
        + f"Dry run: nothing written (makemigrations {regenerate.app} runs only once the "
        "changes above are on disk).\n"
    )


def regenerated_text(regenerate: Regenerate, written: list[Path]) -> str:
    planned = {change.path for change in regenerate.plan.changes}
    last = written[-1] if written else None
    made = last.stem if last is not None and last not in planned else None
    leaf = made or regenerate.last_kept
    wrote = f"makemigrations wrote {made}" if made else "makemigrations found nothing to write"
    return (
        f"{wrote}. Verified in fresh processes: {regenerate.app!r} has one leaf ({leaf}), "
        "`makemigrations --check` is clean, and `migrate` runs on test databases from empty "
        f"and from {regenerate.keep}.\n"
    )
