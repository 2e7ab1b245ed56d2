"""Merge migrations written by Django's own ``MigrationWriter``: the file
``makemigrations --merge --noinput`` writes for the same leaves, same name and source.

Django's rules (``makemigrations``' ``handle_merge``):

* the leaves are listed in sorted order, one dependency each, and there are no
  operations;
* the number is the highest number of the leaves (``MigrationAutodetector.parse_number``:
  ``0001_squashed_0004_x`` counts as 4), taken as 1 when no leaf name has one, plus one;
* the name is ``NNNN_<--name>``, else ``NNNN_merge_<sorted leaf names joined by "_">``,
  or ``NNNN_merge_<YYYYmmdd_HHMM>`` when the joined names are longer than 47 characters.

Django runs ``black`` on the file when it is installed; on a merge migration black
changes nothing, so we skip it. Which apps get one is decided in :mod:`migrator.merge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import migrations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.utils import get_migration_name_timestamp
from django.db.migrations.writer import MigrationWriter

#: Django's limit on the joined leaf names before it falls back to a timestamp.
MAX_JOINED_LEAF_NAMES = 47


@dataclass(frozen=True)
class MergeMigration:
    """One merge migration file: where it goes and what it says."""

    app_label: str
    name: str
    leaves: tuple[str, ...]
    path: Path
    source: str


def merge_number(leaves: Sequence[str]) -> int:
    """The number of the merge migration: the highest leaf number plus one."""
    numbers = [n for n in map(MigrationAutodetector.parse_number, leaves) if n is not None]
    return max(numbers, default=1) + 1


def merge_name(leaves: Sequence[str], name: str | None = None) -> str:
    """The merge migration's name, as ``makemigrations --merge [--name NAME]`` builds it."""
    if name:
        suffix = name
    else:
        joined = "_".join(sorted(leaves))
        too_long = len(joined) > MAX_JOINED_LEAF_NAMES
        suffix = "merge_" + (get_migration_name_timestamp() if too_long else joined)
    return f"{merge_number(leaves):04d}_{suffix}"


def merge_migration(
    app_label: str, leaves: Sequence[str], name: str | None = None, folder: Path | None = None
) -> MergeMigration:
    """The merge migration of ``app_label``'s leaves, written by Django's
    ``MigrationWriter`` (Django must be set up)."""
    ordered = tuple(sorted(leaves))
    migration_name = merge_name(ordered, name)
    subclass = type(
        "Migration",
        (migrations.Migration,),
        {"dependencies": [(app_label, leaf) for leaf in ordered]},
    )
    writer = MigrationWriter(subclass(migration_name, app_label), include_header=True)
    return MergeMigration(
        app_label, migration_name, ordered, _writer_path(writer, folder), writer.as_string()
    )


def _writer_path(writer: MigrationWriter, folder: Path | None) -> Path:
    """Where Django's writer puts the file. In --static mode the app is not in Django's
    registry and ``writer.path`` would import the migrations package: use the leaves'
    folder instead."""
    if folder is not None and writer.migration.app_label not in apps.app_configs:
        return folder / f"{writer.migration.name}.py"
    return Path(writer.path)
