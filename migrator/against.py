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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.errors import UsageError
from migrator.problems import Problem
from migrator.project import load_project, migration_folders
from migrator.settings import ProjectOptions

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

    def side_of(self, path: str | None) -> str | None:
        return self.sides.get(path) if path else None


def predict(options: ProjectOptions, ref: str) -> Prediction:
    """Load the graph a merge of ``ref`` would produce (statically or with Django)."""
    cwd = options.cwd.resolve()
    top = git.toplevel(cwd)
    if top is None:
        raise UsageError("--against needs a git repository", hint="run inside the repository")
    ref_sha = git.rev_parse(ref, top)
    if ref_sha is None:
        raise UsageError(
            f"unknown revision {ref!r}",
            hint="fetch it first (git fetch origin) or name a branch or commit",
        )
    head = git.rev_parse("HEAD", top)
    base = git.merge_base(head, ref_sha, top) if head else None
    overlay, sides = merged_overlay(top, migration_folders(options), ref, ref_sha, base)
    project = load_project(options, overlay=overlay)
    return Prediction(
        ref, ref_sha, base, project.graph, project.problems, _sides_of_nodes(project.graph, sides)
    )


# -- the merge of the migration packages ------------------------------------------------


def merged_overlay(
    top: Path, folders: list[Path], ref: str, ref_sha: str, base: str | None
) -> tuple[dict[Path, bytes | None], dict[Path, str]]:
    """What a merge of ``ref_sha`` would leave in each migrations folder, where it differs
    from the working tree; and the side every resulting file comes from."""
    relative = {}
    for folder in folders:
        try:
            relative[folder.resolve().relative_to(top.resolve()).as_posix()] = folder
        except ValueError:
            continue  # outside the repository: the merge cannot change it
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
