"""The rows of ``django_migrations``: read them per database, and rename them.

A rebase that renames migrations a database has applied must rename their rows too, or
the database keeps rows under the old names (ghosts) and ``migrate`` runs the renamed
migrations again. :func:`rename_rows` does it in one transaction on Django's own
connection, through Django's ``MigrationRecorder`` model, and checks inside that
transaction what it expects to find: it is the step a rebase's journal records, and
its own undo (the same renames reversed). Both directions are idempotent: a row already
under its new name is left alone, so undoing a step that never ran changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from django.db import DatabaseError, transaction
from django.db.migrations.recorder import MigrationRecorder

from migrator.django.loader import _open_database
from migrator.errors import RefusedError, WriteError
from migrator.graph import DatabaseInfo, DatabaseState, Key, key_str


@dataclass(frozen=True)
class AppliedRows:
    """One database's ``django_migrations`` rows (``rows`` is ``None`` when it cannot be
    read: ``info.error`` says why)."""

    info: DatabaseInfo
    rows: frozenset[Key] | None

    @property
    def alias(self) -> str:
        return self.info.alias


def applied_rows(alias: str) -> AppliedRows:
    """The rows of ``alias`` (an unknown alias is a usage error). A database without the
    table, or a SQLite file that does not exist yet, has none."""
    info, connection = _open_database(alias, None)
    assert info is not None
    if connection is None:
        if info.missing_file:
            return AppliedRows(info, frozenset())
        return AppliedRows(info, None)
    if info.state is DatabaseState.NO_TABLE:
        return AppliedRows(info, frozenset())
    try:
        rows = frozenset(MigrationRecorder(connection).applied_migrations())
    except Exception as exc:  # each driver has its own errors
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        return AppliedRows(replace(info, state=DatabaseState.UNAVAILABLE, error=error), None)
    return AppliedRows(info, rows)


def rename_rows(
    alias: str,
    renames: Sequence[tuple[Key, Key]],
    before_commit: Callable[[], None] = lambda: None,
) -> int:
    """Rename the rows ``old -> new`` of ``alias`` in one transaction; how many changed.
    ``before_commit`` runs inside the transaction, once the rows are renamed.

    A row already under its new name (and none under the old) is left alone. Refused,
    with nothing changed, when both names have a row, or when the table is missing
    while there is something to rename."""
    info, connection = _open_database(alias, None)
    assert info is not None
    if connection is None:
        raise WriteError(
            f"database {alias!r} cannot be reached: {info.error}",
            hint="make the database reachable and run again",
        )
    if info.state is DatabaseState.NO_TABLE:
        return 0
    using = str(info.alias)
    recorder = MigrationRecorder(connection)
    model = recorder.Migration
    changed = 0
    try:
        with transaction.atomic(using=using):
            rows = model.objects.using(using)
            for old, new in _freeing_first(renames):
                found = rows.filter(app=old[0], name=old[1])
                if not found.exists():
                    continue  # never renamed, or renamed already: nothing to do
                if rows.filter(app=new[0], name=new[1]).exists():
                    raise RefusedError(
                        f"database {alias!r} has rows for both {key_str(old)} and {key_str(new)}",
                        hint="remove the stale row by hand, then run again",
                    )
                changed += found.update(name=new[1])
            before_commit()
    except DatabaseError as exc:
        raise WriteError(
            f"{type(exc).__name__}: {' '.join(str(exc).split())}",
            hint="nothing was changed on that database (one transaction); fix it and run again",
        ) from exc
    return changed


def _freeing_first(renames: Sequence[tuple[Key, Key]]) -> list[tuple[Key, Key]]:
    """``renames`` in an order where a row that frees a name is renamed before the row
    that takes it (``0003 -> 0004`` after ``0004 -> 0005``). Numbers only grow in a
    rebase, so there is no cycle; one would be refused by the check for both names."""
    pending = list(renames)
    ordered = []
    while pending:
        sources = {old for old, _ in pending}
        free = next((pair for pair in pending if pair[1] not in sources), pending[0])
        ordered.append(free)
        pending.remove(free)
    return ordered
