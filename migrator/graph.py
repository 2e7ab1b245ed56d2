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

Graph attributes (``G.graph``):

``apps`` (dict)
    Installed app label -> ``{"name": str, "path": str | None, "local": bool,
    "migrated": bool}``; ``local`` is False for Django's contrib apps and installed
    third-party packages.
``replaced`` (dict)
    Squashed migration key -> the keys it replaced in this graph (removed from it).
``database`` (dict | None)
    ``None`` unless loaded for a database; else ``{"alias", "vendor", "state", "error",
    "other_apps"}``: ``state`` is ``"ok"``, ``"no-table"`` (no ``django_migrations``:
    nothing applied) or ``"unavailable"`` (``error`` says why; ``applied`` is ``None``);
    ``other_apps`` are labels with applied rows that are not installed.
``partially_applied`` (dict)
    Squashed migration key -> ``{"applied", "not_applied", "missing"}`` (tuples of keys)
    for each squash the database has partly applied: ``migrate`` cannot use it, so it is
    not in the graph and the migrations it replaces are. Empty without a database.
``unreadable`` (dict, ``--static`` only)
    Migration key -> the graph attributes (``"dependencies"``, ``"replaces"``,
    ``"run_before"``) static mode could not read; the node holds none of those edges, so
    :func:`migrator.analysis.leaves.conflicts` claims only the conflicts they cannot undo.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

Key = tuple[str, str]


def key_str(key: Key) -> str:
    """``app_label.name``: how migrator prints a migration key."""
    return f"{key[0]}.{key[1]}"


def parse_key(text: str) -> Key:
    """Inverse of :func:`key_str`; the app label never contains a dot."""
    app_label, _, name = text.partition(".")
    return app_label, name


def is_local_app(path: str | None, root: Path | None, name: str) -> bool:
    """The ``local`` of an app in ``graph.graph["apps"]``: the project's own code, not
    Django's contrib apps nor an installed package (``root=None``: anywhere else)."""
    if path is None or name.startswith("django."):
        return False
    if "site-packages" in path or "dist-packages" in path:
        return False
    return root is None or Path(path).resolve().is_relative_to(root.resolve())


def add_derived_attributes(graph: nx.DiGraph) -> None:
    """Set what follows from the declared node attributes and the edges a loader added:
    each edge's ``same_app`` and ``kind``, each node's ``is_merge`` and the graph's
    ``replaced``. Both loaders call this, so the two graphs derive them alike."""
    for parent, child, data in graph.edges(data=True):
        data["same_app"] = parent[0] == child[0]
        data["kind"] = "run_before" if child in graph.nodes[parent]["run_before"] else "dependency"
    for key, data in graph.nodes(data=True):
        same_app_parents = sum(1 for parent in graph.predecessors(key) if parent[0] == key[0])
        data["is_merge"] = same_app_parents >= 2
    graph.graph["replaced"] = {
        key: tuple(sorted(r for r in data["replaces"] if r not in graph))
        for key, data in sorted(graph.nodes(data=True))
        if data["replaces"]
    }
