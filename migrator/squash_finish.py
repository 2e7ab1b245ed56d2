"""``migrator squash --finish [APP...]``: the transition Django leaves to the team once a
squashed migration has reached every database.

For each squashed migration whose replaced files are still on disk (the report's
"cleanup", :func:`migrator.squash.cleanup`), in the project's own apps:

1. judged safe or refused: every ``--database`` must have recorded the squashed
   migration as applied (Django does it on any ``migrate`` once every replaced
   migration is), or have applied none of the replaced ones (it will run the squashed
   migration); ``--force`` skips that judgement, never the others (a ``RunPython`` of
   the squashed migration living in a replaced file, a dependent outside the project or
   whose reference is not a literal, a cycle the repointing would make);
2. one plan: the replaced files deleted (and those of an earlier squash they include),
   ``replaces`` removed, every ``dependencies``/``run_before`` in any app that names a
   replaced migration repointed to the squashed one, the marker files made to name the
   new leaves; applied all-or-nothing with the journal;
3. verified in fresh processes: ``migrator check`` finds no new problem (no cycle);
   test databases migrated from empty give the schema from before, and one with the
   rows an up-to-date database had has nothing left to migrate and shows the squashed
   migrations applied (:mod:`migrator.django.finishing`).

The rows of ``django_migrations`` are not touched (see :mod:`migrator.django.finishing`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator.errors import RefusedError, UsageError
from migrator.graph import InstalledOnly, Key, installed_apps, installed_only, key_str
from migrator.markers import MARKER_FILE, marker_apps, marker_change, marker_path
from migrator.project import Project, load_project, select_apps
from migrator.squash_apply import failure_of, fresh_command, run_fresh, trial_failure
from migrator.write.finishedit import drop_replaces, repoint
from migrator.write.plan import DeleteFile, EditFile, WritePlan
from migrator.write.sourceedit import decode_source, encode_source

# Why a squashed migration is not finished (a Refusal's kind).
PARTLY_APPLIED = "partly-applied"  # a database applied only part of the replaced ones
NOT_RECORDED = "not-recorded"  # applied them all, but has no row of the squashed one yet
UNREADABLE = "unreadable"  # a database that cannot be read
NO_DATABASE = "no-database"  # --static: no database can be read
FUNCTIONS = "functions"  # a RunPython of the squashed migration lives in a replaced file
NOT_OURS = "not-ours"  # a dependent in an app outside the project: its file is not ours
NOT_LITERAL = "not-literal"  # a dependent names a replaced one other than as a literal
NO_REPLACES = "no-replaces"  # the squashed file's replaces cannot be cut out
CYCLE = "cycle"  # repointing would make a cycle
#: Refusals ``--force`` overrides: what the databases say.
DATABASE_KINDS = frozenset({PARTLY_APPLIED, NOT_RECORDED, UNREADABLE, NO_DATABASE})

# How a database stands with one squashed migration.
RECORDED = "recorded"  # its row of the squashed migration exists
NONE_APPLIED = "none-applied"  # none of the replaced ones: it will run the squashed one


@dataclass(frozen=True)
class Refusal:
    kind: str
    database: str | None = None
    keys: tuple[Key, ...] = ()  # the migrations it is about
    detail: str = ""  # a database's error; counts as "applied/total"


@dataclass
class Finish:
    """One squashed migration's transition."""

    squashed: Key
    replaced: tuple[Key, ...]  # files to delete (an earlier squash's included)
    names: frozenset[Key] = frozenset()  # every key it replaces in the end, file or not
    dependents: tuple[tuple[Key, Key], ...] = ()  # (migration, the replaced one it names)
    databases: dict[str, str] = field(default_factory=dict)  # alias -> RECORDED | ...
    refusals: list[Refusal] = field(default_factory=list)
    within: Key | None = None  # finished by a later squash that replaces it

    @property
    def blocking(self) -> list[Refusal]:
        return [r for r in self.refusals if r.kind not in DATABASE_KINDS]


@dataclass
class SquashFinish:
    """What ``squash --finish`` did (or would do)."""

    finishes: list[Finish]
    databases: list[str]
    force: bool = False
    dry_run: bool = False
    plan: WritePlan = field(default_factory=WritePlan)
    written: list[Path] = field(default_factory=list)
    # None named, and every app with migrations is Django's or an installed package's:
    # nothing else was judged (--finish refuses, naming them)
    installed_only: InstalledOnly | None = None

    def is_ready(self, finish: Finish) -> bool:
        if finish.within is not None or finish.blocking:
            return False
        return self.force or not finish.refusals

    @property
    def finished(self) -> list[Finish]:
        return [f for f in self.finishes if self.is_ready(f)]

    @property
    def refused(self) -> list[Finish]:
        return [f for f in self.finishes if f.within is None and not self.is_ready(f)]


def _closure(full: nx.DiGraph, squashed: Key) -> tuple[set[Key], set[Key]]:
    """The replaced migrations with a file (an earlier squash's, recursively) and every
    key the squash replaces in the end, file or not, that is no squash itself."""
    on_disk: set[Key] = set()
    members: set[Key] = set()
    pending = [tuple(k) for k in full.nodes[squashed].get("replaces", ())]
    while pending:
        key = pending.pop()
        if key in on_disk or key in members:
            continue
        named = full.nodes[key].get("replaces", ()) if key in full else ()
        if key in full:
            on_disk.add(key)
        if named:
            pending += [tuple(k) for k in named]
        else:
            members.add(key)
    return on_disk, members


def _database_refusal(
    alias: str, read: tuple[frozenset[Key] | None, str | None], squashed: Key, members: set[Key]
) -> tuple[str | None, Refusal | None]:
    rows, error = read
    if rows is None:
        return None, Refusal(UNREADABLE, alias, (squashed,), error or "")
    if squashed in rows:
        return RECORDED, None
    applied = members & rows
    if not applied:
        return NONE_APPLIED, None
    missing = tuple(sorted(members - rows))
    if not missing:
        return None, Refusal(NOT_RECORDED, alias, (squashed,))
    return None, Refusal(PARTLY_APPLIED, alias, missing, f"{len(applied)}/{len(members)}")


def _named(data: dict) -> set[Key]:
    return {tuple(k) for k in (*data.get("dependencies", ()), *data.get("run_before", ()))}


def _after(full: nx.DiGraph, deleted: set[Key], mapping: dict[Key, Key]) -> nx.DiGraph:
    """The graph the files will make: ``deleted`` gone, names repointed by ``mapping``."""
    graph: nx.DiGraph = nx.DiGraph()
    kept = [k for k in full.nodes if k not in deleted]
    graph.add_nodes_from(kept)
    for node in kept:
        data = full.nodes[node]
        for parent in data.get("dependencies", ()):
            parent = mapping.get(tuple(parent), tuple(parent))
            if parent in graph:
                graph.add_edge(parent, node)
        for child in data.get("run_before", ()):
            child = mapping.get(tuple(child), tuple(child))
            if child in graph:
                graph.add_edge(node, child)
    return graph


def _read(path: Path) -> tuple[bytes, str, str]:
    data = path.read_bytes()
    text, encoding = decode_source(data)
    return data, text, encoding


def judge(
    project: Project,
    full: nx.DiGraph,
    labels: list[str] | None,
    rows: dict[str, tuple[frozenset[Key] | None, str | None]] | None,
) -> list[Finish]:
    """Every squashed migration of the project's apps (``labels``: of those) with
    replaced files on disk, judged. ``rows``: per database alias, its applied rows (or
    ``None`` and why); ``None`` when no database can be read (``--static``)."""
    from migrator.squash import cleanup

    local = {label for label, info in installed_apps(full).items() if info.local}
    finishes = []
    for item in cleanup(full, labels):
        if item.squashed[0] not in local:
            continue  # a third-party app's squash is its maintainers' to finish
        on_disk, members = _closure(full, item.squashed)
        names = frozenset(on_disk | members)
        finish = Finish(item.squashed, tuple(sorted(on_disk)), names)
        dependents = sorted(
            (other, target)
            for other in full.nodes
            if other not in on_disk and other != item.squashed
            for target in _named(full.nodes[other])
            if target in names
        )
        finish.dependents = tuple(dependents)
        if rows is None:
            finish.refusals.append(Refusal(NO_DATABASE, None, (item.squashed,)))
        else:
            for alias, read in sorted(rows.items()):
                state, refusal = _database_refusal(alias, read, item.squashed, members)
                if state is not None:
                    finish.databases[alias] = state
                if refusal is not None:
                    finish.refusals.append(refusal)
        for function, module in item.functions:
            finish.refusals.append(Refusal(FUNCTIONS, None, (module,), function))
        for other in sorted({other for other, _ in dependents}):
            if other[0] not in local:
                finish.refusals.append(Refusal(NOT_OURS, None, (other,)))
        finishes.append(finish)
    return finishes


def _nest(finishes: list[Finish], force: bool) -> None:
    """A squash that a later one replaces goes with it when the later one is finished
    (and is finished alone when the later one is refused)."""
    for inner in finishes:
        inner.within = None
        for outer in finishes:
            going = not outer.blocking and (force or not outer.refusals)
            if outer is not inner and inner.squashed in outer.replaced and going:
                inner.within = outer.squashed


def _plan(project: Project, full: nx.DiGraph, result: SquashFinish) -> bool:
    """Plan the changes of the finishes ``result`` makes (edits, deletions, markers);
    ``False``, with nothing planned, when one of them turned out to be refused."""
    ready = result.finished
    mapping = {key: f.squashed for f in ready for key in f.names}
    deleted = {key for f in ready for key in f.replaced}
    after = _after(full, deleted, mapping)
    if not nx.is_directed_acyclic_graph(after):
        cycle = tuple(parent for parent, _ in nx.find_cycle(after))
        for finish in ready:
            finish.refusals.append(Refusal(CYCLE, None, cycle))
        return True
    squashed = {f.squashed for f in ready}
    edited = sorted(
        {other for f in ready for other, _ in f.dependents if other not in deleted} | squashed
    )
    edits, owner = [], {}
    for f in ready:
        owner.update({f.squashed: f, **{other: f for other, _ in f.dependents}})
    for key in edited:
        path = Path(full.nodes[key]["path"])
        data, text, encoding = _read(path)
        if key in squashed:
            cut = drop_replaces(text)
            if cut is None:
                owner[key].refusals.append(Refusal(NO_REPLACES, None, (key,)))
                continue
            text = cut
        wanted = _named(full.nodes[key]) & set(mapping)
        new, done = repoint(text, mapping)
        if wanted - done:
            owner[key].refusals.append(Refusal(NOT_LITERAL, None, (key, *sorted(wanted - done))))
            continue
        edits.append(EditFile(path, data, encode_source(new, encoding), f"finish {key_str(key)}"))
    if any(f.blocking for f in ready):
        return False  # plan again without it
    for edit in edits:
        result.plan.add(edit)
    for key in sorted(deleted):
        path = Path(full.nodes[key]["path"])
        result.plan.add(DeleteFile(path, path.read_bytes(), f"replaced by {key_str(mapping[key])}"))
    using = marker_apps(project.graph, project.options)
    for app in sorted({f.squashed[0] for f in ready} & using):
        tips = [
            k
            for k in after.nodes
            if k[0] == app and not any(c[0] == app for c in after.successors(k))
        ]
        marker = marker_path(project.graph, app)
        if len(tips) == 1 and marker is not None:
            change = marker_change(marker, tips[0][1], MARKER_FILE)
            if change is not None:
                result.plan.add(change)
    return True


def _before(project: Project, database: str, scratch: Path) -> Path:
    """The schema and rows a test database gets with the files as they are."""
    out = scratch / "before.json"
    argv = fresh_command(project, "squash-finish-before", "--database", database, "--out", str(out))
    try:
        proc = run_fresh(argv, project)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RefusedError(f"could not migrate a test database in a new process: {exc}") from None
    if proc.returncode != 0 or not out.is_file():
        message, hint = failure_of(proc)
        raise RefusedError(
            f"migrating a test database before the change failed: {message}",
            hint=hint or "nothing was written",
        )
    return out


def trial_verifier(
    project: Project, before: Path, database: str, squashed: list[Key]
) -> Callable[[], str | None]:
    """After writing: the proof on test databases (``squash-finish-trial``)."""

    def verify() -> str | None:
        out = before.with_name("trial.json")
        argv = fresh_command(
            project,
            "squash-finish-trial",
            "--database",
            database,
            "--out",
            str(out),
            str(before),
            *map(key_str, squashed),
        )
        return trial_failure(project, argv, out)

    return verify


def squash_finish(
    project: Project,
    app_labels: list[str],
    databases: list[str],
    *,
    force: bool,
    dry_run: bool,
) -> SquashFinish:
    """Judge, plan and (unless ``dry_run``) write and verify the transitions; with no app
    named and every app with migrations Django's or an installed package's, nothing is
    judged (``installed_only`` says so)."""
    static = project.options.static
    if static and not dry_run:
        raise UsageError(
            "--finish proves the change by migrating test databases with Django: it "
            "cannot be --static",
            hint="drop --static (or add --dry-run to see the plan)",
        )
    if static and databases:
        raise UsageError("--database needs Django to read the database", hint="drop --static")
    labels = select_apps(project.graph, app_labels) if app_labels else None
    installed = installed_apps(project.graph).values()
    if labels is None and len(project.graph) and not any(i.local and i.migrated for i in installed):
        # A third-party app's squash is its maintainers' to finish, even when named.
        return SquashFinish(
            [], [], force=force, dry_run=dry_run, installed_only=installed_only(project.graph)
        )
    aliases = sorted(set(databases or ([] if static else ["default"])))
    full = load_project(project.options, replace_migrations=False).graph
    rows = None
    if not static:
        from migrator.rebase import read_databases

        rows = read_databases(aliases)
    result = SquashFinish([], aliases, force=force, dry_run=dry_run)
    result.finishes = judge(project, full, labels, rows)
    _nest(result.finishes, force)
    while result.finished and not _plan(project, full, result):
        _nest(result.finishes, force)
    if dry_run or not result.plan:
        return result
    from migrator.recover import journal_for
    from migrator.write.plan import apply_plan
    from migrator.write.verify import all_of, single_leaf_verifier

    scratch = Path(tempfile.mkdtemp(prefix="migrator-finish-"))
    try:
        before = _before(project, aliases[0], scratch)
        verify = all_of(
            single_leaf_verifier(project.options, project.settings, [], project.problems),
            trial_verifier(project, before, aliases[0], [f.squashed for f in result.finished]),
        )
        result.written = apply_plan(
            result.plan, verify, journal=journal_for(project.options.cwd), command="squash"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result
