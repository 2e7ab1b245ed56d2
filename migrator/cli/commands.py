"""The program: every command registered on the typer app, run with what none of them
can catch."""

from __future__ import annotations

import sys

from migrator.cli import app as app_module
from migrator.cli import (
    check,  # noqa: F401  (registers the command)
    explain,  # noqa: F401  (registers the command)
    finishwork,  # noqa: F401  (registers the command)
    graph,  # noqa: F401  (registers the command)
    lock,  # noqa: F401  (registers the command)
    merge,  # noqa: F401  (registers the command)
    rebase,  # noqa: F401  (registers the command)
    recover,  # noqa: F401  (registers the command)
    resolve,  # noqa: F401  (registers the command)
    rows,  # noqa: F401  (registers the command)
    show,  # noqa: F401  (registers the command)
    squash,  # noqa: F401  (registers the command)
    squashwork,  # noqa: F401  (registers the command)
    trial,  # noqa: F401  (registers the command)
)
from migrator.cli.app import GuardedStdout, app, print_error, report_interrupt
from migrator.cli.direct import run_check
from migrator.errors import EXIT_INTERRUPTED, MigratorError


def run(args: list[str] | None = None, prog_name: str | None = None) -> None:
    """The whole program: the commands, and what none of them can catch (an interrupt
    before a command starts, a standard output that cannot be written)."""
    app_module.new_run()
    stdout = sys.stdout = GuardedStdout(sys.stdout)
    code: int | str | None
    try:
        try:
            # check's plain forms skip typer's parser (and its pydantic import)
            if not run_check(sys.argv[1:] if args is None else args):
                app(args=args, prog_name=prog_name)
        finally:
            sys.stdout.flush()
    except SystemExit as exit:
        code = exit.code
    except MigratorError as error:
        print_error(error)
        code = error.exit_code
    if stdout.failure is not None and code in (0, None):
        # Failed where someone swallowed it (click prints --help that way): still said.
        print_error(stdout.failure)
        code = stdout.failure.exit_code
    if code == EXIT_INTERRUPTED and not app_module.interrupt_reported():
        # typer turns a Ctrl-C outside every command's handle_errors into 130, silently
        report_interrupt(KeyboardInterrupt())
    raise SystemExit(code)
