"""The domain errors of migrator.

Every expected failure is a :class:`MigratorError` carrying its data (the path, the
line) and a separate ``hint`` telling the user what to do. The CLI turns them into
one message and an exit code in one place (``migrator.cli.app``); nothing else
prints them.
"""

from __future__ import annotations

from pathlib import Path

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_FOUND = 1  # the check found problems, or the command refused
EXIT_USAGE = 2  # usage or configuration error
EXIT_INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP (a write in progress was rolled back)


class MigratorError(Exception):
    """An expected failure: shown as one line (plus a hint), never as a traceback."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | Path | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None
        self.line = line

    def location(self) -> str | None:
        """``path:line`` (or ``path``) when the error points into a file."""
        if self.path is None:
            return None
        return f"{self.path}:{self.line}" if self.line else self.path


class ConfigurationError(MigratorError):
    """Django settings cannot be found, imported or set up."""


class AppsError(ConfigurationError):
    """Django's setup failed in the project's apps: a models module or an AppConfig does
    not import (a conflict marker git left, a syntax error). A command that needs the
    models themselves refuses on it (:class:`RefusedError`) rather than calling it
    configuration."""


class UsageError(MigratorError):
    """The command line asks for something that does not exist (an unknown app, ...)."""


class RefusedError(MigratorError):
    """A command refused to act (exit 1), e.g. an unsafe merge."""

    exit_code = EXIT_FOUND


class WriteError(MigratorError):
    """Writing or verifying planned file changes failed; everything written was removed
    (exit 1)."""

    exit_code = EXIT_FOUND


class OutputError(MigratorError):
    """Standard output cannot be written (a closed pipe, a full disk): exit 1."""

    exit_code = EXIT_FOUND
