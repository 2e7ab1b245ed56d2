"""Problems found while loading or checking a migration graph.

A :class:`Problem` is data, not an exception: loading goes on after one is found so a
single run reports all of them. ``kind`` is one of the constants below; the README
lists them for users of ``--format json``.

Both loaders (Django's and ``--static``) word the problems they share the same way, with
the constructors at the end of this module.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migrator.analysis.leaves import cycles
from migrator.graph import Key, key_str
from migrator.sourcefiles import reference_line

if TYPE_CHECKING:
    import networkx as nx

MISSING_DEPENDENCY = "missing-dependency"
CIRCULAR_DEPENDENCY = "circular-dependency"
SYNTAX_ERROR = "syntax-error"
CONFLICT_MARKERS = "conflict-markers"
NO_MIGRATION_CLASS = "no-migration-class"
IMPORT_ERROR = "import-error"
INVALID_MIGRATION = "invalid-migration"  # imports, but Django cannot build its Migration
UNREADABLE = "unreadable"  # --static: a graph value it could not evaluate
# Found only with --database: the applied history in django_migrations.
INCONSISTENT_HISTORY = "inconsistent-history"
GHOST_MIGRATION = "ghost-migration"
PARTIALLY_APPLIED_SQUASH = "partially-applied-squash"
# Marker files (django-linear-migrations' max_migration.txt), for apps that use them.
MARKER_MISSING = "marker-missing"
MARKER_LINES = "marker-lines"  # not exactly one name (a git merge kept both sides)
MARKER_DANGLING = "marker-dangling"  # names a migration that does not exist
MARKER_STALE = "marker-stale"  # names a migration that is not the app's leaf
MARKER_KINDS = (MARKER_MISSING, MARKER_LINES, MARKER_DANGLING, MARKER_STALE)
# Found only with --staged: what the next commit holds.
UNSTAGED_DEPENDENCY = "unstaged-dependency"

KINDS = (
    MISSING_DEPENDENCY,
    CIRCULAR_DEPENDENCY,
    SYNTAX_ERROR,
    CONFLICT_MARKERS,
    NO_MIGRATION_CLASS,
    IMPORT_ERROR,
    INVALID_MIGRATION,
    UNREADABLE,
    INCONSISTENT_HISTORY,
    GHOST_MIGRATION,
    PARTIALLY_APPLIED_SQUASH,
    *MARKER_KINDS,
    UNSTAGED_DEPENDENCY,
)

#: One hint per kind, shown under the problem in text output.
HINTS = {
    MISSING_DEPENDENCY: "restore the missing migration or fix the dependency; after a rename, "
    "update every reference to it",
    CIRCULAR_DEPENDENCY: "remove one dependency of the cycle (often a squash created it; "
    "move the cross-app dependency to a later migration)",
    SYNTAX_ERROR: "fix the syntax error; Django cannot import this migration",
    CONFLICT_MARKERS: "resolve the git conflict in this file (keep both sides' operations "
    "in separate migrations), then run `migrator check` again",
    NO_MIGRATION_CLASS: "define `class Migration(migrations.Migration)` in this module, "
    "or move the module out of the migrations package",
    IMPORT_ERROR: "fix the import error; Django cannot load this migration",
    INVALID_MIGRATION: "fix the Migration class: Django needs lists for operations, "
    "dependencies, replaces and run_before, each key an (app_label, migration_name) pair, "
    "and an __init__ that runs",
    UNREADABLE: "--static could not read this value without running code (the message says "
    "why): build it from literals, module-level names or a function of this module, "
    "or run without --static",
    INCONSISTENT_HISTORY: "migrate refuses to run until the dependency is applied: if its "
    "changes are already in this database, record it with `manage.py migrate --fake APP NAME`; "
    "if not, roll back the migrations applied before it",
    GHOST_MIGRATION: "if the file was renamed, restore the old name (or record the new one "
    "with `manage.py migrate --fake APP NEW_NAME` and delete the old row); if it was "
    "deleted on purpose, the row can be deleted from django_migrations",
    PARTIALLY_APPLIED_SQUASH: "keep every replaced migration until each database has applied "
    "all of them: restore deleted ones from git and run migrate there; a migration that "
    "depends on a replaced one should depend on the squashed migration instead",
    **dict.fromkeys(
        MARKER_KINDS,
        "run `migrator lock APP_LABEL` to write the app's leaf migration into it (after a "
        "git merge, `migrator merge` or `migrator rebase` rewrite it as they resolve the "
        "conflict)",
    ),
    UNSTAGED_DEPENDENCY: "stage the file with `git add` (`git add -f`, and fix the ignore "
    "rule, when git ignores it; `git restore --staged` when it was deleted in the index), "
    "or drop the dependency",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing that would stop ``migrate``, located as precisely as possible."""

    kind: str
    message: str
    app: str | None = None
    migration: str | None = None
    path: str | None = None
    line: int | None = None

    @property
    def hint(self) -> str:
        return HINTS.get(self.kind, "")

    def sort_key(self) -> tuple:
        return (
            self.app or "",
            self.migration or "",
            self.path or "",
            self.line or 0,
            self.kind,
            self.message,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def missing_dependency(
    key: Key,
    path: str | Path | None,
    target: Key,
    relation: str,
    migrated_apps: Iterable[str],
    names: Iterable[str],
) -> Problem:
    """``key`` lists ``target``, which no migration is, in its ``relation``
    (``"dependencies"`` or ``"run_before"``); ``names`` are the migrations of the target's
    app, for a did-you-mean."""
    verb = "depends on" if relation == "dependencies" else "lists in run_before"
    message = f"{key_str(key)!r} {verb} {target!r}, which does not exist"
    if target[0] not in migrated_apps:
        message += f" (no installed app {target[0]!r} has migrations)"
    else:
        # never the asking migration itself: depending on oneself is no fix
        others = [name for name in names if (target[0], name) != key]
        close = difflib.get_close_matches(target[1], others, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return Problem(
        MISSING_DEPENDENCY,
        message,
        key[0],
        key[1],
        None if path is None else str(path),
        reference_line(path, target[1]),
    )


def unknown_app_dependency(asking: Key, path: str | None, target: Key) -> Problem:
    """``asking`` depends on a migration of an app that has none (or is not installed)."""
    return Problem(
        MISSING_DEPENDENCY,
        f"{key_str(asking)!r} depends on {target!r}, but no installed app {target[0]!r} "
        "has migrations",
        asking[0],
        asking[1],
        path,
        reference_line(path, target[0]),
    )


def cycle_problems(graph: nx.DiGraph) -> list[Problem]:
    """One problem per cycle of the graph, at the dependency in the file of the
    migration that closes it."""
    found = []
    for cycle in cycles(graph):
        first = graph.nodes[cycle[0]]
        text = " -> ".join(key_str(node) for node in [*cycle, cycle[0]])
        # cycle[0] runs after cycle[-1]: point at that dependency in cycle[0]'s file.
        found.append(
            Problem(
                CIRCULAR_DEPENDENCY,
                f"migrations form a cycle: {text}",
                cycle[0][0],
                cycle[0][1],
                first["path"],
                reference_line(first["path"], cycle[-1][1]),
            )
        )
    return found
