"""The migration graph every part of migrator works on.

It is a plain :class:`networkx.DiGraph`. Whether it came from Django's
``MigrationLoader`` (:mod:`migrator.django.loader`) or from reading files statically, it has
the same shape:

Nodes are migration keys ``(app_label, name)``; an edge ``parent -> child`` means the
child runs after the parent (the child depends on the parent, or the parent lists the
child in ``run_before``).

Node attributes:

``app_label`` (str), ``name`` (str)
    The key's two parts.
``path`` (str | None)
    Absolute path of the migration file.
``initial`` (bool | None)
    ``Migration.initial`` as declared (``None`` when the file does not say).
``dependencies`` (tuple of keys)
    As declared, swappable dependencies resolved.
``replaces`` (tuple of keys)
    The migrations a squashed migration replaces (empty otherwise).
``run_before`` (tuple of keys)
    As declared.
``atomic`` (bool)
    ``Migration.atomic``.
``is_merge`` (bool)
    Two or more parents in its own app: it joins branches.
``is_squashed`` (bool)
    It replaces other migrations.
``operations`` (tuple)
    The migration's operations (Django ``Operation`` objects). Static mode gives a
    read-only sequence built on first use (iterate or index it; don't concatenate).
``applied`` (bool | None)
    Applied on the database the graph was loaded for, as ``migrate`` judges it (a
    squashed migration is applied when all it replaces is); ``None`` when no database
    was asked or it could not be read.

Edge attributes:

``same_app`` (bool)
    Parent and child belong to the same app.
``kind`` (str)
    ``"dependency"`` (the child's ``dependencies``) or ``"run_before"`` (the parent's
    ``run_before``).

Graph attributes (``G.graph``), typed: read them with :func:`installed_apps`,
:func:`squash_replaced`, :func:`database_info`, :func:`partially_applied` and
:func:`unreadable_values`, which also answer for a graph built by hand (a test's literal
graph) that lacks them:

``apps`` (dict of label -> :class:`AppInfo`)
    Every installed app: ``label``, ``name`` (its module), ``path`` (str | None),
    ``local`` (False for Django's contrib apps and installed third-party packages) and
    ``migrated`` (it has migrations).
``replaced`` (dict of key -> tuple of keys)
    Squashed migration key -> the keys it replaced in this graph (removed from it).
``database`` (:class:`DatabaseInfo` | None)
    ``None`` unless loaded for a database; else its ``alias``, ``vendor`` and ``state``
    (:class:`DatabaseState`): ``OK``, ``NO_TABLE`` (no ``django_migrations``: nothing
    applied) or ``UNAVAILABLE`` (``error`` says why, ``missing_file`` names the SQLite
    file that does not exist yet, if that is why; ``applied`` is ``None``);
    ``other_apps`` are labels with applied rows that are not installed.
``partially_applied`` (dict of key -> :class:`PartiallyAppliedSquash`)
    Each squashed migration the database has partly applied, with the keys it replaces
    that are ``applied``, ``not_applied`` and ``missing`` (no file): ``migrate`` cannot
    use it, so it is not in the graph and the migrations it replaces are. Empty without
    a database.
``unreadable`` (dict of key -> tuple of str, ``--static`` only)
    Migration key -> the graph attributes (``"dependencies"``, ``"replaces"``,
    ``"run_before"``) static mode could not read; the node holds none of those edges, so
    :func:`migrator.analysis.leaves.conflicts` claims only the conflicts they cannot undo.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx


Key = tuple[str, str]


@dataclass(frozen=True)
class AppInfo:
    """An installed app, as the graph's ``apps`` attribute holds it."""

    label: str
    name: str  # the app's module, ``AppConfig.name``
    path: str | None
    local: bool  # the project's own code (see is_local_app)
    migrated: bool  # it has migrations


class DatabaseState(Enum):
    """Whether the applied migrations could be read; the value is the word JSON prints."""

    OK = "ok"
    NO_TABLE = "no-table"  # no django_migrations table: a fresh database, nothing applied
    UNAVAILABLE = "unavailable"  # cannot be read: DatabaseInfo.error says why


@dataclass(frozen=True)
class DatabaseInfo:
    """The database a graph was loaded for (its ``database`` attribute)."""

    alias: str
    vendor: str | None  # None when its backend could not even be loaded
    state: DatabaseState = DatabaseState.OK
    error: str | None = None  # why it is UNAVAILABLE
    other_apps: tuple[str, ...] = ()  # labels with applied rows that are not installed
    missing_file: str | None = None  # UNAVAILABLE because this SQLite file does not exist

    @property
    def is_unavailable(self) -> bool:
        return self.state is DatabaseState.UNAVAILABLE


@dataclass(frozen=True)
class PartiallyAppliedSquash:
    """A squashed migration the database has partly applied: ``migrate`` drops it and
    applies the migrations it replaces instead."""

    key: Key
    applied: tuple[Key, ...]
    not_applied: tuple[Key, ...]
    missing: tuple[Key, ...]  # replaced migrations whose files are gone


def installed_apps(graph: nx.DiGraph) -> dict[str, AppInfo]:
    """The graph's ``apps``: label -> :class:`AppInfo`, sorted by label."""
    return graph.graph.get("apps", {})


def squash_replaced(graph: nx.DiGraph) -> dict[Key, tuple[Key, ...]]:
    """The graph's ``replaced``: squashed key -> the keys it replaced, gone from the graph."""
    return graph.graph.get("replaced", {})


def database_info(graph: nx.DiGraph) -> DatabaseInfo | None:
    """The graph's ``database``: ``None`` unless it was loaded for one."""
    return graph.graph.get("database")


def partially_applied(graph: nx.DiGraph) -> dict[Key, PartiallyAppliedSquash]:
    """The graph's ``partially_applied``: squashed key -> what of it is applied."""
    return graph.graph.get("partially_applied", {})


def unreadable_values(graph: nx.DiGraph) -> dict[Key, tuple[str, ...]]:
    """The graph's ``unreadable`` (``--static``): key -> the attributes not read."""
    return graph.graph.get("unreadable") or {}


def key_str(key: Key) -> str:
    """``app_label.name``: how migrator prints a migration key."""
    return f"{key[0]}.{key[1]}"


def parse_key(text: str) -> Key:
    """Inverse of :func:`key_str`; the app label never contains a dot."""
    app_label, _, name = text.partition(".")
    return app_label, name


def is_local_app(path: str | None, root: Path | None, name: str) -> bool:
    """The ``local`` of an :class:`AppInfo`: the project's own code, not
    Django's contrib apps nor an installed package (``root=None``: anywhere else)."""
    if path is None or name.startswith("django."):
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    return root is None or Path(path).resolve().is_relative_to(root.resolve())


def treat_as_local(apps: dict[str, AppInfo], names: Iterable[str]) -> list[str]:
    """Mark the installed apps named (by label or module name) as the project's own
    (``[tool.migrator] project-apps``), in ``apps`` (a graph's :func:`installed_apps`).
    Returns the names no installed app has."""
    unknown = []
    for name in names:
        found = [info for info in apps.values() if name in (info.label, info.name)]
        if not found:
            unknown.append(name)
        for info in found:
            apps[info.label] = replace(info, local=True)
    return unknown


@dataclass(frozen=True)
class InstalledOnly:
    """Every app with migrations is Django's or an installed package's (none is
    :attr:`AppInfo.local`): what a command that leaves those out says instead of an
    empty answer (:func:`installed_only`)."""

    counts: tuple[tuple[str, int], ...]  # (app label, its migrations), by label
    example: str  # an app to name in an example: an installed package's, not Django's

    @property
    def total(self) -> int:
        """The migrations of all those apps: every migration of the graph."""
        return sum(count for _, count in self.counts)


def installed_only(graph: nx.DiGraph) -> InstalledOnly:
    """The apps with migrations of ``graph`` (a graph none of whose apps with migrations
    is local: see :class:`InstalledOnly`), with their migrations, and the example app."""
    counts = Counter(node[0] for node in graph.nodes)
    installed = installed_apps(graph)
    packaged = [
        app
        for app in sorted(counts)
        if app in installed and not installed[app].name.startswith("django.")
    ]
    return InstalledOnly(
        counts=tuple(sorted(counts.items())), example=(packaged or sorted(counts))[0]
    )


def add_derived_attributes(graph: nx.DiGraph) -> None:
    """Set what follows from the declared node attributes and the edges a loader added:
    each edge's ``same_app`` and ``kind``, each node's ``is_merge`` and the graph's
    ``replaced``. Both loaders call this, so the two graphs derive them alike."""
    # Written for 10,000 nodes: one pass over the edges, node data from one dict.
    nodes = dict(graph.nodes(data=True))
    same_app_parents = dict.fromkeys(nodes, 0)
    for parent, children in graph.adjacency():
        run_before = nodes[parent]["run_before"]
        for child, data in children.items():
            same_app = data["same_app"] = parent[0] == child[0]
            data["kind"] = "run_before" if child in run_before else "dependency"
            if same_app and parent != child:  # depending on itself (a cycle) merges nothing
                same_app_parents[child] += 1
    for key, data in nodes.items():
        data["is_merge"] = same_app_parents[key] >= 2
    squashes = sorted((key, data["replaces"]) for key, data in nodes.items() if data["replaces"])
    graph.graph["replaced"] = {
        key: tuple(sorted(r for r in replaces if r not in graph)) for key, replaces in squashes
    }
