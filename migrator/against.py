"""``check --against REF``: the migration graph a merge of REF into the working tree
would have, judged before merging.

The migration files at REF are read from git objects (``git ls-tree``, one
``git cat-file --batch``): nothing is checked out, the working tree is untouched. Each
file of the migration packages is merged three-way as git would merge it (merge base,
working tree, REF): a file changed on one side only takes that side, a file changed on
both goes through ``git merge-file`` (and keeps git's conflict markers when the hunks
collide, which the loader then reports).

The result is an *overlay*, path -> merged bytes (``None``: deleted by the merge), that
replaces those files while the graph is loaded (:func:`migrator.project.load_project`):

* statically, the overlay is parsed in memory;
* with Django, the migration packages it touches are copied to a temporary folder with
  the overlay written in, and Django loads them there through ``MIGRATION_MODULES``
  (:mod:`migrator.django.loader`): the union is judged by Django itself, on the
  project's real settings, without writing into the project.

Apps that exist only at REF (a new app on the other branch) are not part of the
prediction: they are not installed in the working tree's settings either.

``check --against BASE --heads PATTERN...`` (:func:`predict_heads`) predicts many merges
in one run: for each head, the merge of the head into BASE, both read from git objects
(the working tree only says where the apps and their migrations folders are). BASE's
tree, the files on disk and every blob any merge needs are read once; each head's
merged files are an overlay loaded statically (a head is someone else's code: nothing
of it runs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.check import CheckReport, check_graph
from migrator.errors import UsageError
from migrator.problems import Problem
from migrator.project import load_project, migration_packages, select_apps
from migrator.published import PublishedChange, allowed_names, published_changes
from migrator.settings import ProjectOptions, SettingsChoice

#: Where a migration file of the predicted merge comes from.
WORKING_TREE = "working tree"
BOTH = "both"
MERGED = "merged"  # changed on both sides: the result of git's three-way merge


@dataclass
class Prediction:
    """The predicted post-merge graph and where each of its migration files comes from."""

    ref: str
    ref_sha: str
    base_sha: str | None
    graph: nx.DiGraph
    problems: list[Problem]
    sides: dict[str, str] = field(default_factory=dict)  # absolute path -> side
    changes: list[PublishedChange] = field(default_factory=list)  # published, then edited
    settings: SettingsChoice | None = None  # the settings the graph was loaded with

    def side_of(self, path: str | None) -> str | None:
        return self.sides.get(path) if path else None

    def is_ok(self, report: CheckReport) -> bool:
        """The check of this merge passes: ``report`` is clean and no published
        migration was changed (but for formatting, or allowed)."""
        return report.ok and not any(c.is_error for c in self.changes)


def _repository(options: ProjectOptions) -> Path:
    top = git.toplevel(options.cwd.resolve())
    if top is None:
        raise UsageError("--against needs a git repository", hint="run inside the repository")
    return top


def _commit(ref: str, top: Path) -> str:
    sha = git.rev_parse(ref, top)
    if sha is None:
        raise UsageError(
            f"unknown revision {ref!r}",
            hint="fetch it first (git fetch origin) or name a branch or commit",
        )
    return sha


def predict(options: ProjectOptions, ref: str) -> Prediction:
    """Load the graph a merge of ``ref`` would produce (statically or with Django)."""
    top = _repository(options)
    ref_sha = _commit(ref, top)
    head = git.rev_parse("HEAD", top)
    base = git.merge_base(head, ref_sha, top) if head else None
    packages = migration_packages(options)
    changes = (
        published_changes(top, packages, base, None, allowed_names(options.cwd)) if base else []
    )
    overlay, sides = merged_overlay(top, list(packages.values()), ref, ref_sha, base)
    project = load_project(options, overlay=overlay)
    return Prediction(
        ref,
        ref_sha,
        base,
        project.graph,
        project.problems,
        _sides_of_nodes(project.graph, sides),
        changes,
        project.settings,
    )


# -- the merge of the migration packages ------------------------------------------------


def merged_overlay(
    top: Path, folders: list[Path], ref: str, ref_sha: str, base: str | None
) -> tuple[dict[Path, bytes | None], dict[Path, str]]:
    """What a merge of ``ref_sha`` would leave in each migrations folder, where it differs
    from the working tree; and the side every resulting file comes from."""
    relative = _relative_folders(top, folders)
    rels = sorted(relative)
    theirs = git.tree_blobs(ref_sha, rels, top)
    based = git.tree_blobs(base, rels, top) if base else {}
    blobs = git.read_blobs([*theirs.values(), *based.values()], top)
    overlay: dict[Path, bytes | None] = {}
    sides: dict[Path, str] = {}
    for rel_folder, folder in relative.items():
        names = {
            p.rpartition("/")[2] for p in (*theirs, *based) if p.rpartition("/")[0] == rel_folder
        }
        names |= {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
        for name in sorted(n for n in names if n.endswith(".py")):
            rel = f"{rel_folder}/{name}"
            path = folder / name
            ours = path.read_bytes() if path.is_file() else None
            their = blobs.get(theirs[rel]) if rel in theirs else None
            common = blobs.get(based[rel]) if rel in based else None
            result, side = _merge_one(ours, common, their, ref, top)
            if result != ours:
                overlay[path] = result
            if result is not None:
                sides[path] = side
    return overlay, sides


def _relative_folders(top: Path, folders: list[Path]) -> dict[str, Path]:
    """Migrations folders inside the repository, by their path relative to its top."""
    relative = {}
    for folder in folders:
        try:
            relative[folder.resolve().relative_to(top.resolve()).as_posix()] = folder
        except ValueError:
            continue  # outside the repository: the merge cannot change it
    return relative


def _merge_one(
    ours: bytes | None, base: bytes | None, theirs: bytes | None, ref: str, top: Path
) -> tuple[bytes | None, str]:
    """One file's three-way merge, as git resolves it."""
    if ours == theirs:
        return ours, BOTH
    if theirs == base:
        return ours, WORKING_TREE
    if ours == base:
        return theirs, ref
    if ours is None or theirs is None:
        # modify/delete: git stops with a conflict and leaves the modified file.
        return (ours, WORKING_TREE) if theirs is None else (theirs, ref)
    merged = git.merge_file(ours, base or b"", theirs, ("working tree", "merge base", ref), top)
    if merged is None:
        raise UsageError("cannot run git merge-file", hint="check that git works here")
    return merged[0], MERGED


def _sides_of_nodes(graph: nx.DiGraph, sides: dict[Path, str]) -> dict[str, str]:
    by_path = {str(p): side for p, side in sides.items()}
    return {
        data["path"]: by_path.get(data["path"], BOTH)
        for _, data in graph.nodes(data=True)
        if data.get("path")
    }


# -- many heads: check --against BASE --heads PATTERN... ---------------------------------


@dataclass
class HeadPrediction:
    """What merging one head into BASE would give: its check report, where each
    migration file of the merge comes from, and (when asked) each conflict explained."""

    head: git.Head
    merge_base: str | None
    report: CheckReport
    sides: dict[str, str] = field(default_factory=dict)  # conflicting leaf's path -> side
    explanations: list = field(default_factory=list)  # explain.AppExplanation per conflict
    changes: list[PublishedChange] = field(default_factory=list)  # published, then edited

    @property
    def ok(self) -> bool:
        return self.report.ok and not any(c.is_error for c in self.changes)

    def side_of(self, path: str | None) -> str | None:
        return self.sides.get(path) if path else None


@dataclass
class HeadsPrediction:
    """Every head's predicted merge into ``ref``."""

    ref: str
    ref_sha: str
    heads: list[HeadPrediction]
    unmatched: list[str]  # patterns that named no ref

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.heads)


# A file of a head's merge, before its bytes are read: a blob id, or the three blob ids
# of a file both sides changed (``git merge-file``); with its side.
_Merged = tuple[str | tuple[str | None, str | None, str | None], str]


def predict_heads(
    options: ProjectOptions,
    ref: str,
    patterns: list[str],
    app_labels: list[str] | None = None,
    *,
    explain: bool = False,
) -> HeadsPrediction:
    """Predict, for every head the patterns name, the merge of that head into ``ref``,
    statically, from git objects only. ``explain``: explain each predicted conflict."""
    options = replace(options, static=True)
    top = _repository(options)
    ref_sha = _commit(ref, top)
    heads, unmatched = git.resolve_heads(patterns, top)
    for pattern in unmatched:
        if not git.is_ref_pattern(pattern):
            raise UsageError(
                f"--heads: no revision or ref is named {pattern!r}",
                hint="fetch it first (git fetch origin 'refs/pull/*/head:refs/remotes/pull/*') "
                "or quote a pattern such as 'refs/remotes/origin/*'",
            )
    packages = migration_packages(options)
    allowed = allowed_names(options.cwd)
    relative = _relative_folders(top, list(packages.values()))
    rels = sorted(relative)
    ours = git.tree_blobs(ref_sha, rels, top)
    on_disk = _files_on_disk(relative)
    disk_ids = {rel: _blob_id(content, ref_sha) for rel, content in on_disk.items()}

    plans = []
    for head in heads:
        base = git.merge_base(ref_sha, head.sha, top)
        theirs = git.tree_blobs(head.sha, rels, top)
        common = git.tree_blobs(base, rels, top) if base else {}
        plans.append((head, base, _merge_ids(ours, common, theirs, ref, head.name)))
    needed: set[str] = set()
    for _, _, merged in plans:
        for rel, (blob, _) in merged.items():
            if isinstance(blob, tuple):
                needed.update(b for b in blob if b)
            elif blob != disk_ids.get(rel):
                needed.add(blob)
    blobs = git.read_blobs(sorted(needed), top)

    paths = {
        rel: relative[rel.rpartition("/")[0]] / rel.rpartition("/")[2]
        for rel in {*on_disk, *(rel for _, _, merged in plans for rel in merged)}
    }
    predictions = []
    # Most pull requests change no migration: their merges hold the same files as
    # BASE's, so heads whose merged files are the same share one load and verdict.
    judged: dict[tuple, tuple[CheckReport, list]] = {}
    for head, base, merged in plans:
        overlay: dict[Path, bytes | None] = {}
        for rel in sorted({*merged, *on_disk}):
            content = _content(
                merged.get(rel),
                (disk_ids.get(rel), on_disk.get(rel)),
                blobs,
                (ref, "merge base", head.name),
                top,
            )
            if content != on_disk.get(rel):
                overlay[paths[rel]] = content
        key = tuple(
            (str(path), None if content is None else hashlib.blake2b(content).digest())
            for path, content in sorted(overlay.items())
        )
        if key not in judged:
            project = load_project(options, overlay=overlay)
            labels = select_apps(project.graph, app_labels or [], only_migrated=True)
            report = check_graph(project.graph, project.problems, labels)
            explained = explain_conflicts(project.graph, report) if explain else []
            judged[key] = (report, explained)
            del project  # one graph at a time
        report, explanations = judged[key]
        sides = {str(paths[rel]): side for rel, (_, side) in merged.items()}
        predictions.append(
            HeadPrediction(
                head,
                base,
                report,
                {p: sides.get(p, BOTH) for c in report.conflicts for p in c.paths if p},
                explanations,
                published_changes(top, packages, base, head.sha, allowed) if base else [],
            )
        )
    return HeadsPrediction(ref, ref_sha, predictions, unmatched)


def explain_conflicts(graph: nx.DiGraph, report: CheckReport) -> list:
    """``explain``'s verdict on each conflict of the report (an app ``explain`` refuses,
    one whose migrations form a cycle, is left out)."""
    from migrator.errors import RefusedError
    from migrator.explain import explain_app  # replays operations: only when asked

    found = []
    for conflict in report.conflicts:
        try:
            found.append(explain_app(graph, conflict.app))
        except RefusedError:
            continue
    return found


def _files_on_disk(relative: dict[str, Path]) -> dict[str, bytes]:
    found = {}
    for rel_folder, folder in relative.items():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.suffix == ".py" and path.is_file():
                found[f"{rel_folder}/{path.name}"] = path.read_bytes()
    return found


def _blob_id(content: bytes, like: str) -> str:
    """The id git gives a blob of ``content`` (SHA-1, or SHA-256 in such repositories)."""
    algorithm = hashlib.sha256 if len(like) == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(content) + content).hexdigest()


def _merge_ids(
    ours: dict[str, str], base: dict[str, str], theirs: dict[str, str], ours_name: str, name: str
) -> dict[str, _Merged]:
    """Each ``.py`` file's three-way merge by blob id, as :func:`_merge_one` by content;
    files the merge deletes are left out."""
    merged: dict[str, _Merged] = {}
    for rel in sorted({*ours, *base, *theirs}):
        mine, common, their = ours.get(rel), base.get(rel), theirs.get(rel)
        if not rel.endswith(".py"):
            continue
        if mine == their or their == common or their is None:
            # the same on both sides, changed on ours only, or modify/delete (git keeps
            # the modified file)
            if mine is not None:
                merged[rel] = (mine, BOTH if mine == their else ours_name)
        elif mine == common or mine is None:
            merged[rel] = (their, name)
        else:
            merged[rel] = ((mine, common, their), MERGED)
    return merged


def _content(
    merged: _Merged | None,
    disk: tuple[str | None, bytes | None],
    blobs: dict[str, bytes],
    labels: tuple[str, str, str],
    top: Path,
) -> bytes | None:
    """A file's bytes after the merge (``None``: the merge deletes it); ``disk`` is the
    file in the working tree (blob id, bytes), reused when they are the same."""
    if merged is None:
        return None
    blob = merged[0]
    if isinstance(blob, tuple):  # changed on both sides
        ours, base, theirs = (blobs.get(b, b"") if b else b"" for b in blob)
        result = git.merge_file(ours, base, theirs, labels, top)
        if result is None:
            raise UsageError("cannot run git merge-file", hint="check that git works here")
        return result[0]
    return disk[1] if blob == disk[0] else blobs.get(blob, b"")
