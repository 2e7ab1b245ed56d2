"""Render a :class:`~migrator.rebase.Rebase`: which branch stays and why, every rename and
edit, a diff of each edit for ``--dry-run``, and the verified result."""

from __future__ import annotations

import difflib
import shlex
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
from migrator.regenerate import Preview, Regenerate
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


def new_file_diff(path: Path, source: str, base: Path) -> str:
    """A new file as a unified diff from ``/dev/null``."""
    return "".join(
        difflib.unified_diff(
            [],
            source.splitlines(keepends=True),
            "/dev/null",
            terminal(f"b/{display_path(str(path), base)}"),
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
            if regenerate.marker is not None:
                marker = display_path(str(regenerate.marker), base)
                lines.append(f"  then   {marker}: names the new leaf")
            continue
        source = getattr(change, "source", None)
        renamed = f"{display_path(str(source), base)} -> " if source is not None else ""
        lines.append(f"  {change.verb:<6} {renamed}{display_path(str(change.path), base)}")
    return "".join(line + "\n" for line in lines)


def regenerate_dry_run_text(
    regenerate: Regenerate, base: Path, generated: list[Preview] | None = None
) -> str:
    """A diff of each edit, then the migration makemigrations wrote on a throwaway copy
    of the project with these changes (``generated``; ``None``: no copy could show it)
    and the marker file naming it; nothing was written."""
    diffs = [_diff(edit, base) for edit in regenerate.edits]
    folders = {c.path for c in regenerate.plan.changes if c.verb == "generate"}
    mine = [g for g in generated or [] if g.folder in folders]
    for made in mine:
        if made.path is not None and made.source is not None:
            diffs.append(new_file_diff(made.path, made.source, base))
    marker = regenerate.marker
    if marker is not None and generated is not None:
        leaf = next((g.path.stem for g in mine if g.path is not None), regenerate.last_kept)
        old = marker.read_text("utf-8", "replace") if marker.is_file() else ""
        if old.strip() != leaf:
            diffs.append(_diff(FileEdit(marker, marker, old, leaf + "\n"), base))
    text = "".join(terminal_block(d if d.endswith("\n") else d + "\n") for d in diffs)
    if generated is None:
        return text + (
            f"Dry run: nothing written (makemigrations {regenerate.app} runs only once the "
            "changes above are on disk).\n"
        )
    found = "what it wrote" if any(g.path for g in mine) else "it found nothing to write"
    return text + (
        f"Dry run: nothing written (makemigrations {regenerate.app} ran on a throwaway copy "
        f"of the project with the changes above: {found}; the real run generates it "
        "again, then verifies).\n"
    )


def regenerated_text(
    regenerate: Regenerate, written: list[Path], stage: list[Path], base: Path
) -> str:
    """What makemigrations wrote, what the fresh processes verified, the marker file
    (when the app has one), and the follow-up: tell git, then migrate."""
    made = generated_file(regenerate, written)
    leaf = made.stem if made else regenerate.last_kept
    wrote = f"makemigrations wrote {leaf}" if made else "makemigrations found nothing to write"
    lines = [
        f"{wrote}. Verified in fresh processes: {regenerate.app!r} has one leaf ({leaf}), "
        "`makemigrations --check` is clean, and `migrate` runs on test databases from empty "
        f"and from {regenerate.keep}."
    ]
    if regenerate.marker is not None and regenerate.marker in written:
        lines.append(f"{display_path(str(regenerate.marker), base)} names {leaf}.")
    lines.append(next_text(stage, base))
    return "".join(line + "\n" for line in lines)


def generated_file(regenerate: Regenerate, written: list[Path]) -> Path | None:
    """The migration makemigrations wrote (``None``: it found nothing to write)."""
    planned = {change.path for change in regenerate.plan.changes}
    folders = {c.path for c in regenerate.plan.changes if c.verb == "generate"}
    made = [p for p in written if p not in planned and p.suffix == ".py" and p.parent in folders]
    return made[0] if made else None


def git_add_text(stage: list[Path], base: Path) -> str:
    """``git add -A PATHS``, each path relative to ``base`` and quoted for the shell."""
    return "git add -A -- " + " ".join(
        shlex.quote(display_path(str(path), base) or str(path)) for path in stage
    )


def next_text(stage: list[Path], base: Path) -> str:
    """The follow-up of a regenerating write. git is left alone (removing a tracked file
    from its index is the user's call, never done silently): inside git, the command
    that records the removals and the new file comes first."""
    migrate = "`python manage.py migrate` to apply what is new"
    if not stage:
        return f"Next: run {migrate}."
    return (
        f"Next: git was left alone; record the removed and written files with "
        f"`{git_add_text(stage, base)}`, then run {migrate}."
    )
