"""The program: every command registered on the typer app, run with what none of them
can catch."""

from __future__ import annotations

import copy
import os
import sys

import typer

from migrator import git
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
            argv = sys.argv[1:] if args is None else args
            with git.one_view():  # the command changes no ref: git's answers hold
                if not run_check(argv):
                    program(argv)(args=args, prog_name=prog_name)
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


def program(argv: list[str]) -> typer.Typer:
    """The app to run ``argv`` with: when it names a command, the app with that command
    alone. typer builds the parser of every registered command on each run (their
    signatures, type hints and options: about 30 ms of a fresh start, 60 ms once the
    modules are imported, more than a whole ``graph`` of a small project); the others
    cannot be reached from this command line. ``--help`` and usage lines are the same,
    as the app keeps its callback and so stays a group. Without a command (``--help``,
    a misspelt name typer suggests the right one for, a ``--`` first, shell completion)
    the whole app runs."""
    # the app's own options take no value: the first word that is not one is the command
    name = next((word for word in argv if word == "--" or not word.startswith("-")), None)
    if name in (None, "--") or _completing():
        return app
    wanted = [info for info in app.registered_commands if _command_name(info) == name]
    if not wanted:
        return app
    alone = copy.copy(app)
    alone.registered_commands = wanted
    return alone


def _command_name(info: typer.models.CommandInfo) -> str | None:
    """The name typer gives a registered command: its own, or its function's."""
    if info.name:
        return info.name
    callback = info.callback
    return None if callback is None else typer.main.get_command_name(callback.__name__)


def _completing() -> bool:
    """Shell completion asks through ``_<PROG>_COMPLETE`` and wants every command."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)
