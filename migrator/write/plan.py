"""File changes, planned first and applied all-or-nothing.

Every command that writes builds a :class:`WritePlan` (a list of changes), so
``--dry-run`` can print it and a real run can apply it as one unit:

1. each change checks its precondition again right before it acts (the plan may be
   stale), and never overwrites: a new file is linked in only where no file is, a
   rename is ``os.link`` + ``os.unlink`` (or ``git mv``), both of which refuse a target;
2. each change records how to undo itself in the :class:`~migrator.write.journal.Journal`
   *before* it touches the disk; the CLI keeps that journal on disk, so a run killed
   outright is rolled back by the next one (``migrator recover``);
3. SIGINT, SIGTERM and SIGHUP are held while a step runs, so a step is whole or absent;
4. on any failure (read-only folder, disk full, a signal) or when the caller's
   verification fails, the journal is undone in reverse order and a
   :class:`~migrator.errors.WriteError` says why and what was undone.

Bytes are kept: an edit writes exactly the bytes planned (line endings and encoding are
the planner's, see :mod:`migrator.write.sourceedit`), keeps the file's mode and owner,
and edits a symlink's target, so the link stays a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from migrator.errors import WriteError
from migrator.write.journal import (
    Journal,
    Undone,
    digest,
    git_index,
    index_lock,
    run_step_command,
    sibling,
    signals_held,
    slow_down,
)


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
        data = self.content.encode("utf-8")  # Django's writer: UTF-8, "\\n"
        journal.record({"kind": "create", "path": str(self.path), "sha256": digest(data)})
        # Written whole beside its name, then linked in: the name never holds half a
        # file, and the link refuses a file that appeared since the plan was made.
        temporary = sibling(self.path, "new")
        with open(temporary, "xb") as handle:  # a half-written one is the undo's to remove
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())  # a full disk shows up here, not after we verify
        try:
            os.link(temporary, self.path)
        finally:
            temporary.unlink()


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


def name_limit(path: Path) -> int | None:
    """The file-name length (in bytes) ``path``'s folder allows when ``path``'s name is
    longer than that, else ``None``."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255  # the common limit, when the folder does not say (or is missing)
    return limit if len(os.fsencode(path.name)) > limit else None


class _Failed(Exception):
    """An expected failure inside :func:`apply_plan`, before its rollback."""

    def __init__(self, message: str, path: Path | None, hint: str) -> None:
        super().__init__(message)
        self.message, self.path, self.hint = message, path, hint


def _what(change: Change) -> str:
    """What a change acts on, for a message: its file, or what a command changes."""
    return getattr(change, "what", None) or str(change.path)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def undone_words(undone: Undone) -> str:
    """What a rollback did, as the end of an error message."""
    parts = []
    if undone.created:
        parts.append(f"removed the {_plural(len(undone.created), 'file')} this run wrote")
    if undone.renamed:
        parts.append(f"renamed {_plural(len(undone.renamed), 'file')} back")
    if undone.edited:
        parts.append(f"restored the bytes of {_plural(len(undone.edited), 'edited file')}")
    if undone.deleted:
        parts.append(f"brought back {_plural(len(undone.deleted), 'deleted file')}")
    parts += [f"put back {what}" for what in undone.commands]
    return " and ".join(parts) if parts else "nothing was written"


def _rollback_error(journal: Journal, failed: _Failed) -> WriteError:
    only_new = all(step["kind"] == "create" for step in journal.steps)
    undone = journal.rollback()
    message, hint = failed.message, failed.hint
    if undone.failed:
        verb = "remove" if only_new else "undo"
        message += f"; could NOT {verb}: " + ", ".join(undone.failed)
        hint = ("remove those files" if only_new else "put those files back") + " by hand; " + hint
    else:
        message += "; " + undone_words(undone)
    return WriteError(message, path=failed.path, hint=hint)


#: What an interrupted run says once its write was kept.
KEPT_NOTE = "the changes were already verified and kept"

#: Whether the command running in this process has kept a write (verified).
_kept = False


def kept_this_run() -> bool:
    """Whether the running command already kept a write: a signal from then on ends the
    run but undoes nothing, and the run should say so (:data:`KEPT_NOTE`)."""
    return _kept


def new_run() -> None:
    """A new command in this process (``call_command`` runs several): nothing kept yet."""
    global _kept
    _kept = False


def apply_plan(
    plan: WritePlan,
    verify: Callable[[], str | None] | None = None,
    *,
    journal: Path | None = None,
    command: str = "",
) -> list[Path]:
    """Apply every change of ``plan``, then ``verify()`` (a reason when the result is
    wrong, ``None`` when it is right). All or nothing: on any failure every change is
    undone and :class:`WriteError` is raised; a signal is re-raised after the undo.
    ``journal``: the folder to keep the journal in while the run writes (see
    :func:`migrator.write.journal.journal_folder`); ``None`` keeps it in memory only.
    The paths written, in order."""
    if not plan:
        return []
    locked = git_lock_in_the_way(plan)
    if locked is not None:
        raise WriteError(
            f"git's index is locked: {locked} exists; nothing was written",
            path=locked,
            hint=GIT_LOCKED_HINT,
        )
    record = Journal(journal, command)
    try:
        with signals_held():
            record.open()
    except OSError as exc:
        raise WriteError(
            f"cannot keep a journal of this run in {journal}: {exc.strerror or exc}; "
            "nothing was written",
            path=journal,
            hint="make that folder writable (or free disk space) and run again",
        ) from exc
    except BaseException:
        record.close()  # a signal while it opened: nothing was written
        raise
    try:
        for change in plan.changes:
            slow_down()  # tests: a signal may land between two steps
            try:
                reason = change.blocked()
            except OSError as exc:
                reason = exc.strerror or str(exc)
            if reason is not None:
                raise _Failed(
                    f"cannot {change.verb} {_what(change)}: {reason}",
                    change.path,
                    "nothing is ever overwritten; move it away and run again",
                )
            try:
                with signals_held():
                    change.apply(record)
            except OSError as exc:
                raise _Failed(
                    f"cannot {change.verb} {_what(change)}: {exc.strerror or exc}",
                    None if isinstance(change, RunCommand | GeneratedFile) else change.path,
                    getattr(change, "hint", None)
                    or "make the folder writable (or free disk space) and run again",
                ) from exc
        slow_down("verify")  # tests: a signal may land once every step is done
        if verify is not None and record.steps:
            failure = verify()
            if failure is not None:
                raise _Failed(
                    f"verification failed: {failure}",
                    None,
                    "run `migrator check` to see the graph as it is",
                )
    except _Failed as failed:
        with signals_held():
            error = _rollback_error(record, failed)
        raise error from failed.__cause__
    except BaseException as exc:  # a signal, or a bug: leave nothing half done
        with signals_held():
            undone = record.rollback()
        if undone.failed:
            exc.add_note("could NOT undo: " + ", ".join(undone.failed))
        else:
            exc.add_note("rolled back: " + undone_words(undone))
        raise
    # Kept. A signal that arrives from here on ends the run, but undoes nothing.
    global _kept
    _kept = True
    written = record.written
    try:
        with signals_held():
            record.commit()
    except OSError as exc:
        raise WriteError(
            f"the changes were verified and kept, but the journal in {journal} could not "
            f"be finished: {exc.strerror or exc}",
            path=journal,
            hint="run `migrator recover` to clean up after it",
        ) from exc
    slow_down("kept")  # tests: a signal may land once the write is kept
    return written


def changed_since_plan(path: Path, old: bytes) -> str | None:
    """Why a file the plan edits or deletes can no longer be, or ``None``: it must still
    hold the bytes the plan was made from."""
    if not path.is_file():
        return "the file does not exist"
    if path.read_bytes() != old:
        return "the file changed since the plan was made"
    return None


@dataclass(frozen=True)
class EditFile:
    """New bytes for an existing file whose bytes must still be ``old``.

    The file keeps its mode and owner (the new bytes replace it under the same name),
    and a symlink stays a symlink: its target is edited."""

    path: Path
    old: bytes
    new: bytes
    reason: str = ""

    verb: ClassVar[str] = "edit"

    def blocked(self) -> str | None:
        return changed_since_plan(self.path, self.old)

    def apply(self, journal: Journal) -> None:
        real = Path(os.path.realpath(self.path))
        journal.record({"kind": "edit", "path": str(real), "sha256": digest(self.new)})
        backup, temporary = sibling(real, "old"), sibling(real, "new")
        # The old file itself is the backup (a second name, no new data): undoing the
        # edit cannot fail on a full disk, and brings back its mode, owner and times.
        try:
            os.link(real, backup)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            shutil.copy2(real, backup)  # a file system without hard links
        status = os.stat(real)
        with open(temporary, "xb") as handle:
            os.fchmod(handle.fileno(), stat.S_IMODE(status.st_mode))
            if (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
                # only root may give a file away; the bytes matter more
                with contextlib.suppress(PermissionError):
                    os.fchown(handle.fileno(), status.st_uid, status.st_gid)
            handle.write(self.new)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, real)


@dataclass(frozen=True)
class RenameFile:
    """Move ``source`` to ``path``, which must not exist; ``git mv`` inside git so the
    history follows the file. A symlink is moved as the link it is."""

    source: Path
    path: Path
    use_git: bool = False
    reason: str = ""

    verb: ClassVar[str] = "rename"

    def blocked(self) -> str | None:
        if not os.path.lexists(self.source):
            return f"{self.source.name} does not exist"
        if os.path.lexists(self.path):
            return "a file already exists at this path"
        return None

    def apply(self, journal: Journal) -> None:
        step: dict[str, object] = {
            "kind": "rename",
            "source": str(self.source),
            "path": str(self.path),
        }
        if self.use_git:
            journal.keep_git_index(self.source.parent)
            step["git"] = True  # a killed `git mv` may leave git's index.lock: see recover
        journal.record(step)
        _move(self.source, self.path, self.use_git)


GIT_LOCKED_HINT = (
    "another git command is running, or one was killed: if none is running, remove "
    "that file and run again"
)


def git_lock_in_the_way(plan: WritePlan) -> Path | None:
    """git's ``index.lock``, when it is there and the plan would ``git mv``: ``git mv``
    would fail on it halfway through the plan."""
    for change in plan.changes:
        if isinstance(change, RenameFile) and change.use_git:
            index = git_index(change.source.parent)
            if index is not None and os.path.lexists(index_lock(index)):
                return index_lock(index)
    return None


def _move(source: Path, target: Path, use_git: bool) -> None:
    if use_git:
        from migrator.git import git_mv

        failure = git_mv(source, target)
        if failure is None:
            return
        if "index.lock" in failure:
            raise _Failed(
                f"cannot rename {source}: git's index is locked "
                f"({failure.strip().splitlines()[0]})",
                source,
                GIT_LOCKED_HINT,
            )
    # link + unlink refuses an existing target, unlike os.rename on POSIX, and moves a
    # symlink itself rather than the file it points to
    os.link(source, target, follow_symlinks=False)
    os.unlink(source)


def order_renames(renames: list[RenameFile]) -> list[RenameFile]:
    """``renames`` in an order that works: a file that frees a name moves before the
    file that takes that name (else the second rename would find the name taken).
    Among renames free to go, the given order is kept. A true cycle (a -> b, b -> a)
    goes through a temporary name beside the first file of the cycle."""
    pending = list(renames)
    ordered: list[RenameFile] = []
    while pending:
        sources = {rename.source for rename in pending}
        # free: its target is not a name another pending rename still has to vacate
        free = next((r for r in pending if r.path not in sources), None)
        if free is None:  # every target is still held: a cycle; break it
            first = pending[0]
            parked = sibling(first.source, "swap")
            ordered.append(RenameFile(first.source, parked, first.use_git, first.reason))
            pending[0] = RenameFile(parked, first.path, first.use_git, first.reason)
            continue
        ordered.append(free)
        pending.remove(free)
    return ordered


@dataclass(frozen=True)
class RunCommand:
    """A change outside the files, made by a command line in one transaction (renaming
    the rows of ``django_migrations``, say), undone by another: both are recorded in the
    journal before the first runs, so any later run can undo it without this process.
    Both command lines must be idempotent (undoing a change that never happened changes
    nothing) and print how many things they changed."""

    what: str  # "the applied rows on database 'default'"
    apply_argv: tuple[str, ...]
    undo_argv: tuple[str, ...]
    cwd: Path
    reason: str = ""
    hint: str = "fix what the error names and run again"

    verb: ClassVar[str] = "update"

    @property
    def path(self) -> Path:
        return self.cwd

    def blocked(self) -> str | None:
        return None  # the command checks its own preconditions, in its transaction

    def apply(self, journal: Journal) -> None:
        journal.record(
            {
                "kind": "command",
                "what": self.what,
                "apply": list(self.apply_argv),
                "undo": list(self.undo_argv),
                "cwd": str(self.cwd),
            }
        )
        run_step_command(list(self.apply_argv), str(self.cwd))


@dataclass(frozen=True)
class DeleteFile:
    """Remove a file whose bytes must still be ``old``. The file is moved to a hidden
    name beside it (a link and an unlink: no new space), and removed for good only once
    the run is kept; undoing moves it back."""

    path: Path
    old: bytes
    reason: str = ""

    verb: ClassVar[str] = "delete"

    def blocked(self) -> str | None:
        return changed_since_plan(self.path, self.old)

    def apply(self, journal: Journal) -> None:
        journal.record({"kind": "delete", "path": str(self.path), "sha256": digest(self.old)})
        os.link(self.path, sibling(self.path, "deleted"), follow_symlinks=False)
        os.unlink(self.path)


@dataclass(frozen=True)
class GeneratedFile:
    """A new file whose name and bytes a command prints once the changes before it are
    on disk (Django's ``makemigrations --dry-run -v 3``): ``parse`` turns that output
    into ``(file name, source)`` in ``folder``, or ``None`` when there is nothing to
    write. Written as a :class:`NewFile`. ``then``: the change that follows from the
    name written (``None`` when nothing was), made in the same step (the marker file
    that must name the new leaf), or ``None`` when there is none to make."""

    folder: Path
    argv: tuple[str, ...]
    cwd: Path
    parse: Callable[[str], tuple[str, str] | None]
    reason: str = ""
    hint: str = "fix what the error names and run again"
    then: Callable[[str | None], Change | None] | None = None

    verb: ClassVar[str] = "generate"

    @property
    def path(self) -> Path:
        return self.folder

    @property
    def what(self) -> str:
        return f"a migration in {self.folder}"

    def blocked(self) -> str | None:
        return None if self.folder.is_dir() else "its folder does not exist"

    def apply(self, journal: Journal) -> None:
        out = run_step_command(list(self.argv), str(self.cwd))
        made = self.parse(out)
        changes: list[Change] = []
        if made is not None:
            name, source = made
            changes.append(NewFile(self.folder / name, source, self.reason))
        follow = self.then(Path(made[0]).stem if made else None) if self.then else None
        if follow is not None:
            changes.append(follow)
        for change in changes:
            reason = change.blocked()
            if reason is not None:
                raise OSError(f"cannot {change.verb} {change.path.name}: {reason}")
            change.apply(journal)
