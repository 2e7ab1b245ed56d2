"""Render :class:`~migrator.explain.AppExplanation` objects as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from migrator.analysis import overlap as kinds
from migrator.analysis.overlap import (
    CollisionGroup,
    Overlap,
    colliding_pairs,
    collision_groups,
    is_summarised,
)
from migrator.explain import AppExplanation, Branch, Step, branch_to_rebase, changed_targets
from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.render.words import plural

if TYPE_CHECKING:
    from migrator.git import MergeState, Origin

#: What each collision kind means.
KIND_TEXT = {
    kinds.SAME_FIELD: (
        "both branches alter, remove or rename this field; the one applied last wins"
    ),
    kinds.SAME_FIELD_NAME: "both branches add a field with this name",
    kinds.FIELD_REMOVED: "one branch removes this field, the other still uses it",
    kinds.FIELD_RENAMED: "one branch renames this field, the other still uses the old name",
    kinds.SAME_OPTION: "both branches change this option; the one applied last wins",
    kinds.MODEL_DELETED: "one branch deletes this model, the other changes or uses it",
    kinds.MODEL_RENAMED: "one branch renames this model, the other still uses the old name",
    kinds.SAME_MODEL_NAME: "both branches create a model with this name",
    kinds.SAME_MODEL: "both branches change this model (different fields)",
    kinds.UNKNOWN: "Django could not replay an operation here, so what it changes is unknown",
    kinds.ORDER_DEPENDENT: (
        "the merged state differs with the order Django applies the branches in"
    ),
}


#: In a summary, how many branches and pairs a group lists in text (JSON lists them all).
LISTED = 12


def render_collisions(overlap: Overlap) -> str:
    """One block per collision: the target, the kind and what each side does there;
    past a handful of branches, one block per target and kind (see :func:`_group_lines`)."""
    if is_summarised(overlap):
        return "".join(
            line + "\n" for group in collision_groups(overlap) for line in _group_lines(group)
        )
    lines = []
    for collision in overlap.collisions:
        lines.append(f"{collision.target}: {collision.kind}: {KIND_TEXT[collision.kind]}")
        for side in collision.sides:
            for migration, operation in side.changes:
                lines.append(f"  branch {side.leaf}: {migration}: {operation}")
    return "".join(terminal(line) + "\n" for line in lines)


def _group_lines(group: CollisionGroup) -> list[str]:
    """The branches that collide on a target, each with what it does there, then the
    pairs (all of them, or those listed)."""
    n = len(group.sides)
    lines = [
        f"{group.target}: {group.kind}: {KIND_TEXT[group.kind]}: "
        f"{n} branches, {plural(len(group.pairs), 'pair')}"
    ]
    for side in group.sides[:LISTED]:
        steps = "; ".join(f"{migration}: {operation}" for migration, operation in side.changes)
        lines.append(f"  branch {side.leaf}: {steps}")
    if n > LISTED:
        lines.append(f"  and {n - LISTED} more branches (--format json lists them all)")
    if group.every_pair:
        lines.append("  pairs: every pair of these branches")
    else:
        listed = ", ".join(f"{a} & {b}" for a, b in group.pairs[:LISTED])
        more = len(group.pairs) - LISTED
        lines.append(f"  pairs: {listed}" + (f" and {more} more" if more > 0 else ""))
    return lines


def _fork_line(x: AppExplanation) -> str:
    if not x.fork_points:
        return "fork point: none (the leaves share no migration: no common ancestor)"
    if len(x.fork_points) == 1:
        return f"fork point: {x.fork_points[0]}"
    return (
        f"fork points: {', '.join(x.fork_points)} (criss-cross history: the leaves have "
        f"{len(x.fork_points)} lowest common ancestors)"
    )


def _tip(sha: str, name: str | None) -> str:
    return f"{name} ({sha[:10]})" if name else sha[:10]


def _merge_line(merge: MergeState) -> str:
    what = "merge in progress (MERGE_HEAD)" if merge.state == "merging" else "HEAD is a merge"
    theirs = ", ".join(
        _tip(sha, name) for sha, name in zip(merge.theirs, merge.theirs_names, strict=True)
    )
    return f"git: {what}: ours {_tip(merge.ours, merge.ours_name)}, theirs {theirs}"


def _origin_line(origin: Origin) -> str:
    if origin.commit is None:
        return f"git: {origin.side}: no commit adds this file yet"
    c = origin.commit
    side = f" [{origin.side}]" if origin.side else ""
    return f"git: {c.short}{side} {c.author} <{c.email}> {c.date}: {c.subject}"


def _step_lines(step: Step, base: Path) -> list[str]:
    path = display_path(step.path, base)
    lines = [f"    {step.name}" + (f" ({path})" if path else "")]
    lines += [f"      - {op}" for op in step.operations] or ["      (no operations)"]
    if step.depends_on:
        lines.append(f"      depends on: {', '.join(step.depends_on)}")
    if step.required_by:
        lines.append(f"      required by: {', '.join(step.required_by)}")
    if step.origin is not None:
        lines.append(f"      {_origin_line(step.origin)}")
    return lines


def _branch_line(branch: Branch) -> str:
    """A branch in a summary: its migrations' names only."""
    names = ", ".join(branch.migrations)
    return f"    branch {branch.leaf}: {plural(len(branch.migrations), 'migration')}: {names}"


def _branch_lines(branch: Branch, base: Path) -> list[str]:
    lines = [f"  branch {branch.leaf}: {plural(len(branch.migrations), 'migration')}"]
    for step in branch.steps:
        lines += _step_lines(step, base)
    return lines


def _overlap_lines(overlap: Overlap) -> list[str]:
    headline = {
        "none": "none: the branches change different models",
        "model": "model: the branches change the same model, different fields",
        "field": "field: the branches change the same field or the same model as a whole",
    }[overlap.level]
    lines = [f"  overlap: {headline}"]
    if is_summarised(overlap):
        n = len(overlap.branches)
        lines.append(
            f"    {plural(len(colliding_pairs(overlap)), 'pair')} of the {n * (n - 1) // 2} "
            f"pairs of branches collide, grouped by what they collide on"
        )
    lines += [f"    {line}" for line in render_collisions(overlap).splitlines()]
    if overlap.data_operations:
        label = "both branches run" if overlap.data_migrations else "one branch runs"
        lines.append(f"  data migrations: {label} RunPython/RunSQL")
        for side in overlap.data_operations:
            for migration, operation in side.changes:
                lines.append(f"    branch {side.leaf}: {migration}: {operation}")
    lines += [f"  note: {note}" for note in overlap.notes]
    return lines


def explanation_text(x: AppExplanation, base: Path) -> str:
    if not x.is_conflict:
        leaf = x.leaves[0] if x.leaves else "no migrations"
        return terminal(f"{x.app}: no conflict (leaf: {leaf})") + "\n"
    lines = [
        f"{x.app}: conflict: {len(x.leaves)} leaf migrations: {', '.join(x.leaves)}",
        f"  {_fork_line(x)}",
    ]
    if x.merge is not None:
        lines.append(f"  {_merge_line(x.merge)}")
    elif x.shallow:
        lines.append(
            "  git: shallow clone: HEAD's parents may not have been fetched "
            "(git fetch --unshallow): sides unknown"
        )
    elif x.git:
        lines.append("  git: HEAD is no merge and none is in progress: sides unknown")
    if is_summarised(x.overlap):
        total = sum(len(branch.migrations) for branch in x.branches)
        lines.append(
            f"  branches: {len(x.branches)}, {plural(total, 'migration')} in all "
            "(their operations, paths and commits: --format json, or explain fewer leaves)"
        )
        lines += [_branch_line(branch) for branch in x.branches]
    else:
        for branch in x.branches:
            lines += _branch_lines(branch, base)
    lines += _overlap_lines(x.overlap)
    lines.append(f"  apply order after a merge: {', '.join(x.apply_order)}")
    lines.append(f"  recommendation: {recommend(x)}")
    # Each line once more through terminal(): a name with a newline, ESC or a bidi
    # control in it stays on its line and shows as an escape.
    return "".join(terminal(line) + "\n" for line in lines)


def render_text(explanations: Sequence[AppExplanation], base: Path) -> str:
    conflicts = [x for x in explanations if x.is_conflict]
    if not conflicts and not explanations:
        return "No conflicts to explain.\n"
    blocks = [explanation_text(x, base) for x in explanations]
    total = (
        f"Explained {plural(len(conflicts), 'conflict')}.\n"
        if conflicts
        else "No conflicts to explain.\n"
    )
    return "\n".join(blocks) + ("\n" if blocks else "") + total


# -- JSON ----------------------------------------------------------------------------------


def _origin_dict(origin: Origin | None) -> dict | None:
    if origin is None or origin.commit is None:
        return None
    c = origin.commit
    return {
        "sha": c.sha,
        "author": c.author,
        "email": c.email,
        "date": c.date,
        "subject": c.subject,
    }


def _step_dict(step: Step, base: Path) -> dict:
    return {
        "name": step.name,
        "path": display_path(step.path, base),
        "operations": list(step.operations),
        "depends_on": list(step.depends_on),
        "required_by": list(step.required_by),
        "commit": _origin_dict(step.origin),
        "side": step.origin.side if step.origin else None,
    }


def _merge_dict(merge: MergeState | None) -> dict | None:
    if merge is None:
        return None
    return {
        "state": merge.state,
        "ours": {"sha": merge.ours, "branch": merge.ours_name},
        "theirs": [
            {"sha": sha, "branch": name}
            for sha, name in zip(merge.theirs, merge.theirs_names, strict=True)
        ],
    }


def _group_dict(group: CollisionGroup) -> dict:
    return {
        "target": group.target,
        "kind": group.kind,
        "level": group.level,
        "branches": [
            {
                "leaf": side.leaf,
                "changes": [{"migration": m, "operation": op} for m, op in side.changes],
            }
            for side in group.sides
        ],
        "pairs": None if group.every_pair else [list(pair) for pair in group.pairs],
        "pair_count": len(group.pairs),
    }


def overlap_dict(overlap: Overlap) -> dict:
    """The verdict; past a handful of branches the collisions are grouped
    (``collision_groups``, ``"collisions": null``; a group's ``"pairs": null`` means
    every pair of its branches)."""
    summarised = is_summarised(overlap)
    return {
        "level": overlap.level,
        "data_migrations": overlap.data_migrations,
        "collision_groups": (
            [_group_dict(g) for g in collision_groups(overlap)] if summarised else None
        ),
        "collisions": None
        if summarised
        else [
            {
                "target": c.target,
                "kind": c.kind,
                "level": c.level,
                "sides": [
                    {
                        "leaf": side.leaf,
                        "changes": [{"migration": m, "operation": op} for m, op in side.changes],
                    }
                    for side in c.sides
                ],
            }
            for c in overlap.collisions
        ],
        "data_operations": [
            {
                "leaf": side.leaf,
                "changes": [{"migration": m, "operation": op} for m, op in side.changes],
            }
            for side in overlap.data_operations
        ],
        "notes": list(overlap.notes),
    }


def explanation_dict(x: AppExplanation, base: Path) -> dict:
    return {
        "app": x.app,
        "leaves": list(x.leaves),
        "fork_points": list(x.fork_points),
        "branches": [
            {"leaf": b.leaf, "migrations": [_step_dict(s, base) for s in b.steps]}
            for b in x.branches
        ],
        "overlap": overlap_dict(x.overlap),
        "apply_order": list(x.apply_order),
        "recommendation": recommend(x),
        "git": {"merge": _merge_dict(x.merge)} if x.git else None,
    }


def render_json(explanations: Sequence[AppExplanation], base: Path) -> str:
    data = {
        "conflicts": [explanation_dict(x, base) for x in explanations if x.is_conflict],
        "no_conflict": sorted(x.app for x in explanations if not x.is_conflict),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


# -- what to do next -----------------------------------------------------------------------


def recommend(x: AppExplanation) -> str:
    """Plain words from the verdict, with the command to run."""
    app = x.app
    if not x.is_conflict:
        return f"Nothing to do: {app!r} has one leaf migration."
    merge_cmd = f"`migrator merge {app}`"
    order = ", ".join(x.apply_order)
    parts = []
    if not x.fork_points:
        parts.append(
            "The leaves share no migration (no common ancestor): check that both histories "
            "belong in this app before joining them."
        )
    level = x.overlap.level
    if level == kinds.FIELD:
        targets = _targets(x, kinds.FIELD)
        rebase = branch_to_rebase(x)
        parts.append(
            f"Do not merge blindly: both branches change {targets}, and after a merge "
            f"migration the one Django applies last wins (order: {order}). Strategy: "
            f"rebase, a linear history that runs the merged-in branch last: run "
            f"`migrator resolve {app}` (or `migrator rebase {app} --move {rebase.leaf}`); "
            f"where a database has applied {', '.join(rebase.migrations)}, add "
            f"`--database ALIAS --update-applied` so its rows move too. Then decide the "
            f"final definition in {app}/models.py and run "
            f"`python manage.py makemigrations {app}` so a migration records it. To merge "
            f"anyway: `migrator resolve {app} --strategy merge` (or "
            f"`migrator merge {app} --force`)."
        )
    elif level == kinds.MODEL:
        pronoun = "it" if len(changed_targets(x, kinds.MODEL)) == 1 else "them"
        parts.append(
            f"Merge, then review {_targets(x, kinds.MODEL)}: both branches change "
            f"{pronoun} (different fields). Run "
            f"`migrator resolve {app}` (strategy merge) or {merge_cmd}, then "
            f"`python manage.py makemigrations --check --dry-run {app}` to confirm the "
            "models match the merged migrations."
        )
    else:
        parts.append(
            "Merge is safe: the branches change different models. Run "
            f"`migrator resolve {app}` (strategy merge) or {merge_cmd}."
        )
    if x.overlap.data_migrations:
        parts.append(
            "Both branches run data migrations (RunPython/RunSQL): make sure each still "
            f"works when Django runs them in this order: {order}."
        )
    return " ".join(parts)


def _targets(x: AppExplanation, level: str) -> str:
    names = changed_targets(x, level)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
