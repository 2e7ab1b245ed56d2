"""``published-migration-changed``: migration files that a base branch already has (at
the merge base) and that the branch modifies, renames or deletes.

A migration on the base branch has been, or will be, applied to databases: they record
its name and never run it again. Changing its dependencies or operations makes those
databases differ from fresh ones (or fail with ``InconsistentMigrationHistory``);
renaming or deleting it leaves a row for a migration that no longer exists. Like Flyway
or Liquibase refusing a changed applied migration, the check refuses these, unless the
migration is allowed by name in ``[tool.migrator] allow-published-changes``. A change of
formatting or comments only (equal syntax trees) is a warning.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from migrator import git
from migrator.errors import ConfigurationError
from migrator.settings import find_pyproject, read_tool_config
from migrator.static.compare import FORMATTING, compare

KIND = "published-migration-changed"
DELETED = "deleted"
RENAMED = "renamed"
ALLOW_SETTING = "allow-published-changes"


@dataclass(frozen=True)
class PublishedChange:
    """One published migration the branch changed."""

    app: str
    migration: str  # its name at the merge base
    change: str  # "dependencies", "operations", "formatting", "deleted" or "renamed"
    old_path: str  # absolute, at the merge base
    path: str | None  # absolute, on the branch (None: deleted)
    line: int | None  # in the branch's file: the first changed line
    diff: tuple[str, ...]  # meaningful lines, "-" old, "+" new, " " context
    also: tuple[str, ...] = ()  # a renamed file's edits, or "operations" beside dependencies
    allowed: bool = False

    @property
    def key(self) -> str:
        return f"{self.app}.{self.migration}"

    @property
    def is_error(self) -> bool:
        return self.change != FORMATTING and not self.allowed

    @property
    def new_name(self) -> str | None:
        return Path(self.path).stem if self.path else None


def allowed_names(cwd: Path) -> tuple[str, ...]:
    """``[tool.migrator] allow-published-changes``: names (``app.migration``) or
    patterns (``legacy.*``) of published migrations that may change."""
    pyproject = find_pyproject(cwd)
    value = read_tool_config(pyproject).get(ALLOW_SETTING, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(
            f"[tool.migrator] {ALLOW_SETTING} must be a list of migration names",
            path=pyproject,
            hint=f'e.g. {ALLOW_SETTING} = ["shop.0001_initial", "legacy.*"]',
        )
    return tuple(value)


def is_allowed(key: str, allowed: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in allowed)


def published_changes(
    top: Path,
    packages: dict[str, Path],
    base: str,
    branch: str | None,
    allowed: tuple[str, ...] = (),
) -> list[PublishedChange]:
    """The migration files present at commit ``base`` that commit ``branch`` (``None``:
    the working tree, staged files included) modifies, renames or deletes; sorted."""
    folders: dict[str, tuple[str, Path]] = {}
    for label, folder in packages.items():
        try:
            rel = folder.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            continue  # an installed package: no branch changes it
        folders[rel] = (label, folder)
    changes = [
        c
        for c in git.changed_files(base, branch, sorted(folders), top)
        if c.old is not None and _is_migration(c.old, folders)
    ]
    contents = git.read_blobs(
        [b for c in changes for b in (c.old_blob, c.new_blob) if b is not None], top
    )
    found = []
    for change in changes:
        assert change.old is not None
        label = folders[change.old.rpartition("/")[0]][0]
        name = Path(change.old).stem
        old = contents.get(change.old_blob or "", b"")
        old_path = str(top / change.old)
        key = f"{label}.{name}"
        if change.new is None:
            found.append(
                PublishedChange(
                    label, name, DELETED, old_path, None, None, (), allowed=is_allowed(key, allowed)
                )
            )
            continue
        new = _read_new(top, change, contents)
        compared = compare(old, new)
        renamed = change.new != change.old
        found.append(
            PublishedChange(
                label,
                name,
                RENAMED if renamed else compared.kind,
                old_path,
                str(top / change.new),
                compared.line,
                compared.diff,
                compared.changed if renamed else compared.changed[1:],
                is_allowed(key, allowed),
            )
        )
    return sorted(found, key=lambda c: (c.app, c.migration))


def _is_migration(rel: str, folders: dict[str, tuple[str, Path]]) -> bool:
    folder, _, name = rel.rpartition("/")
    return folder in folders and name.endswith(".py") and name[:1] not in "_~"


def _read_new(top: Path, change: git.Change, contents: dict[str, bytes]) -> bytes:
    """The branch's version: its blob, or (working tree) the file on disk."""
    if change.new_blob is not None:
        return contents.get(change.new_blob, b"")
    assert change.new is not None
    try:
        return (top / change.new).read_bytes()
    except OSError:
        return b""
