"""Marker files: django-linear-migrations' ``max_migration.txt``, one per app, beside its
migrations, holding the name of the app's leaf migration and a newline.

Two branches that each add a migration to an app both change that one line, so git
stops the merge with a text conflict instead of letting two leaves in silently.

An app *uses* marker files when its ``max_migration.txt`` exists, or for every one of the
project's own apps with migrations when ``[tool.migrator] max-migration-files = true``
or django-linear-migrations is installed (it expects one in each). ``migrator lock``
writes them; ``merge``, ``rebase`` (``--regenerate`` too) and ``resolve`` keep them
current in the same write; ``check`` reports one that is missing, holds not exactly one
name, names a migration that does not exist, or names one that is not the leaf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migrator import problems as kinds
from migrator.analysis.leaves import leaf_paths, leaves
from migrator.check import GraphFacts
from migrator.graph import AppInfo, installed_apps
from migrator.problems import Problem
from migrator.settings import ProjectOptions, find_pyproject, read_tool_config
from migrator.write.plan import Change, EditFile, NewFile, WritePlan

if TYPE_CHECKING:
    import networkx as nx

MARKER_FILE = "max_migration.txt"
CONFIG_KEY = "max-migration-files"
DLM_APP = "django_linear_migrations"


#: App -> the name and file path of each of its leaves (``leaf_paths``).
Tips = dict[str, tuple[tuple[str, str | None], ...]]


def migrations_folder(graph: nx.DiGraph, app: str) -> Path | None:
    """The folder of an app's migrations (its leaves'), ``None`` when it has none on
    disk."""
    return _folder(leaf_paths(graph).get(app, ()))


def _folder(tips: tuple[tuple[str, str | None], ...]) -> Path | None:
    for _, path in tips:
        if path:
            return Path(path).parent
    return None


def marker_path(graph: nx.DiGraph, app: str) -> Path | None:
    return _marker_path(leaf_paths(graph).get(app, ()))


def _marker_path(tips: tuple[tuple[str, str | None], ...]) -> Path | None:
    folder = _folder(tips)
    return None if folder is None else folder / MARKER_FILE


def marker_names(text: str) -> list[str]:
    """The names a marker file holds: its non-blank lines, stripped (as
    django-linear-migrations reads it)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def uses_dlm(graph: nx.DiGraph) -> bool:
    """Whether django-linear-migrations is installed."""
    return _uses_dlm(installed_apps(graph))


def _uses_dlm(apps: dict[str, AppInfo]) -> bool:
    return any(info.name == DLM_APP for info in apps.values())


def _everywhere(apps: dict[str, AppInfo], options: ProjectOptions) -> bool:
    """Whether every app of the project must have a marker file."""
    if _uses_dlm(apps):
        return True
    return read_tool_config(find_pyproject(options.cwd.resolve())).get(CONFIG_KEY) is True


def own_apps(graph: nx.DiGraph) -> list[str]:
    """The project's own apps that have migrations, sorted."""
    return _own_apps(installed_apps(graph), leaf_paths(graph))


def _own_apps(apps: dict[str, AppInfo], tips: Tips) -> list[str]:
    return sorted(
        label
        for label, info in apps.items()
        if info.local and info.migrated and _marker_path(tips.get(label, ())) is not None
    )


def marker_apps(graph: nx.DiGraph, options: ProjectOptions) -> set[str]:
    """The apps that use marker files."""
    return _marker_apps(installed_apps(graph), leaf_paths(graph), options)


def _marker_apps(apps: dict[str, AppInfo], tips: Tips, options: ProjectOptions) -> set[str]:
    if _everywhere(apps, options):
        return set(_own_apps(apps, tips))
    found = set()
    for label, info in apps.items():
        path = _marker_path(tips.get(label, ())) if info.migrated else None
        if path is not None and path.is_file():
            found.add(label)
    return found


def marker_problems(
    facts: GraphFacts, problems: list[Problem], apps: list[str], options: ProjectOptions
) -> list[Problem]:
    """What is wrong with the marker files of ``apps`` that use them (``facts``: of the
    graph, :func:`migrator.check.graph_facts`). An app in conflict, or one whose
    migrations did not all load, is left out: that is reported already, and
    ``merge``/``rebase`` rewrite its marker when they resolve it."""
    unsure = {p.app for p in problems if p.app and p.migration}
    in_marker = {p.app for p in problems if p.path and Path(p.path).name == MARKER_FILE}
    found = []
    for app in sorted(set(apps) & _marker_apps(facts.apps, facts.leaves, options)):
        tips = facts.leaves.get(app, ())
        path = _marker_path(tips)
        if app in unsure or app in in_marker or len(tips) != 1 or path is None:
            continue
        found += _problems_of(facts, app, tips[0][0], path)
    return found


def _problems_of(facts: GraphFacts, app: str, leaf: str, path: Path) -> list[Problem]:
    where = f"{MARKER_FILE} of app {app!r}"
    if not path.is_file():
        return [Problem(kinds.MARKER_MISSING, f"{where} does not exist", app, None, str(path))]
    try:
        names = marker_names(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(kinds.MARKER_LINES, f"cannot read {where}: {exc}", app, None, str(path))]
    if len(names) != 1:
        held = ", ".join(names) if names else "nothing"
        message = f"{where} should hold one migration name, it holds {len(names)}: {held}"
        return [Problem(kinds.MARKER_LINES, message, app, None, str(path), 1)]
    name = names[0]
    if not facts.has((app, name)):
        message = f"{where} names {name!r}, which does not exist; the leaf is {leaf!r}"
        return [Problem(kinds.MARKER_DANGLING, message, app, None, str(path), 1)]
    if name != leaf:
        message = f"{where} names {name!r}, but the leaf is {leaf!r}"
        return [Problem(kinds.MARKER_STALE, message, app, None, str(path), 1)]
    return []


def marker_change(path: Path, leaf: str, reason: str) -> Change | None:
    """The change that makes the marker at ``path`` name ``leaf`` (its line ending
    kept), or ``None`` when it does already."""
    if not path.is_file():
        return NewFile(path, leaf + "\n", reason)
    data = path.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    ending = "\r\n" if text.endswith("\r\n") and text.count("\n") == 1 else "\n"
    new = (leaf + ending).encode("utf-8")
    return None if new == data else EditFile(path, data, new, reason)


# -- migrator lock ------------------------------------------------------------------------

CREATE = "create"
UPDATE = "update"
CURRENT = "current"
REFUSED = "refused"


@dataclass
class AppLock:
    """What ``lock`` does for one app."""

    app: str
    outcome: str
    path: Path | None = None
    leaf: str | None = None
    before: list[str] | None = None  # the names the file held (None: no file)
    reason: str = ""  # why refused


@dataclass
class LockReport:
    apps: list[AppLock]
    dry_run: bool = False
    plan: WritePlan = field(default_factory=WritePlan)
    written: list[Path] = field(default_factory=list)

    @property
    def refused(self) -> list[AppLock]:
        return [a for a in self.apps if a.outcome == REFUSED]

    @property
    def changed(self) -> list[AppLock]:
        return [a for a in self.apps if a.outcome in (CREATE, UPDATE)]


def plan_lock(
    graph: nx.DiGraph, problems: list[Problem], labels: list[str], *, dry_run: bool = False
) -> LockReport:
    """Plan the marker file of each of ``labels``: the app's leaf and a newline."""
    unsure = {p.app: p for p in problems if p.app and p.migration}
    report = LockReport([], dry_run=dry_run)
    for app in labels:
        path = marker_path(graph, app)
        tips = [name for _, name in leaves(graph, app)]
        if path is None:
            report.apps.append(AppLock(app, REFUSED, reason="it has no migrations"))
            continue
        before = marker_names(path.read_text("utf-8", "replace")) if path.is_file() else None
        lock = AppLock(app, CURRENT, path, tips[0] if len(tips) == 1 else None, before)
        if app in unsure:
            lock.outcome = REFUSED
            lock.reason = f"{unsure[app].migration} did not load ({unsure[app].kind})"
        elif len(tips) != 1:
            lock.outcome = REFUSED
            lock.reason = f"it has {len(tips)} leaf migrations: {', '.join(tips)}"
        elif any(part in ("site-packages", "dist-packages") for part in path.parts):
            lock.outcome, lock.reason = REFUSED, "its migrations are in an installed package"
        else:
            change = marker_change(path, tips[0], f"{MARKER_FILE} for {app!r}")
            if change is not None:
                lock.outcome = CREATE if before is None else UPDATE
                report.plan.add(change)
        report.apps.append(lock)
    return report
