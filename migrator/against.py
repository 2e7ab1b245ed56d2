"""``check --against REF``: the migration graph a merge of REF into the working tree
would have, judged before merging.

The migration files at REF are read from git objects (``git ls-tree``, one
``git cat-file --batch``): nothing is checked out, the working tree is untouched. Each
file of the migration packages is merged three-way as git would merge it (merge base,
working tree, REF): a file changed on one side only takes that side, a file changed on
both goes through ``git merge-file`` (and keeps git's conflict markers when the hunks
collide, which the loader then reports).

The result is an *overlay*, path -> merged bytes (``None``: deleted by the merge), that
replaces those files while the graph is loaded:

* statically, the overlay is parsed in memory;
* with Django, the migration packages are copied to a temporary folder with the overlay
  written in, and Django loads them there through ``MIGRATION_MODULES``: the union is
  judged by Django itself, on the project's real settings, without writing into the
  project.

Apps that exist only at REF (a new app on the other branch) are not part of the
prediction: they are not installed in the working tree's settings either.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.errors import UsageError
from migrator.problems import Problem
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
    if options.static:
        from migrator.static import load_static_graph

        folders = [app.migrations for app in _static_apps(options)]
        overlay, sides = merged_overlay(top, folders, ref, ref_sha, base)
        loaded = load_static_graph(options, overlay=overlay)
        return Prediction(
            ref, ref_sha, base, loaded.graph, loaded.problems, _sides_of_nodes(loaded.graph, sides)
        )
    return _predict_with_django(options, top, ref, ref_sha, base)


def _static_apps(options: ProjectOptions):
    from migrator.static.apps import discover

    return [app for app in discover(options).apps if app.migrations is not None and app.local]


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


# -- with Django: load the union through MIGRATION_MODULES --------------------------------


def _predict_with_django(
    options: ProjectOptions, top: Path, ref: str, ref_sha: str, base: str | None
) -> Prediction:
    from migrator.django.setup import setup_django

    choice = setup_django(options)
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    from migrator.django.loader import load_graph

    folders: dict[str, Path] = {}
    for config in apps.get_app_configs():
        module, _ = MigrationLoader.migrations_module(config.label)
        folder = _package_folder(module) if module else None
        if folder is not None and folder.resolve().is_relative_to(top.resolve()):
            folders[config.label] = folder
    overlay, sides = merged_overlay(top, list(folders.values()), ref, ref_sha, base)
    with tempfile.TemporaryDirectory(prefix="migrator-against-") as tmp:
        modules, back = {}, {}
        for label, folder in folders.items():
            package = f"_migrator_against_{label}"
            copy = Path(tmp) / package
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
            for path, content in overlay.items():
                if path.parent == folder:
                    target = copy / path.name
                    if content is None:
                        target.unlink(missing_ok=True)
                    else:
                        target.write_bytes(content)
            modules[label] = package
            back[str(copy)] = str(folder)
        settings.MIGRATION_MODULES = {**getattr(settings, "MIGRATION_MODULES", {}), **modules}
        sys.path.insert(0, tmp)
        try:
            loaded = load_graph(root=choice.root)
        finally:
            sys.path.remove(tmp)
        graph = loaded.graph
        for _, data in graph.nodes(data=True):
            data["path"] = _map_back(data["path"], back)
        problems = [_problem_back(p, back) for p in loaded.problems]
    return Prediction(ref, ref_sha, base, graph, problems, _sides_of_nodes(graph, sides))


def _package_folder(module: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except Exception:
        return None
    if spec is None or not spec.submodule_search_locations or spec.origin in (None, "namespace"):
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _map_back(path: str | None, back: dict[str, str]) -> str | None:
    if path is None:
        return None
    for copy, folder in back.items():
        if path.startswith(copy + "/"):
            return folder + path[len(copy) :]
    return path


def _problem_back(problem: Problem, back: dict[str, str]) -> Problem:
    return Problem(
        problem.kind,
        problem.message,
        problem.app,
        problem.migration,
        _map_back(problem.path, back),
        problem.line,
    )
