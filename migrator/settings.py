"""Find the project's Django settings and read ``[tool.migrator]``: imports no Django.

Settings are found in this order, like Django's own tools would:

1. ``--settings``;
2. the ``DJANGO_SETTINGS_MODULE`` environment variable;
3. the ``DJANGO_SETTINGS_MODULE`` default set by ``manage.py`` in the current folder;
4. ``[tool.migrator] settings`` in the nearest ``pyproject.toml``;
5. the default set by the nearest ``manage.py`` in a parent folder (run from inside
   the project, ``apps/shop/``, as from its root), not above the git work tree's root.

The project root (the folder of ``manage.py`` or ``pyproject.toml``, else the current
folder) goes first on ``sys.path``, as ``python manage.py`` would put it, and every
``--pythonpath`` before it.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from migrator.errors import ConfigurationError

SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"


@dataclass(frozen=True)
class ProjectOptions:
    """What the command line says about where the project is."""

    settings: str | None = None
    pythonpath: tuple[str, ...] = ()
    cwd: Path = field(default_factory=Path.cwd)
    static: bool = False  # read migration files without importing project code


@dataclass(frozen=True)
class SettingsChoice:
    """The settings module to boot, where it was found, and the project root."""

    module: str
    source: str
    root: Path
    pythonpath: tuple[Path, ...] = ()


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def find_parent_manage_py(start: Path) -> Path | None:
    """The nearest ``manage.py`` in a parent of ``start``, looking no higher than the
    root of the git work tree ``start`` is in (a folder with ``.git``)."""
    if (start / ".git").exists():
        return None
    for folder in start.parents:
        candidate = folder / "manage.py"
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def project_folder(cwd: Path) -> Path:
    """The project's own folder as far as files tell (``manage.py`` here or in a parent,
    else the nearest ``pyproject.toml``'s folder, else ``cwd``): where a run started
    anywhere inside the project keeps what it keeps beside the project."""
    cwd = cwd.resolve()
    if (cwd / "manage.py").is_file():
        return cwd
    manage_py = find_parent_manage_py(cwd)
    if manage_py is not None:
        return manage_py.parent
    pyproject = find_pyproject(cwd)
    return pyproject.parent if pyproject is not None else cwd


def read_tool_config(pyproject: Path | None) -> dict:
    """The ``[tool.migrator]`` table of a ``pyproject.toml`` (empty when absent)."""
    if pyproject is None:
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # TOMLDecodeError has ``lineno`` from Python 3.14 only; before, the line is in
        # the message ("... (at line 2, column 29)").
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise ConfigurationError(
            f"cannot read {pyproject.name}: {exc}",
            path=pyproject,
            line=line,
            hint="fix the TOML syntax, or pass --settings",
        ) from exc
    tool = data.get("tool", {}).get("migrator", {})
    return tool if isinstance(tool, dict) else {}


PROJECT_APPS = "project-apps"


def project_apps(cwd: Path) -> tuple[str, ...]:
    """``[tool.migrator] project-apps``: installed apps (labels or module names) to treat
    as the project's own although they are installed packages (a product used from its
    installed copy), so that ``graph`` draws them and ``squash`` considers them."""
    pyproject = find_pyproject(cwd.resolve())
    value = read_tool_config(pyproject).get(PROJECT_APPS, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        assert pyproject is not None  # a value was read from it
        raise ConfigurationError(
            f"[tool.migrator] {PROJECT_APPS} must be a list of app labels or module names, "
            f"not {value!r}",
            path=pyproject,
            line=line_of(pyproject, PROJECT_APPS),
            hint=f'e.g. {PROJECT_APPS} = ["shop", "acme.billing"]',
        )
    return tuple(value)


def line_of(path: Path, key: str) -> int | None:
    """The first line of ``path`` that sets ``key`` (for the error's location)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith((key, f'"{key}"')):
            return number
    return None


def settings_from_manage_py(manage_py: Path) -> str | None:
    """The default ``DJANGO_SETTINGS_MODULE`` that ``manage.py`` sets, if it sets one."""
    try:
        # bytes, as Python reads a script: a UTF-8 BOM or a coding cookie is honoured
        tree = ast.parse(manage_py.read_bytes(), filename=str(manage_py))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in ast.walk(tree):
        # os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and isinstance(name := node.args[0], ast.Constant)
            and isinstance(value := node.args[1], ast.Constant)
            and name.value == SETTINGS_ENV
            and isinstance(value.value, str)
        ):
            return value.value
    return None


def choose_settings(options: ProjectOptions) -> SettingsChoice:
    """Decide which settings module to boot, or explain why none was found."""
    cwd = options.cwd.resolve()
    pythonpath = tuple((cwd / p).resolve() for p in options.pythonpath)
    pyproject = find_pyproject(cwd)
    tool = read_tool_config(pyproject)
    extra = tool.get("pythonpath", [])
    if isinstance(extra, str):
        extra = [extra]
    if pyproject is not None:
        pythonpath += tuple((pyproject.parent / p).resolve() for p in extra)

    if options.settings:
        return SettingsChoice(options.settings, "--settings", cwd, pythonpath)
    if os.environ.get(SETTINGS_ENV):
        return SettingsChoice(os.environ[SETTINGS_ENV], SETTINGS_ENV, cwd, pythonpath)
    manage_py = cwd / "manage.py"
    if manage_py.is_file():
        module = settings_from_manage_py(manage_py)
        if module:
            return SettingsChoice(module, "manage.py", cwd, pythonpath)
    if pyproject is not None and isinstance(tool.get("settings"), str):
        return SettingsChoice(tool["settings"], "pyproject.toml", pyproject.parent, pythonpath)
    above = find_parent_manage_py(cwd)
    if above is not None:
        module = settings_from_manage_py(above)
        if module:
            return SettingsChoice(module, "manage.py", above.parent, pythonpath)
    raise ConfigurationError(
        "no Django settings found",
        hint=(
            "pass --settings, set DJANGO_SETTINGS_MODULE, run from the folder with manage.py, "
            "or set [tool.migrator] settings in pyproject.toml"
        ),
    )


def package_without_apps(
    module: str, path: Path | str | None, submodule: bool
) -> ConfigurationError:
    """The settings module named is a package whose ``__init__`` sets no
    ``INSTALLED_APPS`` (``--settings project`` for ``project.settings``): Django would
    boot it with no apps at all and find nothing, which is no answer."""
    hint = (
        f"did you mean {module + '.settings'!r}? Name the settings module itself"
        if submodule
        else "name the settings module itself (the file that sets INSTALLED_APPS)"
    )
    return ConfigurationError(
        f"settings module {module!r} is a package that sets no INSTALLED_APPS",
        path=path,
        hint=hint,
    )
