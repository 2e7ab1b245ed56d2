"""``migrator rebase``: resolve a conflict by moving whole branches after the kept leaf.

After kept leaf ``0005_x``, a moving branch ``0004_a -> 0005_b`` becomes ``0006_a ->
0007_b``: every migration of the branch is renamed (its descriptive suffix kept), the
branch's first migration now depends on the kept leaf, and every reference to a renamed
migration in every app (``dependencies``, ``run_before``, ``replaces``) and
django-linear-migrations' ``max_migration.txt`` follow. Only the name strings inside
those tuples change; the rest of each file stays byte-for-byte.

Which branch stays is named (``--keep``, ``--move``) or read from git: the leaf whose
file is on the mainline (``--onto REF``, else the first parent of the merge HEAD is or
is in) stays. The planning reads files but imports neither Django nor project code; the
words are :mod:`migrator.render.rebase`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.analysis.history import inconsistent_history
from migrator.analysis.leaves import app_subgraph, conflicts
from migrator.errors import RefusedError, UsageError
from migrator.graph import Key, key_str
from migrator.project import select_apps
from migrator.settings import ProjectOptions, SettingsChoice
from migrator.write.plan import EditFile, RenameFile, RunCommand, WritePlan, order_renames
from migrator.write.sourceedit import decode_source, encode_source, replace_keys
from migrator.write.verify import applied_verifier

MAX_MIGRATION_FILE = "max_migration.txt"  # django-linear-migrations
_NUMBERED = re.compile(r"^(\d+)(?:_(.*))?$")


def leading_number(name: str) -> int | None:
    """The number a migration name starts with, like Django's numbering (the squashed
    end number for ``0001_squashed_0004_x``)."""
    squashed = re.match(r"^\d+_squashed_(\d+)", name)
    if squashed:
        return int(squashed.group(1))
    match = _NUMBERED.match(name)
    return int(match.group(1)) if match else None


def renumbered(name: str, number: int) -> str:
    """``name`` with its number replaced by ``number``; names without one are kept."""
    match = _NUMBERED.match(name)
    if not match:
        return name
    width = max(4, len(match.group(1)))
    suffix = f"_{match.group(2)}" if match.group(2) is not None else ""
    return f"{number:0{width}d}{suffix}"


#: Why the kept leaf stays.
KEPT_NAMED = "named"  # --keep
KEPT_NOT_MOVED = "not-moved"  # the one leaf --move leaves
KEPT_ON_REF = "on-ref"  # its file is on --onto REF
KEPT_ON_HEAD = "on-head"  # its file is on HEAD, during an unfinished merge
KEPT_ON_FIRST_PARENT = "on-first-parent"  # its file is on HEAD^1, HEAD being a merge

#: Why no database's applied migrations were checked (the rebase goes on).
UNCHECKED_STATIC = "static"  # --static reads no database


class MainlineUnknown(RefusedError):
    """Which branch stays cannot be read from git: the user must name it."""


@dataclass(frozen=True)
class Sides:
    """The leaf that stays, the leaves whose branches move (sorted), and why."""

    keep: str
    move: tuple[str, ...]
    why: str
    onto: str | None = None  # the REF of KEPT_ON_REF


@dataclass(frozen=True)
class FileEdit:
    """One file's text before and after (and its name after a rename), to show as a diff."""

    old_path: Path
    new_path: Path
    old: str
    new: str


@dataclass
class Rebase:
    """What a rebase of one app changes."""

    app: str
    keep: str
    moving_leaves: tuple[str, ...]
    renames: dict[Key, Key] = field(default_factory=dict)  # in apply order
    reparented: dict[Key, dict[Key, Key]] = field(default_factory=dict)
    plan: WritePlan = field(default_factory=WritePlan)
    edits: list[FileEdit] = field(default_factory=list)
    why: str = KEPT_NAMED  # why ``keep`` stays
    onto: str | None = None
    unchecked: str | None = None  # UNCHECKED_STATIC: applied migrations were not checked
    databases: list[DatabaseRows] = field(default_factory=list)  # each one named, judged
    migration_count: int = 0  # of the app, before and after

    @property
    def new_leaf(self) -> str:
        return list(self.renames.values())[-1][1] if self.renames else self.keep

    @property
    def renamed(self) -> list[Key]:
        return [old for old, new in self.renames.items() if old != new]

    @property
    def changes(self) -> list[tuple[str, Path | None, Path]]:
        """(verb, the file renamed or ``None``, the file) of each planned file change."""
        return [
            (c.verb, c.source if isinstance(c, RenameFile) else None, c.path)
            for c in self.plan.changes
            if not isinstance(c, RunCommand)
        ]

    @property
    def row_renames(self) -> list[DatabaseRows]:
        """The databases whose rows this rebase renames."""
        return [d for d in self.databases if d.renames]


def branch_moves(
    graph: nx.DiGraph, app: str, keep: str, move: list[str]
) -> tuple[dict[Key, Key], dict[Key, dict[Key, Key]]]:
    """Renames (old -> new key, in apply order) and new parents of each moved branch's
    first migrations, moving the branches of ``move`` one after the other onto ``keep``.

    Pure: works on the app's own subgraph only.
    """
    own = app_subgraph(graph, app)
    end: Key = (app, keep)
    stays = nx.ancestors(own, end) | {end}
    renames: dict[Key, Key] = {}
    reparented: dict[Key, dict[Key, Key]] = {}
    for leaf in move:
        node = (app, leaf)
        branch = (nx.ancestors(own, node) | {node}) - stays
        # Follow the highest number that stays (the kept leaf's, unless it has none).
        number = max((leading_number(renames.get(n, n)[1]) or 0) for n in stays)
        for migration in nx.lexicographical_topological_sort(own.subgraph(branch)):
            if _NUMBERED.match(migration[1]):
                number += 1
                renames[migration] = (app, renumbered(migration[1], number))
            else:
                renames[migration] = migration
        new_parent = renames.get(end, end)
        for migration in sorted(branch):
            outside = [p for p in own.predecessors(migration) if p not in branch]
            if outside:
                reparented[migration] = {p: new_parent for p in outside}
        stays |= branch
        end = node
    return renames, reparented


def _migration_folders(graph: nx.DiGraph) -> list[Path]:
    folders = {Path(data["path"]).parent for _, data in graph.nodes(data=True) if data["path"]}
    return sorted(folders)


def plan_rebase(
    graph: nx.DiGraph,
    app: str,
    keep: str,
    move: list[str],
    *,
    use_git: bool = False,
) -> Rebase:
    """Plan the renames and edits; refuse what cannot be done safely."""
    rebase = Rebase(app, keep, tuple(move))
    renames, reparented = branch_moves(graph, app, keep, move)
    rebase.renames = {old: new for old, new in renames.items()}
    rebase.reparented = reparented
    moved = {old: new for old, new in renames.items() if old != new}
    names = {name for a, name in graph.nodes if a == app}
    clashes = sorted(new[1] for new in moved.values() if new[1] in names and new not in moved)
    if clashes:
        raise RefusedError(
            f"cannot rebase {app!r}: the new names {clashes!r} are already taken",
            hint="rename those migrations first, or choose the other branch with --keep",
        )
    for folder in _migration_folders(graph):
        for path in sorted(folder.glob("*.py")):
            _plan_file(rebase, graph, path, moved, reparented, use_git)
        if folder.name == "migrations" and (folder / MAX_MIGRATION_FILE).is_file():
            _plan_max_migration(rebase, graph, folder)
    # Every rename first, each after the one that frees its name; then the edits, which
    # name the files by their new names.
    moves = [c for c in rebase.plan.changes if isinstance(c, RenameFile)]
    others = [c for c in rebase.plan.changes if not isinstance(c, RenameFile)]
    rebase.plan.changes = [*order_renames(moves), *others]
    return rebase


def _read_source(path: Path) -> tuple[bytes, str, str]:
    """A file's bytes, text (line endings kept) and encoding; refused when Python could
    not read it either."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RefusedError(
            f"cannot read {path.name}: {exc.strerror or exc}",
            path=path,
            hint="make it readable and run again",
        ) from None
    try:
        text, encoding = decode_source(data)
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise RefusedError(
            f"cannot read {path.name}: {exc}",
            path=path,
            hint="fix its encoding (or coding cookie) first",
        ) from None
    return data, text, encoding


def _encoded(path: Path, text: str, encoding: str) -> bytes:
    try:
        return encode_source(text, encoding)
    except UnicodeEncodeError:
        raise RefusedError(
            f"cannot write the new names into {path.name}: its encoding is {encoding}",
            path=path,
            hint="save the file as UTF-8 first",
        ) from None


def _plan_file(rebase, graph, path: Path, moved, reparented, use_git: bool) -> None:
    key = (rebase.app, path.stem)
    mapping = dict(moved)
    if key in reparented and key in graph and Path(graph.nodes[key]["path"]) == path:
        mapping.update(reparented[key])
    data, old, encoding = _read_source(path)
    new = replace_keys(old, mapping)
    target = path
    if key in moved and key in graph and Path(graph.nodes[key]["path"]) == path:
        target = path.with_name(f"{moved[key][1]}.py")
        rebase.plan.add(RenameFile(path, target, use_git, f"rename {key_str(key)}"))
    if new != old:
        rebase.plan.add(
            EditFile(target, data, _encoded(path, new, encoding), "rewrite dependencies")
        )
        rebase.edits.append(FileEdit(path, target, old, new))


def _plan_max_migration(rebase: Rebase, graph: nx.DiGraph, folder: Path) -> None:
    path = folder / MAX_MIGRATION_FILE
    owners = {
        key[0]
        for key, data in graph.nodes(data=True)
        if data["path"] and Path(data["path"]).parent == folder
    }
    if owners != {rebase.app}:
        return
    data, old, encoding = _read_source(path)
    ending = old[len(old.rstrip("\r\n")) :]  # keep "\n", "\r\n" or none
    new = rebase.new_leaf + ending
    if new != old:
        rebase.plan.add(
            EditFile(path, data, _encoded(path, new, encoding), "update max_migration.txt")
        )
        rebase.edits.append(FileEdit(path, path, old, new))


def choose_leaf(app: str, leaves_: list[str], wanted: str, option: str) -> str:
    """A leaf named on the command line: its full name or an unambiguous prefix."""
    if wanted in leaves_:
        return wanted
    matches = [leaf for leaf in leaves_ if leaf.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(
        f"{option} {wanted!r} is not one of the leaves of {app!r}"
        + (" (ambiguous)" if matches else ""),
        hint="leaves: " + ", ".join(leaves_),
    )


def conflict_leaves(graph: nx.DiGraph, app: str) -> list[str]:
    """The app's leaves when it has a conflict, else an empty list."""
    return conflicts(graph).get(app, [])


# -- the command: which branch stays, and what stops it ---------------------------------


def rebase_app(
    graph: nx.DiGraph,
    app: str,
    *,
    keep: str | None,
    move: list[str] | None,
    onto: str | None,
    static: bool,
    cwd: Path,
) -> Rebase | None:
    """Plan the rebase of ``app`` (``None`` when it has one leaf: nothing to do)."""
    select_apps(graph, [app])
    leaves = conflict_leaves(graph, app)
    if not leaves:
        return None
    sides = (
        named_sides(app, leaves, keep, move)
        if keep or move
        else git_sides(graph, app, leaves, onto, cwd)
    )
    rebase = plan_rebase(
        graph, app, sides.keep, list(sides.move), use_git=git.toplevel(cwd) is not None
    )
    rebase.why, rebase.onto = sides.why, sides.onto
    rebase.migration_count = sum(1 for node in graph.nodes if node[0] == app)
    if rebase.renamed and static:
        rebase.unchecked = UNCHECKED_STATIC
    return rebase


def named_sides(app: str, leaves: list[str], keep: str | None, move: list[str] | None) -> Sides:
    """The sides named with ``--keep`` and ``--move`` (one of them at least)."""
    moving = [choose_leaf(app, leaves, m, "--move") for m in move or []]
    if keep:
        kept = choose_leaf(app, leaves, keep, "--keep")
        moving = moving or [leaf for leaf in leaves if leaf != kept]
        return Sides(kept, tuple(sorted(moving)), KEPT_NAMED)
    rest = [leaf for leaf in leaves if leaf not in moving]
    if len(rest) != 1:
        raise RefusedError(
            f"{app!r} has {len(leaves)} leaves: say which stays", hint="add --keep LEAF"
        )
    return Sides(rest[0], tuple(sorted(moving)), KEPT_NOT_MOVED)


def git_sides(graph: nx.DiGraph, app: str, leaves: list[str], onto: str | None, cwd: Path) -> Sides:
    """The sides from git: the leaf on the mainline stays, the others move."""
    if git.toplevel(cwd) is None:
        raise MainlineUnknown(
            f"cannot tell which branch of {app!r} to move outside a git work tree",
            hint="name it: --keep LEAF or --move LEAF (leaves: " + ", ".join(leaves) + ")",
        )
    if onto:
        mainline, why = git.rev_parse(onto, cwd), KEPT_ON_REF
        if mainline is None:
            raise MainlineUnknown(
                f"--onto {onto!r} is not a commit here",
                hint="use a branch, tag or commit, e.g. --onto origin/main",
            )
    else:
        merge = git.merge_state(cwd)
        if merge is None and git.is_shallow(cwd):
            raise RefusedError(
                "HEAD is no merge in this shallow clone (its parents may not have been "
                "fetched), so the mainline is unknown",
                hint="fetch the history (`git fetch --unshallow`; `fetch-depth: 0` for "
                "actions/checkout), or pass --onto REF, --keep LEAF or --move LEAF",
            )
        if merge is None:
            raise MainlineUnknown(
                "HEAD is not a merge and no merge is in progress, so the mainline is unknown",
                hint="pass --onto REF (the branch that stays, e.g. origin/main), --keep LEAF "
                "or --move LEAF",
            )
        mainline = merge.ours
        why = KEPT_ON_HEAD if merge.state == "merging" else KEPT_ON_FIRST_PARENT
    on_mainline = [
        leaf
        for leaf in leaves
        if git.path_in_tree(mainline, Path(graph.nodes[(app, leaf)]["path"]), cwd)
    ]
    if len(on_mainline) != 1:
        found = ", ".join(on_mainline) or "none"
        raise MainlineUnknown(
            f"{app!r}: expected exactly one leaf on the mainline, found {found}",
            hint="name the branch that stays with --keep LEAF (leaves: " + ", ".join(leaves) + ")",
        )
    keep = on_mainline[0]
    return Sides(keep, tuple(sorted(leaf for leaf in leaves if leaf != keep)), why, onto)


# -- databases: the rows of the migrations that move ------------------------------------


@dataclass(frozen=True)
class DatabaseRows:
    """What one named database has applied, as far as the rebase is concerned."""

    alias: str
    readable: bool  # False: ``error`` says why (the rebase goes on, with a note)
    error: str | None = None
    applied: tuple[Key, ...] = ()  # migrations that move and are applied there (old keys)
    renames: tuple[tuple[Key, Key], ...] = ()  # its rows to rename, with --update-applied


def _is_applied(graph: nx.DiGraph, key: Key, rows: frozenset[Key]) -> bool:
    """Applied as ``migrate`` judges it: its row, or (squashed) every replaced row."""
    if key in rows:
        return True
    replaces = graph.nodes[key].get("replaces", ()) if key in graph else ()
    return bool(replaces) and all(r in rows for r in replaces)


def rebased_graph(graph: nx.DiGraph, rebase: Rebase) -> nx.DiGraph:
    """The graph as it will be after ``rebase``: nodes renamed, the moved branches'
    first migrations on their new parents. Pure."""
    renames = {old: new for old, new in rebase.renames.items() if old != new}
    moved = nx.relabel_nodes(graph, renames, copy=True)
    for migration, parents in rebase.reparented.items():
        child = renames.get(migration, migration)
        for old_parent, new_parent in parents.items():
            old_parent = renames.get(old_parent, old_parent)
            new_parent = renames.get(new_parent, new_parent)
            if moved.has_edge(old_parent, child):
                moved.remove_edge(old_parent, child)
            moved.add_edge(new_parent, child, same_app=True, kind="dependency")
    return moved


def check_databases(
    graph: nx.DiGraph,
    rebase: Rebase,
    read: dict[str, tuple[frozenset[Key] | None, str | None]],
    *,
    update_applied: bool,
    force: bool,
) -> list[DatabaseRows]:
    """Judge each named database (``read``: alias -> its rows, or ``None`` and why they
    cannot be read). Refuses when a moved migration is applied there, unless its rows
    are renamed too (``update_applied``) or ``force``; with ``update_applied``, refuses
    a database that cannot be read, or whose history the new order would make
    inconsistent (an applied migration after one that is not applied there)."""
    renames = {old: new for old, new in rebase.renames.items() if old != new}
    after = rebased_graph(graph, rebase) if update_applied else None
    checked = []
    for alias, (rows, error) in sorted(read.items()):
        if rows is None:
            if update_applied:
                raise RefusedError(
                    f"cannot rename the applied rows on database {alias!r}: it cannot be "
                    f"read ({error})",
                    hint="make it reachable, or leave it out of --database",
                )
            checked.append(DatabaseRows(alias, False, error))
            continue
        applied = tuple(sorted(k for k in renames if _is_applied(graph, k, rows)))
        if applied and not update_applied and not force:
            names = ", ".join(key_str(k) for k in applied)
            raise RefusedError(
                f"database {alias!r} has applied {names}; renamed, they would look "
                "unapplied and `migrate` would run them again",
                hint=f"rename their rows too (`migrator rebase {rebase.app} --database "
                f"{alias} --update-applied`), merge instead (`migrator merge {rebase.app}`), "
                "or rebase with --force and fix the django_migrations rows by hand",
            )
        pairs = tuple((old, renames[old]) for old in sorted(renames) if old in rows)
        stale = sorted(new for old, new in pairs if new in rows and new not in renames)
        if update_applied and stale:
            raise RefusedError(
                f"database {alias!r} already has rows for "
                + ", ".join(key_str(k) for k in stale)
                + ", the new names of moved migrations",
                hint="remove those stale rows by hand (`python manage.py migrate --fake "
                "... zero` or SQL), then run again",
            )
        if update_applied and after is not None:
            new_rows = {renames.get(k, k) for k in rows}
            before = {
                (renames.get(a, a), renames.get(b, b)) for a, b in inconsistent_history(graph, rows)
            }
            broken = [p for p in inconsistent_history(after, new_rows) if p not in before]
            if broken:
                migration, dependency = broken[0]
                old = next((o for o, n in renames.items() if n == migration), migration)
                was = f" (was {old[1]})" if old != migration else ""
                raise RefusedError(
                    f"database {alias!r}: after the rebase {key_str(migration)}{was} would be "
                    f"applied there before {key_str(dependency)}, which is not: an "
                    "inconsistent history `migrate` refuses",
                    hint=f"keep the branch that database applied instead (`migrator rebase "
                    f"{rebase.app} --keep {rebase.moving_leaves[0]}`), or merge "
                    f"(`migrator merge {rebase.app}`)",
                )
        checked.append(DatabaseRows(alias, True, None, applied, pairs if update_applied else ()))
    return checked


def plan_row_renames(
    rebase: Rebase, databases: list[DatabaseRows], command: list[str], cwd: Path
) -> None:
    """Add to the rebase's plan, after every file change, one transaction per database
    that renames its rows (``command``: the ``rename-applied-rows`` command line up to
    its arguments)."""
    for database in databases:
        if not database.renames:
            continue
        forward = [f"{key_str(old)}={key_str(new)}" for old, new in database.renames]
        backward = [f"{key_str(new)}={key_str(old)}" for old, new in database.renames]
        argv = [*command, "--database", database.alias, "--"]
        rebase.plan.add(
            RunCommand(
                f"the applied rows on database {database.alias!r}",
                tuple(argv + forward),
                tuple(argv + backward),
                cwd,
                f"rename {len(forward)} applied rows",
                hint="nothing was changed on that database (one transaction); fix it and run again",
            )
        )
    rebase.databases = databases


def rows_verifiers(
    rebase: Rebase, options: ProjectOptions, choice: SettingsChoice
) -> list[Callable[[], str | None]]:
    """The checks, to run after writing, that each database whose rows this rebase
    renames shows the app's moved migrations applied under their new names."""
    return [
        applied_verifier(
            options,
            choice,
            database.alias,
            rebase.app,
            [new[1] for _, new in database.renames if new[0] == rebase.app],
        )
        for database in rebase.row_renames
    ]


def read_databases(aliases: list[str]) -> dict[str, tuple[frozenset[Key] | None, str | None]]:
    """Each named database's ``django_migrations`` rows (``None`` and why, when it
    cannot be read); Django must be set up."""
    from migrator.django.rows import applied_rows  # imports Django: only after setup

    read = {}
    for alias in sorted(set(aliases)):
        found = applied_rows(alias)
        read[alias] = (found.rows, found.info.error)
    return read
