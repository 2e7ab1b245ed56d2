"""``migrator rebase APP --regenerate``: when both branches change the same field, drop
the moving branch's migrations that ``makemigrations`` could have written and let
Django's own ``makemigrations APP`` write them again on top of the merged models.

* **removed**: a moving migration whose operations are all schema operations the
  autodetector writes (``AddField``, ``AlterField``, ``CreateModel``, ...), that no
  migration of another app names, that replaces nothing;
* **kept**: every other moving migration (``RunPython``, ``RunSQL``, custom or mixed
  operations, an empty one, one another app depends on) is rebased after the kept leaf,
  in order, its same-app dependencies on removed migrations pointed at the migration
  before it in the new chain;
* **generated**: then, with those changes on disk, Django's ``makemigrations APP`` (in a
  new process on the project's settings) writes what the models still need, after the
  last kept migration.

One plan, applied all-or-nothing with the journal, then verified in fresh processes:
one leaf, ``makemigrations --check`` clean, ``migrate`` from empty and from the kept
branch's state on test databases. The core returns data; the words are the renderer's.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import networkx as nx

from migrator.analysis.leaves import app_subgraph
from migrator.errors import AppsError, RefusedError
from migrator.graph import Key, key_str
from migrator.markers import MARKER_FILE, marker_change
from migrator.rebase import (
    FileEdit,
    Sides,
    _encoded,
    _migration_folders,
    _read_source,
    leading_number,
    renumbered,
)
from migrator.settings import ProjectOptions, SettingsChoice
from migrator.write.plan import (
    Change,
    DeleteFile,
    EditFile,
    GeneratedFile,
    RenameFile,
    WritePlan,
    order_renames,
)
from migrator.write.rehearse import rehearse
from migrator.write.sourceedit import replace_keys
from migrator.write.verify import command_verifier, django_command, migrator_command

#: The operations Django's autodetector writes (``django.db.migrations.operations``).
SCHEMA_OPERATIONS = frozenset(
    {
        "CreateModel",
        "DeleteModel",
        "RenameModel",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterOrderWithRespectTo",
        "AlterModelOptions",
        "AlterModelManagers",
        "AddField",
        "RemoveField",
        "AlterField",
        "RenameField",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterConstraint",
    }
)
_DJANGO_OPERATIONS = "django.db.migrations.operations"


class AppliedElsewhere(RefusedError):
    """A migration regenerating would remove is applied on a named database."""


@contextmanager
def models_must_import(command: str) -> Iterator[None]:
    """Around loading the project for ``command``: regenerating runs Django's
    makemigrations on the merged models, so models that do not import are a refusal
    (exit 1, with the reason), not a configuration error."""
    try:
        yield
    except AppsError as error:
        raise RefusedError(
            f"cannot regenerate: the models do not import ({error.message})",
            path=error.path,
            line=error.line,
            hint="fix them (git may have left conflict markers in them) and run "
            f"`{command}` again; nothing was written",
        ) from None


def is_generated(operations) -> bool:
    """Whether ``makemigrations`` could have written these operations: at least one, and
    each one of Django's own schema operations (a subclass, a custom operation, is not)."""
    ops = list(operations)
    return bool(ops) and all(
        type(op).__name__ in SCHEMA_OPERATIONS
        and type(op).__module__.startswith(_DJANGO_OPERATIONS)
        for op in ops
    )


@dataclass
class Regenerate:
    """What a regenerating rebase of one app changes."""

    app: str
    keep: str
    moving_leaves: tuple[str, ...]
    why: str
    onto: str | None
    removed: list[Key] = field(default_factory=list)  # in apply order
    kept: dict[Key, Key] = field(default_factory=dict)  # hand-written: old -> new, in order
    plan: WritePlan = field(default_factory=WritePlan)
    edits: list[FileEdit] = field(default_factory=list)
    command: tuple[str, ...] = ()  # makemigrations, as run after the changes
    marker: Path | None = None  # the app's max_migration.txt, pointed at the new leaf

    @property
    def last_kept(self) -> str:
        return list(self.kept.values())[-1][1] if self.kept else self.keep


def plan_regenerate(
    graph: nx.DiGraph,
    app: str,
    sides: Sides,
    *,
    applied: dict[str, frozenset[Key] | None],
    settings: SettingsChoice,
    cwd: Path,
    use_git: bool,
    marker: bool = False,
) -> Regenerate:
    """Plan the removals, the rebase of the hand-written migrations and the
    ``makemigrations`` run; refuse a removed migration a named database has applied.
    ``marker``: the app uses a marker file, which then names the new leaf (the file
    makemigrations writes, or the last kept migration), in the same write."""
    own = app_subgraph(graph, app)
    end: Key = (app, sides.keep)
    stays = nx.ancestors(own, end) | {end}
    moving: list[Key] = []
    for leaf in sides.move:
        node = (app, leaf)
        branch = (nx.ancestors(own, node) | {node}) - stays - set(moving)
        moving += list(nx.lexicographical_topological_sort(own.subgraph(branch)))
    regenerate = Regenerate(app, sides.keep, sides.move, sides.why, sides.onto)
    moving_set = set(moving)
    for key in moving:
        data = graph.nodes[key]
        outside = [n for n in (*graph.successors(key), *graph.predecessors(key)) if n[0] != app]
        named_elsewhere = any(
            key in graph.nodes[n].get("dependencies", ()) for n in outside
        ) or any(key in graph.nodes[n].get("run_before", ()) for n in outside)
        if (
            is_generated(data.get("operations", ()))
            and not named_elsewhere
            and not data["replaces"]
        ):
            regenerate.removed.append(key)
    for alias, rows in sorted(applied.items()):
        hit = sorted(k for k in regenerate.removed if rows and k in rows)
        if hit:
            raise AppliedElsewhere(
                f"database {alias!r} has applied {', '.join(key_str(k) for k in hit)}, which "
                "regenerating would remove",
                hint=f"rebase instead (`migrator rebase {app} --database {alias} "
                f"--update-applied`), or unapply them there first",
            )
    if not regenerate.removed:
        raise RefusedError(
            f"nothing to regenerate in {app!r}: every moving migration is hand-written or "
            "named by another app",
            hint=f"rebase them as they are: `migrator rebase {app}`",
        )
    number = leading_number(sides.keep) or 0
    previous = end
    redirect: dict[Key, dict[Key, Key]] = {}
    for key in moving:
        if key in regenerate.removed:
            continue
        number += 1
        new = (app, renumbered(key[1], number))
        regenerate.kept[key] = new
        redirect[key] = {
            p: previous
            for p in own.predecessors(key)
            if p not in moving_set or p in regenerate.removed
        }
        previous = new
    _plan_files(regenerate, graph, redirect, use_git)
    regenerate.command = makemigrations_command(settings, app)
    folder = Path(graph.nodes[end]["path"]).parent
    if marker:
        regenerate.marker = folder / MARKER_FILE
    regenerate.plan.add(
        GeneratedFile(
            folder,
            regenerate.command,
            cwd,
            parse_makemigrations,
            f"makemigrations {app}",
            hint="makemigrations failed on the merged models: fix them and run again",
            then=None
            if regenerate.marker is None
            else partial(_marker_after, regenerate.marker, app, regenerate.last_kept),
        )
    )
    return regenerate


def _marker_after(path: Path, app: str, last_kept: str, generated: str | None) -> Change | None:
    """The marker change once makemigrations has run: it names the file it wrote, or,
    when it wrote none, the last kept migration."""
    return marker_change(path, generated or last_kept, f"{MARKER_FILE} for {app!r}")


def _plan_files(
    regenerate: Regenerate, graph: nx.DiGraph, redirect: dict[Key, dict[Key, Key]], use_git: bool
) -> None:
    app = regenerate.app
    renames = {old: new for old, new in regenerate.kept.items() if old != new}
    moves: list = []
    edits: list = []
    for key in regenerate.removed:
        path = Path(graph.nodes[key]["path"])
        data, _, _ = _read_source(path)
        regenerate.plan.add(DeleteFile(path, data, f"remove {key_str(key)}"))
    removed_paths = {Path(graph.nodes[k]["path"]) for k in regenerate.removed}
    for folder in _migration_folders(graph):
        for path in sorted(folder.glob("*.py")):
            if path in removed_paths:
                continue
            key = (app, path.stem)
            mine = key in graph and Path(graph.nodes[key]["path"]) == path
            mapping = dict(renames)
            if mine and key in redirect:
                mapping.update(redirect[key])
            data, old, encoding = _read_source(path)
            new = replace_keys(old, mapping)
            target = path
            if mine and key in renames:
                target = path.with_name(f"{renames[key][1]}.py")
                moves.append(RenameFile(path, target, use_git, f"rename {key_str(key)}"))
            if new != old:
                edits.append(EditFile(target, data, _encoded(path, new, encoding), "rewrite"))
                regenerate.edits.append(FileEdit(path, target, old, new))
    for change in [*order_renames(moves), *edits]:
        regenerate.plan.add(change)


def makemigrations_command(settings: SettingsChoice, app: str) -> tuple[str, ...]:
    """Django's own ``makemigrations APP`` on the project's settings, printing the file
    it would write instead of writing it (the journal writes it).

    Without the system checks: django-linear-migrations' refuse a marker file git left
    in conflict, which this very write fixes (it names the new leaf in the same step);
    the verification's ``makemigrations --check`` runs them all once it is written."""
    command = [sys.executable, "-m", "django", "makemigrations", app, "--dry-run"]
    command += ["--skip-checks"]
    command += ["--verbosity", "3", "--no-color", "--settings", settings.module]
    command += ["--pythonpath", str(settings.root.resolve())]
    for entry in settings.pythonpath:
        command += ["--pythonpath", str(entry.resolve())]
    return tuple(command)


_FULL_FILE = re.compile(r"^Full migrations file '([^'/]+\.py)':$", re.MULTILINE)


def parse_makemigrations(out: str) -> tuple[str, str] | None:
    """The file ``makemigrations --dry-run --verbosity 3`` would write (name, source), or
    ``None`` when it detected no change. Refused when it would write several."""
    found = list(_FULL_FILE.finditer(out))
    if not found:
        return None
    if len(found) > 1:
        raise OSError(
            "makemigrations would write "
            + ", ".join(m.group(1) for m in found)
            + "; regenerate writes one"
        )
    return found[0].group(1), out[found[0].end() + 1 :]


def regenerate_verifiers(
    regenerate: Regenerate, options: ProjectOptions, choice: SettingsChoice
) -> list[Callable[[], str | None]]:
    """The checks, to run after writing, that Django agrees with the regenerated app, each
    in a fresh process: ``makemigrations --check`` finds nothing left to write, and
    ``migrate`` runs on test databases from empty and from the kept branch's leaf."""
    app = regenerate.app
    return [
        command_verifier(
            django_command(choice, "makemigrations", "--check", "--dry-run", app),
            options,
            choice,
            f"`makemigrations --check {app}`",
        ),
        command_verifier(
            migrator_command(choice, "trial-migrate", "--", f"{app}.{regenerate.keep}"),
            options,
            choice,
            "`migrate` on test databases",
        ),
    ]


@dataclass(frozen=True)
class Preview:
    """What makemigrations would write into ``folder``: ``path`` and ``source``, or
    ``None`` for both when it would write nothing."""

    folder: Path
    path: Path | None
    source: str | None


def preview(plan: WritePlan, root: Path) -> list[Preview] | None:
    """For ``--dry-run``: what makemigrations would write once ``plan``'s changes are
    made, found on a throwaway copy of the project folder ``root`` (see
    :mod:`migrator.write.rehearse`); ``None`` when the plan reaches outside it. Refused
    when makemigrations fails there, as the real run would be."""
    try:
        generated = rehearse(plan, root)
    except OSError as exc:
        raise RefusedError(
            f"makemigrations fails on a copy of the project with these changes: "
            f"{exc.strerror or exc}",
            hint="fix the merged models and run again; nothing was written",
        ) from None
    if generated is None:
        return None
    return [Preview(g.step.folder, g.path, g.source) for g in generated]


def regenerate_app(
    graph: nx.DiGraph,
    app: str,
    *,
    keep: str | None,
    move: list[str] | None,
    onto: str | None,
    databases: list[str],
    settings: SettingsChoice,
    cwd: Path,
    markers: Collection[str] = (),
) -> Regenerate | None:
    """Plan the regenerating rebase of ``app`` (``None``: one leaf, nothing to do).
    ``databases``: the aliases named (each must be readable); without any, ``default``
    is read when it can be. ``markers``: the apps that use marker files."""
    from migrator import git
    from migrator.project import select_apps
    from migrator.rebase import conflict_leaves, git_sides, named_sides, read_databases

    select_apps(graph, [app])
    leaves = conflict_leaves(graph, app)
    if not leaves:
        return None
    sides = (
        named_sides(app, leaves, keep, move)
        if keep or move
        else git_sides(graph, app, leaves, onto, cwd)
    )
    read = read_databases(databases or ["default"])
    applied: dict[str, frozenset[Key] | None] = {}
    for alias, (rows, error) in read.items():
        if rows is None and databases:
            raise RefusedError(
                f"database {alias!r} cannot be read ({error}): cannot tell whether it "
                "applied the migrations regenerating removes",
                hint="make it reachable, or leave it out of --database",
            )
        applied[alias] = rows
    return plan_regenerate(
        graph,
        app,
        sides,
        applied=applied,
        settings=settings,
        cwd=cwd,
        use_git=git.toplevel(cwd) is not None,
        marker=app in markers,
    )
