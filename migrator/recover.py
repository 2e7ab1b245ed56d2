"""``migrator recover``: roll back a write that was killed before it could finish.

Every write keeps a journal on disk (see :mod:`migrator.write.journal`); a run killed
outright (SIGKILL, a power cut) leaves it behind. ``merge`` and ``rebase`` recover it
themselves before anything else; this command does only that.
"""

from __future__ import annotations

from pathlib import Path

from migrator.errors import WriteError
from migrator.write.journal import Recovery, journal_folder, recover


def recover_project(cwd: Path) -> Recovery | None:
    """Roll back the interrupted run of the project in ``cwd``; ``None`` when there was
    none. Raises :class:`~migrator.errors.WriteError` when it cannot."""
    folder = journal_folder(cwd)
    try:
        return recover(folder)
    except OSError as exc:
        raise WriteError(
            f"cannot read the journal of an interrupted run: {exc.strerror or exc}",
            path=exc.filename or folder,
            hint="make it readable and run again (or run `migrator recover` as its owner)",
        ) from exc


def journal_for(cwd: Path) -> Path:
    """Where a run started in ``cwd`` keeps its journal."""
    return journal_folder(cwd)
