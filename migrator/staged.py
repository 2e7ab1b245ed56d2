"""``check --staged``: judge the migrations the next commit holds (git's index), not the
working tree.

A migration that is committed or staged may depend on a migration whose file is only in
the working tree: untracked, ignored, never staged, or deleted in the index. It passes
locally (the file is there) and fails for everyone who checks out the commit. The graph
is loaded with an overlay that makes the migrations folders read as the index has them
(every file the index lacks hidden, every staged version in place of the working
tree's), so every problem the commit would have is found; a missing dependency whose
file is in the working tree is reported as ``unstaged-dependency``, with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migrator import git
from migrator import problems as kinds
from migrator.check import CheckReport, check_graph
from migrator.errors import UsageError
from migrator.graph import key_str
from migrator.problems import Problem
from migrator.project import load_project, migration_packages, select_apps
from migrator.settings import ProjectOptions
from migrator.sourcefiles import reference_line

if TYPE_CHECKING:
    import networkx as nx


def check_staged(options: ProjectOptions, app_labels: list[str] | None = None) -> CheckReport:
    top = git.toplevel(options.cwd.resolve())
    if top is None:
        raise UsageError("--staged needs a git repository", hint="run inside the repository")
    packages = migration_packages(options)
    folders: dict[str, Path] = {}
    for folder in packages.values():
        try:
            folders[folder.resolve().relative_to(top.resolve()).as_posix()] = folder
        except ValueError:
            continue  # an installed package: not in this repository's index
    index = git.index_blobs(sorted(folders), top)
    contents = git.read_blobs([blob for blob in index.values() if blob], top)
    overlay: dict[Path, bytes | None] = {}
    only_on_disk: dict[Path, str] = {}  # file -> its path relative to the top
    for rel, folder in folders.items():
        on_disk = sorted(p for p in folder.glob("*.py") if p.is_file()) if folder.is_dir() else []
        for path in on_disk:
            name = f"{rel}/{path.name}"
            if name not in index:
                overlay[path] = None
                only_on_disk[path] = name
            elif index[name] == "":
                continue  # unmerged: the working tree's file (with its conflict markers)
            elif (staged := contents.get(index[name])) is not None and staged != path.read_bytes():
                overlay[path] = staged
        disk_names = {p.name for p in on_disk}
        for name, blob in index.items():
            folder_rel, _, file = name.rpartition("/")
            if folder_rel == rel and blob and file not in disk_names and file.endswith(".py"):
                overlay[folder / file] = contents.get(blob, b"")  # deleted, not staged
    project = load_project(options, overlay=overlay)
    labels = select_apps(project.graph, app_labels or [], only_migrated=True)
    problems = _unstaged(project.graph, project.problems, packages, only_on_disk, top)
    return check_graph(project.graph, problems, labels)


def _unstaged(
    graph: nx.DiGraph,
    problems: list[Problem],
    packages: dict[str, Path],
    only_on_disk: dict[Path, str],
    top: Path,
) -> list[Problem]:
    """The missing dependencies whose file is in the working tree only, reworded."""
    found: dict[tuple, Problem] = {}
    for key, data in sorted(graph.nodes(data=True)):
        path = data.get("path")
        for target in map(tuple, data.get("dependencies", ())):
            folder = packages.get(target[0])
            if target in graph or folder is None or not path:
                continue
            file = folder / f"{target[1]}.py"
            if file not in only_on_disk:
                continue
            line = reference_line(path, target[1])
            found[(key[0], key[1], path, line)] = Problem(
                kinds.UNSTAGED_DEPENDENCY,
                f"{key_str(key)!r} depends on {target!r}, whose file {only_on_disk[file]} is "
                f"{_why(file, only_on_disk[file], top)}: the commit works here and fails for "
                "everyone else",
                key[0],
                key[1],
                path,
                line,
            )
    kept = [
        p
        for p in problems
        if not (
            p.kind == kinds.MISSING_DEPENDENCY and (p.app, p.migration, p.path, p.line) in found
        )
    ]
    return kept + list(found.values())


def _why(path: Path, rel: str, top: Path) -> str:
    rule = git.ignore_rule(path, top)
    if rule is not None:
        return f"ignored by git ({rule})"
    if git.run_git(["cat-file", "-e", f"HEAD:{rel}"], top) is not None:
        return "deleted in the index (git rm --cached)"
    return "untracked (never staged)"
