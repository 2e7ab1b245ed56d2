"""Boot Django with the project's settings: the one owner of Django's global state.

Only this module calls ``django.setup()``, puts the project on ``sys.path`` and sets
``DJANGO_SETTINGS_MODULE``; :mod:`migrator.settings` decides which settings to boot
without importing Django.
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib import import_module
from pathlib import Path

from migrator.errors import ConfigurationError
from migrator.settings import SETTINGS_ENV, ProjectOptions, SettingsChoice, choose_settings


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


def setup_django(options: ProjectOptions) -> SettingsChoice:
    """Find the settings, put the project on ``sys.path`` and run ``django.setup()``."""
    choice = choose_settings(options)
    _prepare_sys_path(choice)
    os.environ[SETTINGS_ENV] = choice.module
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

    import django

    try:
        django.setup()
    except Exception as exc:
        raise _setup_error(exc, choice, "cannot set up Django") from exc
    return choice


def _setup_error(exc: BaseException, choice: SettingsChoice, what: str) -> ConfigurationError:
    path, line = _exception_location(exc, (choice.root, *choice.pythonpath))
    if path is None:
        # Raised from Django or the import machinery (e.g. an app in INSTALLED_APPS that
        # does not exist): the settings file is where to look, not a frozen frame.
        path = getattr(sys.modules.get(choice.module), "__file__", None)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return ConfigurationError(
        f"{what} {choice.module!r}: {type(exc).__name__}: {detail}",
        path=path,
        line=line,
        hint="fix the error above; run with --traceback for the full stack",
    )
