"""Compile the project's migration modules on the other core while Django boots.

On a fresh checkout (every CI run) nothing of the project has bytecode yet, so loading
the graph of a large project is mostly Python compiling migration modules and creating
their ``.pyc`` files, one after the other, on one core. :func:`compiling_ahead` forks a
helper before ``django.setup()`` that finds the local migration files the way static
mode does (reading, never importing, project code) and writes their ``__pycache__``
entries, last file first, exactly as the import system would (same header, same atomic
write). The loader, going through them first file first, then finds most of them
compiled.

It is only a head start, never needed for a correct answer: any file the helper has
not reached, or could not write, is compiled by the import as usual. It does nothing
when Python is told not to write bytecode (``PYTHONDONTWRITEBYTECODE``, ``-B``), when
there is only one CPU to run on, where ``fork`` does not exist, in a process that
already runs threads, or with ``MIGRATOR_COMPILE_AHEAD=off``. The helper is stopped as
soon as the graph is loaded, between two files, so it never outlives the command.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from migrator.settings import ProjectOptions

_HEADER = 16  # magic, flags, source mtime, source size
SWITCH = "MIGRATOR_COMPILE_AHEAD"  # "off" turns the helper off


def is_compiled(source: Path) -> bool:
    """Whether the import system would take ``source``'s cached bytecode as it is."""
    try:
        cached = importlib.util.cache_from_source(str(source))
        stat = source.stat()
        with open(cached, "rb") as file:
            header = file.read(_HEADER)
    except (OSError, NotImplementedError, ValueError):
        return False
    return (
        len(header) == _HEADER
        and header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") == 0  # timestamp-based
        and int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF
    )


def local_migration_files(options: ProjectOptions) -> list[Path]:
    """The migration modules of the project's own apps, in the order the loader imports
    them (apps as installed, names sorted), found without importing project code."""
    from migrator.static.apps import discover, migration_files

    files: list[Path] = []
    for app in discover(options).apps:
        if app.local and app.migrations is not None:
            files.append(app.migrations / "__init__.py")
            files.extend(migration_files(app).values())
    return files


def compile_file(source: Path) -> bool:
    """Write ``source``'s bytecode where and how ``import`` would. False when the source
    does not compile (the import reports that); OSError when it cannot be written."""
    try:
        py_compile.compile(
            str(source),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
        )
    except py_compile.PyCompileError:
        return False
    return True


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _should_fork() -> bool:
    return (
        os.environ.get(SWITCH, "").lower() not in {"0", "off", "no", "false"}
        and not sys.dont_write_bytecode
        and hasattr(os, "fork")
        and threading.active_count() == 1  # forking a threaded process can deadlock the child
        and _available_cpus() > 1
    )


def _helper(options: ProjectOptions) -> None:
    """The forked helper: compile what is stale, the last file the loader imports first.

    The parent ends it with SIGTERM. The signal is held back while a file is being
    written, so the helper never leaves a half-written temporary file behind."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    unwritable: set[Path] = set()  # a read-only folder is tried once, not once a file
    for source in reversed(local_migration_files(options)):
        if source.parent in unwritable or is_compiled(source):
            continue
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            compile_file(source)
        except (OSError, ValueError):
            unwritable.add(source.parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


@contextmanager
def compiling_ahead(options: ProjectOptions) -> Iterator[int | None]:
    """Run the body (booting Django and loading the graph) with the helper compiling
    the project's migration modules alongside it; the helper is stopped and reaped
    when the body ends, however it ends. Gives the helper's pid, None when none runs."""
    if not _should_fork():
        yield None
        return
    try:
        pid = os.fork()
    except OSError:  # out of processes (a container's pids limit) or not allowed
        yield None
        return
    if pid == 0:  # the helper: never returns into the command
        try:
            _helper(options)
        except BaseException:  # noqa: BLE001 - a head start only; the import does the rest
            pass
        finally:
            os._exit(0)  # no atexit handlers, no flushing of the parent's buffers
    try:
        yield pid
    finally:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)
