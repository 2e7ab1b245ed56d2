"""The typer application, the options every command shares, and error translation.

Errors become a message and an exit code here and nowhere else.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from migrator import __version__
from migrator.errors import EXIT_INTERRUPTED, MigratorError, OutputError
from migrator.render.escape import terminal, terminal_block
from migrator.render.words import readable
from migrator.settings import ProjectOptions

app = typer.Typer(
    name="migrator",
    help="Find, explain and resolve Django migration conflicts; draw migration graphs.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SettingsOption = Annotated[
    str | None,
    typer.Option(
        "--settings",
        metavar="MODULE",
        help="Settings module, e.g. 'shop.settings'. Default: DJANGO_SETTINGS_MODULE, then "
        "manage.py, then [tool.migrator] settings in pyproject.toml.",
    ),
]
PythonPathOption = Annotated[
    list[str] | None,
    typer.Option(
        "--pythonpath", metavar="DIR", help="A folder to add to the Python path (repeatable)."
    ),
]
StaticOption = Annotated[
    bool,
    typer.Option(
        "--static",
        help="Read migration files without importing them or the settings (no project code runs).",
    ),
]
TracebackOption = Annotated[
    bool, typer.Option("--traceback", help="Show the full traceback of an error.")
]
AppLabelsArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="APP_LABEL", help="Only these apps (default: all).", show_default=False),
]


class Format(StrEnum):
    """Every output format a command may offer; each command names the ones it has."""

    text = "text"
    json = "json"
    github = "github"
    markdown = "markdown"
    gitlab = "gitlab"
    # migrator graph's pictures
    svg = "svg"
    png = "png"
    pdf = "pdf"
    dot = "dot"
    mmd = "mmd"
    html = "html"


def format_option(
    *formats: Format, aliases: dict[str, Format] | None = None, default: str = ""
) -> Any:
    """The one ``--format/-f`` option, offering ``formats`` (the first is the default;
    a command may also leave it ``None``, e.g. to follow a file's extension).

    The value a command receives is a :class:`Format`; any other word is a usage error
    (exit 2) that lists the formats this command has. ``aliases`` are other words for
    some of them (not listed in the help); ``default`` says in the help what leaving it
    out does, when that is not the first format."""
    names = [f.value for f in formats]
    aliases = aliases or {}

    def convert(value: str | None) -> Format | None:
        if value is None:
            return None
        if value in aliases:
            return aliases[value]
        if value not in names:
            # click's own words for a bad choice, as every command said them before
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, names))}.")
        return Format(value)

    described = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return typer.Option(
        "--format",
        "-f",
        metavar="|".join(names),
        callback=convert,
        help=f"Output format: {described}." + (f" Default: {default}." if default else ""),
    )


def project_options(
    settings: str | None, pythonpath: list[str] | None, static: bool = False
) -> ProjectOptions:
    return ProjectOptions(
        settings=settings, pythonpath=tuple(pythonpath or ()), cwd=Path.cwd(), static=static
    )


def warn(message: str) -> None:
    """A warning for people: the command goes on. One line on stderr, beside the errors."""
    sys.stderr.write(f"migrator: warning: {terminal(message)}\n")


def print_error(error: MigratorError) -> None:
    """The error on stderr: one line (names in it may hold a newline or ``ESC``: they
    show as escapes), and its hint on a second."""
    location = error.location()
    prefix = f"{location}: " if location else ""
    sys.stderr.write(f"migrator: error: {terminal(prefix + error.message)}\n")
    if error.hint:
        sys.stderr.write(f"  hint: {terminal(error.hint)}\n")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, like Ctrl-C's KeyboardInterrupt:
    a write in progress is rolled back the same way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGTERM (``timeout``, CI cancellation, ``docker stop``) and SIGHUP (a closed
    terminal) stop migrator the way Ctrl-C does: roll back, then exit 130."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) == signal.SIG_DFL:  # SIG_IGN (nohup) stays ignored
            try:
                signal.signal(signum, _raise_interrupted)
            except ValueError:
                return  # not the main thread (embedded): leave signals to the host


@contextmanager
def handle_errors(traceback: bool) -> Iterator[None]:
    """Turn expected errors into one message and their exit code."""
    try:
        yield
    except MigratorError as error:
        if traceback:
            # the full stack, then the same message and exit code as without it
            import traceback as tb

            tb.print_exc()
        print_error(error)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt as interrupt:
        report_interrupt(interrupt)
        # One code whichever signal stopped it: scripts and CI test one number.
        raise typer.Exit(EXIT_INTERRUPTED) from None


_interrupt_reported = False


def new_run() -> None:
    """A new command in this process (``call_command`` runs several): no interrupt said
    yet, no write kept yet (the write layer is only asked when it was imported)."""
    global _interrupt_reported
    _interrupt_reported = False
    plan = sys.modules.get("migrator.write.plan")
    if plan is not None:
        plan.new_run()


def interrupt_reported() -> bool:
    """Whether a command already said it was interrupted."""
    return _interrupt_reported


def report_interrupt(interrupt: KeyboardInterrupt) -> None:
    """One line on stderr naming the signal (and what was rolled back, as notes)."""
    global _interrupt_reported
    _interrupt_reported = True
    name = signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name
    sys.stderr.write(f"migrator: interrupted ({name})\n")
    notes = list(getattr(interrupt, "__notes__", ()))
    plan = sys.modules.get("migrator.write.plan")  # not imported: nothing was written
    if not notes and plan is not None and plan.kept_this_run():
        # after the write was kept (while the run said what it did): nothing undone
        notes.append(plan.KEPT_NOTE)
    for note in notes:
        sys.stderr.write(f"  {note}\n")


class GuardedStdout:
    """``sys.stdout`` for a run: failing to write it (a pipe closed by ``head``, a full
    disk, ``>&-``) is an :class:`OutputError`, said once on stderr, not a traceback.

    Once it failed, file descriptor 1 points at ``/dev/null``, so the interpreter's last
    flush of what is still buffered does not fail again (and turn the exit code to 120).
    """

    def __init__(self, stream) -> None:
        self._stream = stream
        #: Why standard output failed, once it did: every later write fails the same
        #: way (a caller that swallowed the first failure, as click's check of the
        #: stream's type does, cannot go on printing into ``/dev/null``).
        self.failure: OutputError | None = None

    def write(self, text: str) -> int:
        if self.failure is not None:
            raise OutputError(str(self.failure))
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                # A name the terminal's encoding cannot show (a file name that is not
                # UTF-8, in a strict locale): shown as the terminal would, not an error.
                encoding = getattr(self._stream, "encoding", None) or "utf-8"
                return self._stream.write(
                    readable(text).encode(encoding, "replace").decode(encoding)
                )
        except (OSError, ValueError, AttributeError) as exc:
            raise self._broken(exc) from None

    def flush(self) -> None:
        if self.failure is not None:
            return  # said once; the interpreter's last flush must not fail again
        try:
            if self._stream is not None:
                self._stream.flush()
        except (OSError, ValueError) as exc:
            raise self._broken(exc) from None

    def write_bytes(self, data: bytes) -> None:
        """Binary output (a PNG on stdout), past the text layer, as guarded as text."""
        try:
            self._stream.flush()
            self._stream.buffer.write(data)
            self._stream.buffer.flush()
        except (OSError, ValueError, AttributeError) as exc:
            raise self._broken(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _broken(self, exc: BaseException) -> OutputError:
        stream, self._stream = self._stream, open(os.devnull, "w")  # noqa: SIM115
        if stream is not None:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass
        reason = "it is closed" if stream is None else (getattr(exc, "strerror", None) or exc)
        self.failure = OutputError(f"cannot write to standard output: {reason}")
        return self.failure


def recover_interrupted(cwd: Path) -> None:
    """Before a command writes: roll back a run that was killed while it wrote, and say
    so (stderr). A run still going in the same project stops this one (exit 1)."""
    from migrator.recover import recover_project

    recovery = recover_project(cwd)
    if recovery is not None:
        sys.stderr.write(f"migrator: {terminal(recovery_words(recovery))}\n")


def recovery_words(recovery) -> str:
    """One line: which run was interrupted and what recovering it did."""
    from migrator.write.plan import undone_words

    run = f"{recovery.command or 'a write'} (pid {recovery.pid}, started {recovery.started})"
    if recovery.finished:
        words = f"an interrupted run of {run} had finished writing; cleaned up after it"
    else:
        words = f"an interrupted run of {run} was found and rolled back: " + undone_words(
            recovery.undone
        )
    if recovery.git_lock is not None and recovery.git_lock_removed:
        words += f"; removed {recovery.git_lock}, left by its own killed `git mv`"
    elif recovery.git_lock is not None:
        words += (
            f"; git's index is still locked by {recovery.git_lock}, which this run cannot "
            "prove it left: if no git command is running, remove it"
        )
    return words


def write(text: str, *, human: bool = False) -> None:
    """Write to standard output. Machine and human output alike go out as plain text (no
    Rich markup); the renderers escaped every name, and nothing that is not printable (but
    line breaks and tabs) gets through here either, whatever forgot to. ``human`` output
    (``--format text``) is then coloured on a terminal (see :mod:`migrator.cli.colour`)."""
    text = terminal_block(text)
    if human:
        from migrator.cli.colour import coloured, wants_colour

        if wants_colour():
            text = coloured(text)
    sys.stdout.write(text)
    sys.stdout.flush()


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (not when it is closed: ``>&-``)."""
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def write_bytes(data: bytes) -> None:
    """Bytes on stdout as they are (an image piped to a file or a viewer)."""
    if isinstance(sys.stdout, GuardedStdout):
        sys.stdout.write_bytes(data)
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _version(value: bool) -> None:
    if value:
        write(f"migrator {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Find, explain and resolve Django migration conflicts; draw migration graphs."""
    install_signal_handlers()
