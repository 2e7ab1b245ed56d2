"""The write journal: what a run is changing on disk, kept on disk, so that a run killed
at any point (SIGKILL, a power cut, a CI runner torn down) is rolled back by the next one.

It lives in the git folder (``.git/migrator-journal``, a worktree's own git folder),
or outside git in ``.migrator-journal`` in the project's folder (``manage.py``'s);
never in a migrations package. It exists only while a run writes::

    run.json       who writes (pid, command, start); flock-ed for as long as the run lives
    0001.json ...  one step each, written and fsynced *before* the step touches the disk
    index.before   a copy of git's index, taken before the first ``git mv``
    done           written once verification passed: the run is kept, only cleanup is left

A step may also be a command (``"kind": "command"``): a change outside the files, such as
renaming the rows of ``django_migrations``, done in one transaction by a command line
the step records together with the command line that undoes it. The undo runs in a new
process, so whichever run rolls back (``migrator recover`` too) needs nothing but the
journal; both command lines must be idempotent.

Each step is built so that undoing it needs no new data on disk (a full disk cannot
stop a rollback): a new file is written beside its name and linked in complete, an edit
keeps the old file as a hard link until the run is kept, a rename is a link + unlink.
Undo checks what it finds, so a step that never ran, ran half or ran fully is undone
right, and a file someone changed since is left alone and named.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.errors import WriteError

JOURNAL_IN_GIT = "migrator-journal"
JOURNAL_OUTSIDE_GIT = ".migrator-journal"
RUN_FILE = "run.json"
DONE_FILE = "done"
INDEX_BACKUP = "index.before"

#: Tests set this (seconds) to slow every step down, so a signal can land inside a write.
SLOW_ENV = "MIGRATOR_TEST_SLOW_WRITES"

#: Tests set this to hold a run longer at named points (``verify=2,kept=2``: seconds),
#: so a signal surely lands there however busy the machine: ``rows``, the rows command
#: inside its transaction, before it commits (over in a blink otherwise); ``verify``,
#: once every step is done, before the verification; ``kept``, once the write is kept,
#: before the run says so.
HOLD_ENV = "MIGRATOR_TEST_HOLD"

#: The signals that end a run politely; held off while a step or a rollback runs.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Step = dict[str, Any]

#: A recorded command that takes longer than this has failed.
COMMAND_TIMEOUT_SECONDS = 300


class CommandFailed(OSError):
    """A recorded command (a step outside the files) exited non-zero."""


def run_step_command(argv: list[str], cwd: str) -> str:
    """Run a command step's command line; its standard output. Raises
    :class:`CommandFailed` with the first line it printed on stderr."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the command line names the settings
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop(SLOW_ENV, None)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandFailed(f"could not run {argv[0]}: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        # migrator says its error on one line; anything else (Django's makemigrations, a
        # traceback) ends with it
        first = next((line for line in lines if "migrator: error:" in line), None)
        said = first or (lines[-1].strip() if lines else "")
        raise CommandFailed(said.replace("migrator: error: ", "") or f"exit {proc.returncode}")
    return proc.stdout


#: The longest file name most file systems take (bytes); ``sibling`` stays within it.
NAME_MAX = 255


def sibling(path: Path, tag: str) -> Path:
    """A hidden name beside ``path`` for the run's temporary files (never ``*.py``, so
    neither Django nor the static loader sees it). A name too long to take the suffix
    (a 250-byte migration name) is replaced by its digest: the same path always gives
    the same sibling, which is how a recovery finds it."""
    name = f".{path.name}.migrator-{tag}"
    if len(os.fsencode(name)) > NAME_MAX:
        name = f".{digest(os.fsencode(path.name))[:32]}.migrator-{tag}"
    return path.with_name(name)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str | None:
    try:
        return digest(path.read_bytes())
    except OSError:
        return None


def slow_down(point: str | None = None) -> None:
    """Tests: sleep for the seconds :data:`HOLD_ENV` gives ``point``, else for
    :data:`SLOW_ENV`; nothing in normal use."""
    for hold in os.environ.get(HOLD_ENV, "").split(","):
        name, _, seconds = hold.partition("=")
        if point is not None and name == point:
            time.sleep(float(seconds))
            return
    if delay := os.environ.get(SLOW_ENV):
        time.sleep(float(delay))


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends: a step (or a rollback) is
    never cut in half by a signal that can be caught; it is handled right after."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """``data`` at ``path``, all or nothing, on disk before this returns."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_folder(path.parent)


def journal_folder(cwd: Path) -> Path:
    """Where runs started in ``cwd`` keep their journal: in the git folder inside a work
    tree, else in the project's folder (that of ``manage.py``, even when the run starts
    in a subfolder such as a migrations package; see
    :func:`migrator.settings.project_folder`)."""
    from migrator.git import run_git
    from migrator.settings import project_folder

    git_dir = run_git(["rev-parse", "--absolute-git-dir"], cwd)
    if git_dir and git_dir.strip():
        return Path(git_dir.strip()) / JOURNAL_IN_GIT
    return project_folder(cwd) / JOURNAL_OUTSIDE_GIT


def git_index(cwd: Path) -> Path | None:
    from migrator.git import run_git

    out = run_git(["rev-parse", "--git-path", "index"], cwd)
    return (cwd / out.strip()).resolve() if out and out.strip() else None


def index_lock(index: Path) -> Path:
    """The lock git takes on its index while it writes it (``index.lock``)."""
    return index.with_name(index.name + ".lock")


def _held_open(path: Path) -> bool | None:
    """Whether a live process has ``path`` open (git keeps its lock file open while it
    writes), read from ``/proc``; ``None`` when that cannot be told."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    target = os.path.realpath(path)
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(proc / pid / "fd")
        except FileNotFoundError:
            continue  # gone meanwhile
        except PermissionError:
            return None  # another user's process: cannot tell
        for fd in fds:
            try:
                if os.readlink(proc / pid / "fd" / fd) == target:
                    return True
            except OSError:
                continue
    return False


def _left_by_our_git(steps: list[tuple[Path | None, Step]]) -> tuple[Path | None, bool]:
    """git's index lock, if one is there, and whether it is provably ours and stale: the
    journal's last step is a ``git mv`` (recorded before git started, so the lock is
    newer than the record), our run is dead (its journal was free to lock) and no live
    process has the lock open."""
    indexes = [step for _, step in steps if step["kind"] == "index"]
    if not indexes:
        return None, False
    lock = index_lock(Path(indexes[0]["path"]))
    try:
        made = lock.stat().st_mtime_ns
    except FileNotFoundError:
        return None, False
    record, last = steps[-1]
    if record is None or last["kind"] != "rename" or not last.get("git"):
        return lock, False
    try:
        recorded = record.stat().st_mtime_ns
    except OSError:
        return lock, False
    return lock, made >= recorded and _held_open(lock) is False


# -- undoing one step ---------------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _move_back(current: Path, original: Path) -> None:
    # link + unlink: never overwrites, and keeps a symlink a symlink
    os.link(current, original, follow_symlinks=False)
    os.unlink(current)


def undo_step(step: Step, index_backup: bytes | None = None) -> tuple[bool, str | None]:
    """Undo one step, whatever part of it ran: whether the disk had to change back, and
    why it could not be (``None`` when the disk is as before the step)."""
    kind = step["kind"]
    if kind == "command":
        try:
            out = run_step_command(step["undo"], step["cwd"])
        except CommandFailed as exc:
            return False, str(exc)
        return out.strip() not in ("", "0"), None
    path = Path(step["path"])
    if kind == "create":
        temporary = sibling(path, "new")
        changed = os.path.lexists(temporary)
        temporary.unlink(missing_ok=True)
        if os.path.lexists(path) and file_digest(path) == step["sha256"]:
            path.unlink()
            changed = True
        return changed, None  # another file at that name is not ours: left alone
    if kind == "edit":
        backup, temporary = sibling(path, "old"), sibling(path, "new")
        temporary.unlink(missing_ok=True)
        if not os.path.lexists(backup):
            return False, None  # the edit never started (the backup is taken first)
        if _same_file(backup, path) or file_digest(backup) == file_digest(path):
            backup.unlink()  # backed up, never replaced
            return False, None
        if file_digest(path) == step["sha256"] or not os.path.lexists(path):
            os.replace(backup, path)  # the old file itself comes back: bytes, mode, owner
            return True, None
        return False, f"changed since this run edited it; the old version is at {backup}"
    if kind == "delete":
        kept = sibling(path, "deleted")
        if os.path.lexists(kept) and not os.path.lexists(path):
            _move_back(kept, path)
            return True, None
        if os.path.lexists(kept):  # linked, not yet unlinked
            kept.unlink()
        return False, None
    if kind == "rename":
        source = Path(step["source"])
        if os.path.lexists(path) and not os.path.lexists(source):
            _move_back(path, source)
        elif os.path.lexists(path) and _same_file(path, source):
            path.unlink()  # linked, not yet unlinked
        elif os.path.lexists(path):
            return False, f"both {source.name} and {path.name} exist"
        else:
            return False, None
        return True, None
    if kind == "index":
        if index_backup is None:
            return False, "the copy of git's index is missing"
        if file_digest(path) != digest(index_backup):
            temporary = path.with_name(path.name + ".migrator-tmp")
            temporary.write_bytes(index_backup)
            os.replace(temporary, path)
        return False, None
    return False, f"unknown step {kind!r}"


def cleanup_step(step: Step) -> None:
    """After a run is kept: drop what its undo would have needed."""
    if step["kind"] == "edit":
        sibling(Path(step["path"]), "old").unlink(missing_ok=True)
    if step["kind"] == "delete":
        sibling(Path(step["path"]), "deleted").unlink(missing_ok=True)


# -- the journal of this run --------------------------------------------------------------


@dataclass
class Undone:
    """What a rollback did: per kind of step, the paths put back; and what it could not."""

    created: list[Path] = field(default_factory=list)  # removed again
    edited: list[Path] = field(default_factory=list)  # old bytes restored
    renamed: list[Path] = field(default_factory=list)  # renamed back (the original names)
    commands: list[str] = field(default_factory=list)  # command steps undone (their "what")
    deleted: list[Path] = field(default_factory=list)  # brought back
    failed: list[str] = field(default_factory=list)  # "path: why"

    @property
    def count(self) -> int:
        return (
            len(self.created)
            + len(self.edited)
            + len(self.renamed)
            + len(self.commands)
            + len(self.deleted)
        )


class Journal:
    """The steps of this run, newest last; on disk in ``folder`` when one is given (the
    CLI always gives one), else in memory only."""

    def __init__(self, folder: Path | None = None, command: str = "") -> None:
        self.folder = folder
        self.command = command
        self.steps: list[Step] = []
        self._index_backup: bytes | None = None
        self._lock: int | None = None

    # lifecycle
    def open(self) -> None:
        """Create the journal folder, locked, before any step. An existing journal of an
        interrupted run must have been recovered first."""
        if self.folder is None:
            return
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        # Built under another name and renamed in with its lock held, so another process
        # never sees a journal without a locked run.json.
        building = self.folder.with_name(f"{self.folder.name}.new-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        try:
            run = building / RUN_FILE
            info = {"pid": os.getpid(), "command": self.command, "started": _now()}
            run.write_bytes(json.dumps(info).encode() + b"\n")
            self._lock = os.open(run, os.O_RDWR)
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.fsync(self._lock)
            fsync_folder(building)
            os.rename(building, self.folder)
            fsync_folder(self.folder.parent)
        except BaseException:
            self._unlock()
            shutil.rmtree(building, ignore_errors=True)
            raise

    def record(self, step: Step) -> None:
        """Remember ``step`` (call it before the step changes the disk)."""
        self.steps.append(step)
        if self.folder is not None:
            write_durably(self.folder / f"{len(self.steps):04d}.json", json.dumps(step).encode())
            slow_down()  # tests: a signal may land between the record and the act

    def keep_git_index(self, cwd: Path) -> None:
        """Before the first ``git mv``: keep a copy of git's index to restore on undo."""
        if any(step["kind"] == "index" for step in self.steps):
            return
        index = git_index(cwd)
        if index is None or not index.is_file():
            return
        data = index.read_bytes()
        if self.folder is not None:
            write_durably(self.folder / INDEX_BACKUP, data)
        self._index_backup = data
        self.record({"kind": "index", "path": str(index)})

    def commit(self) -> None:
        """The run is kept: mark it so, then clean up and remove the journal."""
        if self.folder is not None:
            write_durably(self.folder / DONE_FILE, b"")
        for step in self.steps:
            with contextlib.suppress(OSError):
                cleanup_step(step)
        self.steps = []  # nothing left to undo
        self.close()

    def rollback(self) -> Undone:
        """Undo every step, newest first. The journal is removed only when all were
        undone; else it stays for ``migrator recover`` after a fix by hand."""
        undone = _undo_all(self._step_files(), self._index_backup)
        self.steps = []
        if undone.failed:
            self._unlock()
        else:
            self.close()
        return undone

    def _step_files(self) -> list[tuple[Path | None, Step]]:
        if self.folder is None:
            return [(None, step) for step in self.steps]
        return [
            (self.folder / f"{number:04d}.json", step)
            for number, step in enumerate(self.steps, start=1)
        ]

    def close(self) -> None:
        if self.folder is not None and self._lock is not None:
            _remove_journal(self.folder)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # releases the flock
            self._lock = None

    @property
    def written(self) -> list[Path]:
        """Every path this run changed, in order (renames: the new name)."""
        return [Path(step["path"]) for step in self.steps if step["kind"] in _FILE_STEPS]


_FILE_STEPS = ("create", "edit", "rename", "delete")


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %z")


def _undo_all(steps: list[tuple[Path | None, Step]], index_backup: bytes | None) -> Undone:
    """Undo ``steps`` newest first. The file of each step undone is removed at once: a
    recovery after a rollback that was itself killed redoes only the steps not yet
    undone (undoing one step twice is harmless; undoing an older step again, after a
    newer one took its name back, would not be)."""
    undone = Undone()
    for record, step in reversed(steps):
        path = Path(step["path"]) if "path" in step else None
        where = str(path) if path is not None else str(step.get("what", step["kind"]))
        try:
            changed, failure = undo_step(step, index_backup)
        except OSError as exc:
            changed, failure = False, exc.strerror or str(exc)
        if failure is not None:
            undone.failed.append(f"{where}: {failure}")
            continue
        if record is not None:
            record.unlink(missing_ok=True)
        if not changed:
            continue
        elif step["kind"] == "command" or path is None:
            undone.commands.append(where)
        elif step["kind"] == "create":
            undone.created.append(path)
        elif step["kind"] == "edit":
            undone.edited.append(path)
        elif step["kind"] == "delete":
            undone.deleted.append(path)
        elif step["kind"] == "rename":
            undone.renamed.append(Path(step["source"]))
    return undone


def _remove_journal(folder: Path) -> None:
    # the steps first, the done marker next to last, run.json last: a removal cut short
    # leaves a journal that recovers right (see _undo_all)
    for path in sorted(folder.iterdir(), key=lambda p: (p.name == RUN_FILE, p.name == DONE_FILE)):
        path.unlink(missing_ok=True)
    folder.rmdir()
    fsync_folder(folder.parent)


# -- recovery -----------------------------------------------------------------------------


@dataclass
class Recovery:
    """An interrupted run found on disk, and what recovering it did."""

    folder: Path
    pid: int | None
    command: str
    started: str
    finished: bool  # its writes were verified and kept; only cleanup was left
    undone: Undone
    #: git's ``index.lock`` found beside the index the run changed, if any, and whether
    #: it was removed: left by the run's own killed ``git mv`` (else it stays; git
    #: refuses to write its index while it is there).
    git_lock: Path | None = None
    git_lock_removed: bool = False


def recover(folder: Path) -> Recovery | None:
    """Roll back the interrupted run whose journal is ``folder`` (``None``: there is
    none). Raises :class:`WriteError` while another run holds it, or when a step could
    not be undone (the journal stays then)."""
    _drop_unfinished_journals(folder)
    run = folder / RUN_FILE
    try:
        lock = os.open(run, os.O_RDWR)
    except FileNotFoundError:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        return None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read_json(run) or {}
            raise WriteError(
                f"another migrator run (pid {info.get('pid', '?')}, "
                f"{info.get('command') or 'a write'}) is writing in this project",
                path=folder,
                hint="wait for it to finish, then run again",
            ) from None
        if not run.exists():
            return None  # recovered by another process while we waited
        info = _read_json(run) or {}
        steps = _read_steps(folder)
        finished = (folder / DONE_FILE).exists()
        backup = folder / INDEX_BACKUP
        git_lock, ours = _left_by_our_git(steps)
        if finished:
            for _, step in steps:
                with contextlib.suppress(OSError):
                    cleanup_step(step)
            undone = Undone()
        else:
            index = backup.read_bytes() if backup.is_file() else None
            with signals_held():
                undone = _undo_all(steps, index)
        if ours and git_lock is not None:
            git_lock.unlink(missing_ok=True)  # the index itself is restored (or untouched)
        recovery = Recovery(
            folder,
            info.get("pid"),
            str(info.get("command", "")),
            str(info.get("started", "")),
            finished,
            undone,
            git_lock,
            ours,
        )
        if undone.failed:
            raise WriteError(
                "an interrupted migrator run could not be rolled back: " + "; ".join(undone.failed),
                path=folder,
                hint=f"put those files back by hand, then remove {folder}",
            )
        _remove_journal(folder)
        return recovery
    finally:
        os.close(lock)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _read_steps(folder: Path) -> list[tuple[Path | None, Step]]:
    steps: list[tuple[Path | None, Step]] = []
    for path in sorted(folder.glob("[0-9]*.json")):
        step = _read_json(path)
        if isinstance(step, dict) and "kind" in step:
            steps.append((path, step))
    return steps


def _drop_unfinished_journals(folder: Path) -> None:
    """A run killed while it built its journal (before any step): nothing to undo."""
    for building in folder.parent.glob(f"{folder.name}.new-*"):
        run = building / RUN_FILE
        try:
            lock = os.open(run, os.O_RDWR)
        except OSError:
            if _is_alive(building.name.rsplit("-", 1)[-1]):
                continue  # its run.json is being written
            lock = None
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(building, ignore_errors=True)
        except BlockingIOError:
            pass  # a live run is building it
        finally:
            if lock is not None:
                os.close(lock)


def _is_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
