"""``migrator rebase``: resolve a conflict by moving whole branches after the kept leaf.

After kept leaf ``0005_x``, a moving branch ``0004_a -> 0005_b`` becomes ``0006_a ->
0007_b``: every migration of the branch is renamed (its descriptive suffix kept), the
branch's first migration now depends on the kept leaf, and every reference to a renamed
migration in every app (``dependencies``, ``run_before``, ``replaces``) and
django-linear-migrations' ``max_migration.txt`` follow. Only the name strings inside
those tuples change; the rest of each file stays byte-for-byte.

The planning here is pure: it reads files but imports neither Django nor project code.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator.analysis.leaves import app_subgraph, conflicts
from migrator.errors import RefusedError, UsageError
from migrator.graph import Key, key_str
from migrator.render.paths import display_path
from migrator.write.plan import EditFile, RenameFile, WritePlan, order_renames
from migrator.write.sourceedit import decode_source, encode_source, replace_keys

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


@dataclass
class Rebase:
    """What a rebase of one app changes."""

    app: str
    keep: str
    moving_leaves: tuple[str, ...]
    renames: dict[Key, Key] = field(default_factory=dict)  # in apply order
    reparented: dict[Key, dict[Key, Key]] = field(default_factory=dict)
    plan: WritePlan = field(default_factory=WritePlan)
    diffs: list[str] = field(default_factory=list)
    base: Path | None = None  # diffs name files relative to this folder

    @property
    def new_leaf(self) -> str:
        return list(self.renames.values())[-1][1] if self.renames else self.keep


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
    base: Path | None = None,
) -> Rebase:
    """Plan the renames and edits; refuse what cannot be done safely."""
    rebase = Rebase(app, keep, tuple(move), base=base)
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
        rebase.diffs.append(_diff(path, target, old, new, rebase.base))


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
        rebase.diffs.append(_diff(path, path, old, new, rebase.base))


def _diff(old_path: Path, new_path: Path, old: str, new: str, base: Path | None) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{display_path(str(old_path), base) if base else old_path}",
            tofile=f"b/{display_path(str(new_path), base) if base else new_path}",
        )
    )


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
