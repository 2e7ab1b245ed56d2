"""``migrator recover``: roll back a write that was killed before it finished."""

from __future__ import annotations

from pathlib import Path

from migrator.cli.app import TracebackOption, app, handle_errors, recovery_words, write


@app.command()
def recover(traceback: TracebackOption = False) -> None:
    """Roll back a merge or rebase that was killed while it wrote (SIGKILL, a power cut,
    a CI runner torn down), from the journal it kept on disk. merge and rebase do this
    themselves before anything else.

    Exit 0 when there was nothing to recover or it was rolled back, 1 when it could not
    be (the journal stays; the message names the files).
    """
    from migrator.recover import recover_project

    with handle_errors(traceback):
        recovery = recover_project(Path.cwd())
    write(
        "Nothing to recover.\n" if recovery is None else recovery_words(recovery) + "\n",
        human=True,
    )
