"""``graph --since REF`` and ``graph --against REF``: the migrations a review is about.

``--since REF``: the migrations this branch adds over REF, that is every migration file of
the working tree that the merge base of HEAD and REF does not have (read from git
objects, nothing checked out). ``--against REF``: the graph a merge of REF would give,
predicted as ``check --against`` predicts it (:func:`migrator.against.predict`), with
the migrations each side brings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from migrator import git
from migrator.against import predict
from migrator.errors import UsageError
from migrator.graph import Key
from migrator.project import Project
from migrator.settings import ProjectOptions


@dataclass(frozen=True)
class Review:
    """The migrations to mark, and the merge base the review compares with."""

    ref: str
    base_sha: str
    added: frozenset[Key]  # this branch adds them over the merge base
    incoming: frozenset[Key] = frozenset()  # the merged branch brings them (--against)


def added_since(graph: nx.DiGraph, cwd: Path, ref: str) -> Review:
    """Every migration of ``graph`` whose file is in the work tree of ``cwd`` but not in
    the merge base of HEAD and ``ref``."""
    top = git.toplevel(cwd.resolve())
    if top is None:
        raise UsageError("--since needs a git repository", hint="run inside the repository")
    ref_sha = git.rev_parse(ref, top)
    if ref_sha is None:
        raise UsageError(
            f"unknown revision {ref!r}",
            hint="fetch it first (git fetch origin) or name a branch or commit",
        )
    head = git.rev_parse("HEAD", top)
    base = git.merge_base(head, ref_sha, top) if head else None
    if base is None:
        raise UsageError(
            f"HEAD and {ref!r} have no common history",
            hint="name a branch this one was started from",
        )
    relative: dict[Key, str] = {}
    for key, data in graph.nodes(data=True):
        path = data.get("path")
        if not path:
            continue
        try:
            relative[key] = Path(path).resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            continue  # an installed package: not this branch's
    folders = sorted({rel.rpartition("/")[0] for rel in relative.values()})
    at_base = git.tree_blobs(base, folders, top)
    return Review(ref, base, frozenset(key for key, rel in relative.items() if rel not in at_base))


def predicted_merge(options: ProjectOptions, ref: str) -> tuple[Project, Review]:
    """The graph a merge of ``ref`` would give, and which side brings each migration:
    REF's changes are ``incoming``; the files this branch adds over the merge base
    ``added``."""
    prediction = predict(options, ref)
    new = added_since(prediction.graph, options.cwd, ref).added
    incoming = frozenset(
        key
        for key, data in prediction.graph.nodes(data=True)
        if prediction.side_of(data.get("path")) == ref
    )
    assert prediction.settings is not None
    project = Project(options, prediction.settings, prediction.graph, prediction.problems)
    return project, Review(ref, prediction.base_sha or "", new - incoming, incoming)
