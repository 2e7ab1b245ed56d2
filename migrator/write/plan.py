"""File changes, planned first and applied all-or-nothing.

Every command that writes builds a :class:`WritePlan` (a list of changes), so
``--dry-run`` can print it and a real run can apply it as one unit:

1. each change checks its precondition again right before it acts (the plan may be
   stale), and never overwrites: a new file is created in exclusive mode;
2. each change records how to undo itself in a :class:`Journal` *before* it touches
   the disk, so a half-written file is removed too;
3. on any failure (read-only folder, disk full, an interrupt) or when the caller's
   verification fails, the journal is undone in reverse order and a
   :class:`~migrator.errors.WriteError` says why.

Only :class:`NewFile` exists today; an edit (keep the old bytes, write the new ones
through a temporary file and ``os.replace``) or a rename (``os.link`` then
``os.unlink``, which refuses an existing target) fits the same two methods.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from migrator.errors import WriteError


class Change(Protocol):
    """One planned file change."""

    verb: ClassVar[str]  # how the plan shows it: "create", "edit", "rename"

    # Read-only members, so the frozen dataclasses below meet the protocol.
    @property
    def path(self) -> Path: ...

    @property
    def reason(self) -> str: ...

    def blocked(self) -> str | None:
        """Why the change cannot be applied now (``None`` when it can)."""

    def apply(self, journal: Journal) -> None:
        """Make the change, recording its undo in ``journal`` first."""


@dataclass(frozen=True)
class NewFile:
    """A file that must not exist yet."""

    path: Path
    content: str
    reason: str = ""

    verb: ClassVar[str] = "create"

    def blocked(self) -> str | None:
        if os.path.lexists(self.path):
            kind = "a folder" if self.path.is_dir() else "a file"
            return f"{kind} already exists at this path"
        if not self.path.parent.is_dir():
            return "its folder does not exist"
        return None

    def apply(self, journal: Journal) -> None:
        journal.create(self.path, self.content)


@dataclass
class WritePlan:
    """The changes a command will make, in the order it makes them."""

    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.changes.append(change)

    @property
    def paths(self) -> list[Path]:
        return [change.path for change in self.changes]

    def __bool__(self) -> bool:
        return bool(self.changes)


class Journal:
    """What this run changed on disk, and how to undo it."""

    def __init__(self) -> None:
        self._undo: list[tuple[Path, Callable[[], None]]] = []

    def create(self, path: Path, content: str) -> None:
        # "x": exclusive creation, so an existing file (or one that appeared since the
        # plan was made) is never overwritten. Text mode and UTF-8, as Django writes.
        handle = open(path, "x", encoding="utf-8")  # noqa: SIM115 (undo registered first)
        self._undo.append((path, lambda: path.unlink(missing_ok=True)))
        with handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())  # a full disk shows up here, not after we verify

    def record(self, path: Path, undo: Callable[[], None]) -> None:
        """Remember how to undo a change to ``path`` (call it before changing the disk)."""
        self._undo.append((path, undo))

    @property
    def written(self) -> list[Path]:
        return [path for path, _ in self._undo]

    def rollback(self) -> list[str]:
        """Undo every change, newest first; the ones that could not be undone."""
        failed = []
        while self._undo:
            path, undo = self._undo.pop()
            try:
                undo()
            except OSError as exc:
                failed.append(f"{path}: {exc.strerror or exc}")
        return failed


def _rollback_error(journal: Journal, message: str, *, path: Path | None, hint: str) -> WriteError:
    count = len(journal.written)
    failed = journal.rollback()
    if failed:
        message += "; could NOT remove: " + ", ".join(failed)
        hint = "remove those files by hand; " + hint
    elif count:
        message += f"; removed the {count} file{'s' if count != 1 else ''} this run wrote"
    else:
        message += "; nothing was written"
    return WriteError(message, path=path, hint=hint)


def apply_plan(plan: WritePlan, verify: Callable[[], str | None] | None = None) -> list[Path]:
    """Apply every change of ``plan``, then ``verify()`` (a reason when the result is
    wrong, ``None`` when it is right). All or nothing: on any failure every change is
    undone and :class:`WriteError` is raised. The paths written, in order."""
    journal = Journal()
    for change in plan.changes:
        reason = change.blocked()
        if reason is not None:
            raise _rollback_error(
                journal,
                f"cannot {change.verb} {change.path}: {reason}",
                path=change.path,
                hint="nothing is ever overwritten; move it away and run again",
            )
        try:
            change.apply(journal)
        except OSError as exc:
            raise _rollback_error(
                journal,
                f"cannot {change.verb} {change.path}: {exc.strerror or exc}",
                path=change.path,
                hint="make the folder writable (or free disk space) and run again",
            ) from exc
        except BaseException:
            journal.rollback()  # an interrupt: leave nothing half done
            raise
    if verify is not None and journal.written:
        try:
            failure = verify()
        except BaseException:
            journal.rollback()
            raise
        if failure is not None:
            raise _rollback_error(
                journal,
                f"verification failed: {failure}",
                path=None,
                hint="run `migrator check` to see the graph as it is",
            )
    return journal.written


@dataclass(frozen=True)
class EditFile:
    """New content for an existing file whose bytes must still be ``old``."""

    path: Path
    old: str
    new: str
    reason: str = ""

    verb: ClassVar[str] = "edit"

    def blocked(self) -> str | None:
        if not self.path.is_file():
            return "the file does not exist"
        if self.path.read_text(encoding="utf-8") != self.old:
            return "the file changed since the plan was made"
        return None

    def apply(self, journal: Journal) -> None:
        old_bytes = self.path.read_bytes()
        journal.record(self.path, lambda: _replace_bytes(self.path, old_bytes))
        _replace_bytes(self.path, self.new.encode("utf-8"))


def _replace_bytes(path: Path, data: bytes) -> None:
    # Write beside the file and swap it in, so a failed write leaves the old bytes.
    temporary = path.with_name(f".{path.name}.migrator-tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


@dataclass(frozen=True)
class RenameFile:
    """Move ``source`` to ``path``, which must not exist; ``git mv`` inside git so the
    history follows the file."""

    source: Path
    path: Path
    use_git: bool = False
    reason: str = ""

    verb: ClassVar[str] = "rename"

    def blocked(self) -> str | None:
        if not self.source.is_file():
            return f"{self.source.name} does not exist"
        if os.path.lexists(self.path):
            return "a file already exists at this path"
        return None

    def apply(self, journal: Journal) -> None:
        journal.record(self.path, self._undo)
        _move(self.source, self.path, self.use_git)

    def _undo(self) -> None:
        if not self.path.exists():
            return  # the move never happened
        if self.source.exists():
            self.path.unlink()  # linked but not yet unlinked: drop the new name
        else:
            _move(self.path, self.source, self.use_git)


def _move(source: Path, target: Path, use_git: bool) -> None:
    if use_git:
        from migrator.git import run_git

        if run_git(["mv", "--", str(source), str(target)], source.parent) is not None:
            return
    # link + unlink refuses an existing target, unlike os.rename on POSIX
    os.link(source, target)
    os.unlink(source)
