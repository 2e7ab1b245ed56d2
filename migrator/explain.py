"""``migrator explain``: why an app conflicts, what each branch does, whether the branches
collide, where each migration came from, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.analysis import leaves as graph_leaves
from migrator.analysis import plans
from migrator.analysis.overlap import FIELD, Overlap, findings
from migrator.django.overlap import branch_overlap
from migrator.errors import RefusedError
from migrator.graph import Key, key_str


@dataclass(frozen=True)
class Step:
    """One migration of a branch."""

    name: str
    path: str | None
    operations: tuple[str, ...]  # Django's describe() of each operation
    depends_on: tuple[str, ...]  # migrations of other apps it depends on (app.name)
    required_by: tuple[str, ...]  # migrations of other apps that depend on it
    origin: git.Origin | None = None  # None without git


@dataclass(frozen=True)
class Branch:
    """A leaf and the migrations its history has that not every leaf's history has,
    in the order Django applies them."""

    app: str
    leaf: str
    migrations: tuple[str, ...]
    steps: tuple[Step, ...] = ()

    @property
    def keys(self) -> tuple[Key, ...]:
        return tuple((self.app, name) for name in self.migrations)


@dataclass(frozen=True)
class AppExplanation:
    app: str
    leaves: tuple[str, ...]
    fork_points: tuple[str, ...]  # several: criss-cross; none: no common ancestor
    branches: tuple[Branch, ...]
    overlap: Overlap
    apply_order: tuple[str, ...]  # branch migrations as migrate runs them after a merge
    merge: git.MergeState | None = None  # the git merge, when HEAD is in or is one
    git: bool = False  # provenance was looked up (cwd is in a git work tree)
    shallow: bool = False  # no merge found, in a shallow clone (parents may be missing)

    @property
    def is_conflict(self) -> bool:
        return len(self.leaves) > 1


def explain_app(graph: nx.DiGraph, app_label: str, *, cwd: Path | None = None) -> AppExplanation:
    """Explain the app's leaves. Git provenance only when ``cwd`` is in a git work tree."""
    cycles = graph_leaves.cycles(graph_leaves.app_subgraph(graph, app_label))
    if cycles:
        cycle = cycles[0]
        raise RefusedError(
            f"cannot explain app {app_label!r}: its migrations form a cycle "
            f"({' -> '.join(key_str(node) for node in [*cycle, cycle[0]])})",
            hint="run `migrator check` and break the cycle first",
        )
    leaves = graph_leaves.leaves(graph, app_label)
    found = plans.branches(graph, app_label) if len(leaves) > 1 else []
    paths = [graph.nodes[n]["path"] for _, nodes in found for n in nodes]
    origins = git.origins([Path(p) for p in paths if p], cwd) if cwd is not None else None
    branches = tuple(
        Branch(
            app_label,
            leaf[1],
            tuple(name for _, name in nodes),
            tuple(_step(graph, node, origins) for node in nodes),
        )
        for leaf, nodes in found
    )
    overlap = branch_overlap(graph, branches)
    order = tuple(name for _, name in plans.apply_order(graph, app_label)) if found else ()
    merge = git.merge_state(cwd) if origins is not None and cwd is not None else None
    forks = tuple(name for _, name in graph_leaves.fork_points(graph, app_label)) if found else ()
    explanation = AppExplanation(
        app_label,
        tuple(name for _, name in leaves),
        forks,
        branches,
        overlap,
        order,
        merge,
        origins is not None,
        merge is None and cwd is not None and origins is not None and git.is_shallow(cwd),
    )
    return explanation


def _step(graph: nx.DiGraph, node: Key, origins: dict[Path, git.Origin] | None) -> Step:
    data = graph.nodes[node]
    path = data.get("path")
    return Step(
        node[1],
        path,
        tuple(describe_operation(op) for op in data.get("operations", ())),
        tuple(key_str(p) for p in sorted(graph.predecessors(node)) if p[0] != node[0]),
        tuple(key_str(c) for c in sorted(graph.successors(node)) if c[0] != node[0]),
        origins.get(Path(path)) if origins and path else None,
    )


def describe_operation(op) -> str:
    try:
        return str(op.describe())
    except Exception:
        return type(op).__name__


# -- what to do next -----------------------------------------------------------------------


def changed_targets(x: AppExplanation, level: str) -> list[str]:
    """The models (or fields) both branches change at ``level``, sorted."""
    return sorted({t for t, _, lv in findings(x.overlap) if lv == level})


def branch_to_rebase(x: AppExplanation) -> Branch:
    """The merged-in side when git says which it is, else the branch with fewer
    migrations (the later leaf name on a tie)."""
    theirs = [
        b
        for b in x.branches
        if b.steps and all(s.origin and s.origin.side == git.THEIRS for s in b.steps)
    ]
    if len(theirs) == 1:
        return theirs[0]
    return max(x.branches, key=lambda b: (-len(b.migrations), b.leaf))


def resolving_command(x: AppExplanation) -> str:
    """The one command that resolves the conflict, as the recommendation words it
    (:func:`migrator.render.explain.recommend`): a merge migration, or (both branches
    change one field) moving one branch after the other."""
    if x.overlap.level == FIELD:
        return f"migrator rebase {x.app} --move {branch_to_rebase(x).leaf}"
    return f"migrator merge {x.app}"
