"""Find the installed apps and their migration packages without importing anything.

Two sources, best first:

1. the settings module, read with :mod:`ast` (``INSTALLED_APPS``, ``MIGRATION_MODULES``,
   swappable models such as ``AUTH_USER_MODEL``), following ``from .base import *``;
   each entry is located on the Python path (the project root, ``--pythonpath``,
   ``[tool.migrator] pythonpath``, then the interpreter's own path, for Django's contrib
   apps and installed packages) and its ``apps.py`` read for the label, as Django does;
2. otherwise ``[tool.migrator.apps]`` (label -> migrations package folder), or else a
   scan of the source tree for ``<app>/migrations/__init__.py``; the label comes from
   ``apps.py`` (``label = ...``) or the folder name. Apps referenced by a dependency
   but not found (``auth``, ``contenttypes``, ...) are looked up among Django's contrib
   apps.

``[tool.migrator.swappable]`` (setting -> ``"app.Model"``) overrides the settings file.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from migrator.errors import ConfigurationError, MigratorError
from migrator.graph import is_local_app
from migrator.settings import (
    ProjectOptions,
    choose_settings,
    find_pyproject,
    package_without_apps,
    read_tool_config,
)
from migrator.sourcefiles import reference_line

# Folders never scanned for apps: VCS, caches, virtualenvs, build output, node.
_SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    "build",
    "dist",
    "site-packages",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}
SWAPPABLE_DEFAULTS = {"AUTH_USER_MODEL": "auth.User"}
T = TypeVar("T")

# absolute path -> source bytes (None: deleted), laid over what is on disk
Overlay = Mapping[Path, "bytes | None"]


@dataclass
class StaticApp:
    """An installed app as Django's registry would see it."""

    label: str
    name: str
    path: str | None
    migrations: Path | None  # the migrations package folder, None when unmigrated
    local: bool
    migrations_module: str | None = None  # its dotted name, when known


@dataclass
class StaticProject:
    """What static mode knows about the project."""

    root: Path
    apps: list[StaticApp]  # in Django's loading order
    settings: dict[str, str]  # swappable settings: name -> "app.Model"
    settings_module: str | None = None
    settings_source: str = "static"
    search_path: list[str] = field(default_factory=list)
    installed_known: bool = False  # INSTALLED_APPS was read from the settings
    #: The settings module's literal values (Django's defaults not included), the names
    #: it sets that static mode cannot read (``"*"``: any name), and whether it was read.
    settings_values: dict[str, object] = field(default_factory=dict)
    settings_unknown: set[str] = field(default_factory=set)
    settings_read: bool = False


def discover(options: ProjectOptions) -> StaticProject:
    """Locate the apps of the project in ``options.cwd``, never importing project code."""
    cwd = options.cwd.resolve()
    pyproject = find_pyproject(cwd)
    tool = read_tool_config(pyproject)
    try:
        choice = choose_settings(options)
    except ConfigurationError:
        choice = None
    root = choice.root if choice else (pyproject.parent if pyproject and tool else cwd)
    extra = [str(p) for p in choice.pythonpath] if choice else []
    search_path = [*extra, str(root), *(p for p in sys.path if p and Path(p).is_dir())]
    values: dict[str, object] = {}
    unknown: set[str] = set()
    settings_file = find_module(choice.module, search_path) if choice is not None else None
    if choice is not None and settings_file is None and choice.source == "--settings":
        # Asked for by name: ignoring it would judge some other set of apps.
        raise ConfigurationError(
            f"cannot import settings module {choice.module!r} (from --settings): "
            f"No module named {choice.module!r}",
            hint="run from the project folder or pass --pythonpath with the folder that "
            "contains the settings package",
        )
    if settings_file is not None:
        values = read_settings(settings_file, search_path, unknown=unknown)
        if (
            choice is not None
            and settings_file.name == "__init__.py"
            and "INSTALLED_APPS" not in values
            and not unknown & {"INSTALLED_APPS", "*"}
        ):
            submodule = find_module(f"{choice.module}.settings", search_path) is not None
            raise package_without_apps(choice.module, settings_file, submodule)
    swappable = dict(SWAPPABLE_DEFAULTS)
    swappable.update({k: v for k, v in values.items() if isinstance(v, str) and _is_model(v)})
    configured = tool.get("swappable", {})
    if isinstance(configured, dict):
        swappable.update({k: v for k, v in configured.items() if isinstance(v, str)})
    project = StaticProject(
        root,
        [],
        swappable,
        choice.module if choice else None,
        choice.source if choice else "static",
        search_path,
        settings_values=values,
        settings_unknown=unknown,
        settings_read=settings_file is not None,
    )
    installed = values.get("INSTALLED_APPS")
    tool_apps = tool.get("apps")
    if isinstance(tool_apps, dict) and pyproject is not None:
        project.apps = _configured_apps(tool_apps, pyproject.parent, root)
    elif isinstance(installed, (list, tuple)) and all(isinstance(a, str) for a in installed):
        modules = values.get("MIGRATION_MODULES", {})
        modules = modules if isinstance(modules, dict) else {}
        project.apps = [_installed_app(entry, modules, search_path, root) for entry in installed]
        project.installed_known = True
        assert choice is not None  # values were read from the settings module it names
        _refuse_invalid_labels(project.apps, choice.module, settings_file)
        _refuse_duplicate_labels(project.apps, choice.module, settings_file)
        _refuse_missing_migration_modules(project.apps, modules, search_path, settings_file)
    else:
        project.apps = _scan(root)
    return project


def _refuse_invalid_labels(apps: list[StaticApp], module: str, settings_file) -> None:
    """Django's ``AppConfig`` refuses a label that is not a Python identifier; so does
    static mode, with Django's words: such a label (``apps.py`` can say anything) is
    never drawn, printed or passed on as an app."""
    for app in apps:
        if not app.label.isidentifier():
            raise ConfigurationError(
                f"cannot set up Django {module!r}: ImproperlyConfigured: The app label "
                f"{app.label!r} is not a valid Python identifier.",
                path=settings_file,  # where Django mode points too
                hint="give the app a label made of letters, digits and underscores "
                "(AppConfig.label in apps.py)",
            )


def _refuse_duplicate_labels(apps: list[StaticApp], module: str, settings_file) -> None:
    """Django's app registry refuses INSTALLED_APPS with a label twice; so does static
    mode, with Django's words, rather than read one app's migrations as the other's."""
    labels = [app.label for app in apps]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigurationError(
            f"cannot set up Django {module!r}: ImproperlyConfigured: Application labels "
            f"aren't unique, duplicates: {', '.join(duplicates)}",
            path=settings_file,
            hint="give each app a label of its own (AppConfig.label in apps.py)",
        )


def _refuse_missing_migration_modules(
    apps: list[StaticApp], modules: dict, search_path: list[str], settings_file
) -> None:
    """MIGRATION_MODULES naming a module that does not exist: Django mode's error (the
    import fails, and ``migrate`` stops on it), with the same words."""
    for app in apps:
        module_name = modules.get(app.label)
        if not isinstance(module_name, str) or app.migrations is not None:
            continue
        missing = _first_missing(module_name, search_path)
        if missing is not None:
            raise ConfigurationError(
                f"MIGRATION_MODULES names {module_name!r} for app {app.label!r}, which "
                f"cannot be imported: No module named {missing!r}",
                path=settings_file,
                line=reference_line(settings_file, module_name),
                hint="fix the module path in MIGRATION_MODULES, or map the app to None if "
                "it has no migrations",
            )


def _first_missing(dotted: str, search_path: list[str]) -> str | None:
    """The first of ``dotted`` and its parents that no file or folder provides (the name
    an import's ModuleNotFoundError gives), or None when it can be found."""
    parts = dotted.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if not find_package(prefix, search_path) and find_module(prefix, search_path) is None:
            return prefix
    return None


def migration_entries_not_files(app: StaticApp) -> list[str]:
    """Names of ``*.py`` entries in the migrations folder that are not files (a broken
    symlink, a folder): Django's loader lists them and fails to import them."""
    if app.migrations is None:
        return []
    try:
        with os.scandir(app.migrations) as entries:
            names = [
                entry.name[:-3]
                for entry in entries
                if entry.name.endswith(".py") and not entry.is_file()
            ]
    except OSError:
        return []
    return sorted(n for n in names if n and "." not in n and n[0] not in "_~")


def _is_model(value: str) -> bool:
    app, dot, model = value.partition(".")
    return bool(dot) and app.isidentifier() and model.isidentifier()


# -- locating modules without importing them -----------------------------------------


def _is_file(path: Path) -> bool:
    """Like Python's import system: a file it cannot stat (a folder without read or
    search permission) is not there, never an error."""
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def find_package(dotted: str, search_path: list[str]) -> list[Path]:
    """The folders of package ``dotted`` (several for a namespace package), or []."""
    folders = [Path(p) for p in search_path]
    for part in dotted.split("."):
        found = [folder / part for folder in folders if _is_dir(folder / part)]
        regular = [f for f in found if _is_file(f / "__init__.py")]
        folders = regular[:1] or found
        if not folders:
            return []
    return folders


def find_module(dotted: str, search_path: list[str]) -> Path | None:
    """The source file of module ``dotted`` (a package's ``__init__.py``), or None."""
    parent, _, last = dotted.rpartition(".")
    folders = find_package(parent, search_path) if parent else [Path(p) for p in search_path]
    for folder in folders:
        if _is_file(folder / f"{last}.py"):
            return folder / f"{last}.py"
        if _is_file(folder / last / "__init__.py"):
            return folder / last / "__init__.py"
    return None


# -- the settings module, read with ast ----------------------------------------------


def read_settings(
    path: Path,
    search_path: list[str],
    _seen: set[Path] | None = None,
    unknown: set[str] | None = None,
) -> dict:
    """Top-level settings with literal values; star imports followed, in order.

    ``unknown`` (when given) collects the names whose value this cannot know (assigned
    in an ``if``, a ``try``, a loop, by an import...), and ``"*"`` when a star import
    could not be followed (then any name may differ)."""
    seen = _seen if _seen is not None else set()
    unknown = unknown if unknown is not None else set()
    if path in seen:
        return {}
    seen.add(path)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        unknown.add("*")
        return {}
    values: dict[str, object] = {}
    package = _package_of(path, search_path)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            dotted = _absolute(node.module or "", node.level, package)
            module_file = find_module(dotted, search_path) if dotted else None
            if module_file is not None:
                found = read_settings(module_file, search_path, seen, unknown)
                values.update(found)
                unknown.difference_update(found)
            else:
                unknown.add("*")
        elif isinstance(node, ast.Assign):
            value = _literal(node.value, values)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if value is _UNKNOWN:
                        values.pop(target.id, None)
                        unknown.add(target.id)
                    else:
                        values[target.id] = value
                        unknown.discard(target.id)
                else:
                    unknown.update(_names_in(target))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            added = _literal(node.value, values)
            if isinstance(node.op, ast.Add) and name in values and added is not _UNKNOWN:
                current: Any = values[name]  # any literal: a + it refuses raises TypeError
                try:
                    values[name] = current + type(current)(added)
                except (TypeError, ValueError):  # int("x"), dict(["abc"]): unreadable
                    values.pop(name, None)
                    unknown.add(name)
            else:
                values.pop(name, None)
                unknown.add(name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            unknown.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            unknown.add(node.name)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            # an if, a try, a loop, a call: whatever it mentions may have changed
            unknown.update(_names_in(node))
            if any(
                isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
                for n in ast.walk(node)
            ):
                unknown.add("*")
    return values


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


_UNKNOWN = object()


def _literal(node: ast.expr, known: dict):
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, known), _literal(node.right, known)
        if _UNKNOWN in (left, right):
            return _UNKNOWN
        try:
            return left + type(left)(right)
        except TypeError:
            return _UNKNOWN
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


def _package_of(path: Path, search_path: list[str]) -> str:
    for entry in search_path:
        try:
            rel = path.parent.relative_to(entry)
        except ValueError:
            continue
        return ".".join(rel.parts)
    return ""


def _absolute(module: str, level: int, package: str) -> str:
    if not level:
        return module
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, module] if module else base)


# -- apps ---------------------------------------------------------------------------------


_ConfigClasses = dict[str, tuple[list[ast.expr], dict[str, object]]]


def _app_config(
    apps_py: Path, class_name: str | None = None, search_path: list[str] | None = None
) -> dict[str, object]:
    """``name``, ``label``, ``default`` of the app config class Django would choose, with
    what it inherits from base classes of the same module or of modules it imports from
    (found on ``search_path``)."""
    reader = _ConfigReader(search_path or [])
    classes = reader.classes(apps_py)
    if class_name is not None:
        return reader.attributes(apps_py, class_name) if class_name in classes else {}
    # Django: the only AppConfig subclass not marked default = False, else the one
    # marked default = True.
    resolved = [reader.attributes(apps_py, name) for name in classes]
    candidates = [a for a in resolved if a.get("default", True)]
    if len(candidates) == 1:
        return candidates[0]
    marked = [a for a in resolved if a.get("default", False) is True]
    return marked[0] if len(marked) == 1 else {}


class _ConfigReader:
    """App config classes read with ast, bases followed through imports."""

    def __init__(self, search_path: list[str]) -> None:
        self.search_path = search_path
        self._modules: dict[Path, tuple[_ConfigClasses, dict[str, str]]] = {}

    def _read(self, path: Path) -> tuple[_ConfigClasses, dict[str, str]]:
        if path in self._modules:
            return self._modules[path]
        self._modules[path] = ({}, {})  # an import cycle reads as nothing
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            return self._modules[path]
        classes: _ConfigClasses = {}
        imports: dict[str, str] = {}  # local name -> dotted name it stands for
        package = _package_of(path, self.search_path)  # the package a module is in
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.bases:
                attrs: dict[str, object] = {}
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                        for target in stmt.targets:
                            if isinstance(target, ast.Name):
                                attrs[target.id] = stmt.value.value
                classes[node.name] = (list(node.bases), attrs)
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(node.module or "", node.level, package)
                for alias in node.names:
                    imports[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = alias.name
        self._modules[path] = (classes, imports)
        return classes, imports

    def classes(self, path: Path) -> _ConfigClasses:
        return self._read(path)[0]

    def attributes(self, path: Path, name: str, depth: int = 0) -> dict[str, object]:
        """The class's own attributes over its bases' (left base first, as Python's
        attribute lookup for the single and mixin inheritance app configs use)."""
        classes, imports = self._read(path)
        if name not in classes or depth > 20:
            return {}
        bases, own = classes[name]
        merged: dict[str, object] = {}
        for base in reversed(bases):
            merged.update(self._base(path, base, classes, imports, depth))
        merged.update(own)
        return merged

    def _base(self, path, base: ast.expr, classes, imports, depth: int) -> dict[str, object]:
        dotted = None
        if isinstance(base, ast.Name):
            if base.id in classes:
                return self.attributes(path, base.id, depth + 1)
            dotted = imports.get(base.id)
        elif isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
            module = imports.get(base.value.id)
            dotted = f"{module}.{base.attr}" if module else None
        if not dotted or dotted.startswith("django."):
            return {}  # AppConfig itself, or a class static mode cannot find
        module, _, class_name = dotted.rpartition(".")
        found = find_module(module, self.search_path) if module else None
        return self.attributes(found, class_name, depth + 1) if found else {}


def _installed_app(entry: str, modules: dict, search_path: list[str], root: Path) -> StaticApp:
    folders = find_package(entry, search_path)
    if folders:
        apps_py = folders[0] / "apps.py"
        config = _app_config(apps_py, None, search_path) if _is_file(apps_py) else {}
    else:  # "shop.apps.ShopConfig": the config class in a module
        module, _, class_name = entry.rpartition(".")
        config_file = find_module(module, search_path) if module else None
        config = _app_config(config_file, class_name, search_path) if config_file else {}
    configured_name = config.get("name")
    name = configured_name if isinstance(configured_name, str) else entry
    if not folders:
        folders = find_package(name, search_path)
    configured_label = config.get("label")
    label = configured_label if isinstance(configured_label, str) else name.rpartition(".")[2]
    path = str(folders[0]) if folders else None
    dotted = modules.get(label, f"{name}.migrations")  # None: Django's "not migrated"
    migrations = _migrations_package(dotted, search_path) if dotted else None
    return StaticApp(label, name, path, migrations, is_local_app(path, root, name), dotted)


def _migrations_package(dotted: str, search_path: list[str]) -> Path | None:
    """A regular package (with ``__init__.py``); modules and namespace folders don't count."""
    folders = find_package(dotted, search_path)
    if folders and _is_file(folders[0] / "__init__.py"):
        return folders[0]
    return None


def _label_of(app_dir: Path) -> str:
    apps_py = app_dir / "apps.py"
    label = _app_config(apps_py).get("label") if _is_file(apps_py) else None
    return label if isinstance(label, str) else app_dir.name


def _scan(root: Path) -> list[StaticApp]:
    found: dict[str, StaticApp] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS
            and not d.startswith(".")
            and not (Path(folder) / d / "pyvenv.cfg").exists()
        )
        here = Path(folder)
        if here.name == "migrations" and "__init__.py" in files and here != root:
            app_dir = here.parent
            label = _label_of(app_dir)
            if not label.isidentifier():
                raise ConfigurationError(
                    f"the app label {label!r} is not a valid Python identifier",
                    path=app_dir / "apps.py",
                    hint="Django refuses such a label: give the app one made of letters, "
                    "digits and underscores (AppConfig.label in apps.py)",
                )
            name = ".".join(app_dir.relative_to(root).parts) or app_dir.name
            if label in found:
                raise ConfigurationError(
                    f"two apps have the label {label!r}: {found[label].path} and {app_dir}",
                    hint="Django refuses two installed apps with one label: give one a "
                    "label of its own in apps.py, or list the apps in [tool.migrator.apps]",
                )
            found[label] = StaticApp(label, name, str(app_dir), here, True, f"{name}.migrations")
            dirs[:] = []  # a migrations package holds no apps
    return [found[label] for label in sorted(found)]


def _configured_apps(table: dict, base: Path, root: Path) -> list[StaticApp]:
    apps = []
    for label, folder in sorted(table.items()):
        if not label.isidentifier():
            raise MigratorError(
                f"[tool.migrator.apps] {label!r} is not a valid app label",
                hint="Django's app labels are Python identifiers: letters, digits, underscores",
            )
        if not isinstance(folder, str):
            raise MigratorError(
                f"[tool.migrator.apps] {label!r} must be a folder path",
                hint='e.g. shop = "src/shop/migrations"',
            )
        migrations = (base / folder).resolve()
        if not _is_file(migrations / "__init__.py"):
            raise MigratorError(
                f"[tool.migrator.apps] {label!r}: {folder!r} is not a migrations package",
                hint="point at the folder that holds __init__.py and the migration files",
            )
        app_dir = migrations.parent
        name = (
            ".".join(app_dir.relative_to(root).parts)
            if app_dir.is_relative_to(root)
            else (app_dir.name)
        )
        apps.append(StaticApp(label, name, str(app_dir), migrations, True, f"{name}.migrations"))
    return apps


def contrib_app(label: str, search_path: list[str]) -> StaticApp | None:
    """Django's contrib app with this label, for projects whose settings are unreadable."""
    name = f"django.contrib.{label}"
    folders = find_package(name, search_path)
    if not folders:
        return None
    module = f"{name}.migrations"
    return StaticApp(
        label, name, str(folders[0]), _migrations_package(module, search_path), False, module
    )


def migration_files(app: StaticApp, overlay: Overlay | None = None) -> dict[str, Path]:
    """Migration name -> file, as Django's loader lists them (sorted, no ``_``/``~``).

    Files given in ``overlay`` replace (or, with ``None``, hide) what is on disk."""
    if app.migrations is None:
        return {}
    folder = app.migrations
    found = {name: folder / file for name, file in _python_files(folder).items()}
    for path, source in (overlay or {}).items():
        if path.parent == folder and path.suffix == ".py":
            if source is None:
                found.pop(path.stem, None)
            else:
                found[path.stem] = path
    return _migration_names(found)


def migration_file_paths(app: StaticApp) -> dict[str, str]:
    """:func:`migration_files` without an overlay, each path as a string (10,000 paths
    are made several times faster so)."""
    if app.migrations is None:
        return {}
    folder = str(app.migrations)
    return _migration_names(
        {name: os.path.join(folder, file) for name, file in _python_files(folder).items()}
    )


def _python_files(folder: Path | str) -> dict[str, str]:
    """Module name -> file name of the ``*.py`` files in ``folder``."""
    found = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".py") and entry.is_file():
                    found[entry.name[:-3]] = entry.name
    except OSError:
        pass
    return found


def _migration_names(found: dict[str, T]) -> dict[str, T]:
    """The migrations among modules (name -> file), as Django's loader lists them."""
    return {
        name: found[name]
        for name in sorted(found)
        if name and "." not in name and name[0] not in "_~"
    }
