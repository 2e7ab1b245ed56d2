"""Boot Django with the project's settings: the one owner of Django's global state.

Only this module calls ``django.setup()`` (once per process), configures settings, fills
the app registry, puts the project on ``sys.path``, sets ``DJANGO_SETTINGS_MODULE`` and
points ``MIGRATION_MODULES`` elsewhere; :mod:`migrator.settings` decides which settings
to boot without importing Django.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import NoReturn

from migrator.errors import AppsError, ConfigurationError
from migrator.settings import (
    SETTINGS_ENV,
    ProjectOptions,
    SettingsChoice,
    choose_settings,
    package_without_apps,
)


def _exception_location(
    exc: BaseException, folders: tuple[Path, ...]
) -> tuple[str | None, int | None]:
    """The file and line of the project's own code (under ``folders``) an exception
    points at, or ``(None, None)`` when none of it is in the stack."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        inside = any(_is_within(frame.filename, folder) for folder in folders)
        if inside and "site-packages" not in frame.filename:
            return frame.filename, frame.lineno
    return None, None


def _is_within(filename: str, folder: Path) -> bool:
    if not Path(filename).is_absolute():  # "<frozen importlib._bootstrap>" and the like
        return False
    try:
        return Path(filename).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def _prepare_sys_path(choice: SettingsChoice) -> None:
    for entry in (str(choice.root), *map(str, reversed(choice.pythonpath))):
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)


_booted: tuple[ProjectOptions, SettingsChoice] | None = None


def setup_django(options: ProjectOptions) -> SettingsChoice:
    """Find the settings, put the project on ``sys.path`` and run ``django.setup()``;
    again with the same options, the settings already booted."""
    global _booted
    if _booted is not None and _booted[0] == options:
        return _booted[1]
    choice = choose_settings(options)
    if running_settings() == choice.module:
        # Already set up by the process migrator runs in (``manage.py migrator``): its
        # settings, app registry and ``sys.path`` are the project's; boot nothing again.
        _booted = (options, choice)
        return choice
    _prepare_sys_path(choice)
    os.environ[SETTINGS_ENV] = choice.module
    with project_code(choice):
        _import_settings(choice)
        _setup(choice)
    _booted = (options, choice)
    return choice


def running_settings() -> str | None:
    """The settings module of a Django that this process already set up (``manage.py``
    did, or migrator did), or ``None`` when Django is not set up on a settings module."""
    if "django.apps" not in sys.modules:
        return None
    from django.apps import apps
    from django.conf import settings

    if not (apps.ready and settings.configured):
        return None
    return getattr(settings, "SETTINGS_MODULE", None) or None


class _InterpreterExit(BaseException):
    """``os._exit`` called by the project's code while migrator boots it."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


def _refuse_os_exit(code: int) -> NoReturn:
    raise _InterpreterExit(code)


@contextmanager
def project_code(choice: SettingsChoice) -> Iterator[None]:
    """Around the project's own code (settings, ``AppConfig.ready()``, migration
    modules): what it prints goes to stderr, never into migrator's machine output on
    stdout (``check --format json``, the verification of a write); and leaving the
    interpreter (``sys.exit``, ``os._exit``) is a configuration error, exit 2, not a
    silent exit that would pass for "no conflicts"."""
    with _stdout_to_stderr():
        real_exit = os._exit
        os._exit = _refuse_os_exit  # type: ignore[assignment]
        try:
            yield
        except (SystemExit, _InterpreterExit) as exc:
            raise _exit_error(exc, choice) from None
        finally:
            os._exit = real_exit


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """``sys.stdout`` and file descriptor 1 both point at stderr within the block."""
    with suppress(OSError, ValueError, AttributeError):  # a closed stdout: nothing to flush
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # stdout is closed: only Python's own stream can be redirected
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _exit_error(exc: SystemExit | _InterpreterExit, choice: SettingsChoice) -> ConfigurationError:
    how = "os._exit" if isinstance(exc, _InterpreterExit) else "SystemExit"
    path, line = _exception_location(exc, (choice.root, *choice.pythonpath))
    if path is None:
        path = getattr(sys.modules.get(choice.module), "__file__", None)
    return ConfigurationError(
        f"the project's code exited the interpreter, {how}({exc.code!r}), while "
        f"migrator loaded it with settings {choice.module!r}",
        path=path,
        line=line,
        hint="settings, AppConfig.ready() and migration modules must not exit when "
        'imported; guard that code (`if __name__ == "__main__":`)',
    )


def _import_settings(choice: SettingsChoice) -> None:
    try:
        import_module(choice.module)
    except ModuleNotFoundError as exc:
        if exc.name and choice.module.startswith(exc.name):
            raise ConfigurationError(
                f"cannot import settings module {choice.module!r} (from {choice.source}): "
                f"{exc.msg}",
                hint="run from the project folder or pass --pythonpath with the folder that "
                "contains the settings package",
            ) from exc
        raise _setup_error(exc, choice, "cannot import settings module") from exc
    except Exception as exc:
        raise _setup_error(exc, choice, "cannot import settings module") from exc
    module = sys.modules[choice.module]
    if hasattr(module, "__path__") and not hasattr(module, "INSTALLED_APPS"):
        try:
            submodule = find_spec(f"{choice.module}.settings") is not None
        except (ImportError, ValueError):
            submodule = False
        raise package_without_apps(choice.module, getattr(module, "__file__", None), submodule)


def _setup(choice: SettingsChoice) -> None:
    import django

    try:
        django.setup()
    except Exception as exc:
        raise _setup_error(exc, choice, "cannot set up Django", AppsError) from exc


def setup_static() -> None:
    """Django for ``--static``: its default settings, so nothing static mode touches can
    import the project's settings module through ``DJANGO_SETTINGS_MODULE``; and a
    ready, empty app registry, which model states of relation fields need (they only
    ever name other models by string)."""
    from django.apps import apps
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    if not apps.ready:
        apps.populate([])


def static_time_zone(values: dict, unknown: set[str], read: bool) -> None:
    """The process time zone Django's settings would set (``TIME_ZONE``, Django's default
    under the project's), so names built from the clock (a merge migration's
    timestamp) are the ones Django mode gives. ``values``/``unknown``/``read``: the
    settings as static mode read them; a zone it cannot know leaves the clock alone."""
    from django.conf import global_settings

    if not read or "*" in unknown or "TIME_ZONE" in unknown:
        return
    zone = values.get("TIME_ZONE", global_settings.TIME_ZONE)
    if not isinstance(zone, str) or not zone or not hasattr(time, "tzset"):
        return
    # as django.conf.Settings does (a zone it does not know is its error, not ours)
    root = Path("/usr/share/zoneinfo")
    if root.exists() and not root.joinpath(*zone.split("/")).exists():
        return
    os.environ["TZ"] = zone
    time.tzset()


@contextmanager
def migration_modules(modules: dict[str, str], folder: Path) -> Iterator[None]:
    """Within the block, Django imports the migrations of each app label of ``modules``
    from the package named there, found in ``folder`` (put first on ``sys.path``)."""
    from django.conf import settings

    before = getattr(settings, "MIGRATION_MODULES", {})
    settings.MIGRATION_MODULES = {**before, **modules}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        settings.MIGRATION_MODULES = before


def _setup_error(
    exc: BaseException,
    choice: SettingsChoice,
    what: str,
    kind: type[ConfigurationError] = ConfigurationError,
) -> ConfigurationError:
    path, line = _exception_location(exc, (choice.root, *choice.pythonpath))
    if path is None:
        # Raised from Django or the import machinery (e.g. an app in INSTALLED_APPS that
        # does not exist): the settings file is where to look, not a frozen frame.
        path = getattr(sys.modules.get(choice.module), "__file__", None)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return kind(
        f"{what} {choice.module!r}: {type(exc).__name__}: {detail}",
        path=path,
        line=line,
        hint="fix the error above; run with --traceback for the full stack",
    )
