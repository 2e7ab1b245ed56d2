"""Render ``check --against REF``: the check report of the predicted merge, with the side
each leaf migration comes from; and ``--heads``: one verdict per head."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from migrator.against import HeadPrediction, HeadsPrediction, Prediction
from migrator.check import CheckReport
from migrator.published import (
    ALLOW_SETTING,
    DELETED,
    KIND,
    RENAMED,
    PublishedChange,
)
from migrator.render import check as plain
from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.render.words import plural

# -- published migrations changed ---------------------------------------------------------

_WHAT = {
    "dependencies": "changes its dependencies",
    "operations": "changes its operations",
    "formatting": "changes only its formatting or comments",
    DELETED: "deletes it",
}


def change_message(change: PublishedChange, ref: str) -> str:
    """One sentence: which published migration, and what the branch did to it."""
    if change.change == RENAMED:
        what = f"renames it to {change.new_name!r}"
        if change.also:
            what += " and " + " and ".join(_WHAT[a] for a in change.also)
    else:
        what = " and ".join(_WHAT[a] for a in (change.change, *change.also))
    message = f"{change.key!r} is published on {ref} and this branch {what}"
    if change.change == "formatting":
        message += " (a warning: no database is affected)"
    return message


def change_hint(change: PublishedChange) -> str:
    allow = f"[tool.migrator] {ALLOW_SETTING} = [{change.key!r}] in pyproject.toml".replace(
        "'", '"'
    )
    if change.change == DELETED:
        return (
            "databases that applied it keep its row and migrations depending on it break: "
            "restore the file; if a squashed migration every database has applied replaces "
            f"it, allow it with {allow}"
        )
    if change.change == RENAMED:
        return (
            "databases know migrations by name and would apply it again: restore the old "
            f"name; if the rename is intended, allow it with {allow} and record the new "
            f"name on each database (`manage.py migrate --fake {change.app} "
            f"{change.new_name}`)"
        )
    if change.change == "formatting":
        return "nothing to do; to silence it, revert the edit"
    return (
        "databases that applied it will not run it again: revert the edit and make the "
        "change in a new migration (`manage.py makemigrations`); if the edit is intended "
        "(every database is rebuilt, or it fixes a migration none has applied), allow it "
        f"with {allow}"
    )


def change_path(change: PublishedChange) -> str:
    return change.path or change.old_path


def _change_text(change: PublishedChange, ref: str, base: Path) -> list[str]:
    path = display_path(change_path(change), base)
    where = f"{path}:{change.line}: " if change.line else f"{path}: "
    level = "warning: " if not change.is_error else ""
    lines = [f"{where}{level}{KIND}: {change_message(change, ref)}"]
    lines += [f"  {line}" for line in change.diff]
    lines.append(f"  hint: {change_hint(change)}")
    return lines


def change_dict(change: PublishedChange, base: Path) -> dict:
    return {
        "kind": KIND,
        "app": change.app,
        "migration": change.migration,
        "change": change.change,
        "also": list(change.also),
        "path": display_path(change.path, base),
        "old_path": display_path(change.old_path, base),
        "line": change.line,
        "diff": list(change.diff),
        "allowed": change.allowed,
        "error": change.is_error,
        "hint": change_hint(change),
    }


def change_annotation(change: PublishedChange, ref: str, base: Path) -> str:
    message = change_message(change, ref)
    if change.diff:
        message += "\n" + "\n".join(change.diff)
    return plain.annotation(
        f"{message}\nHint: {change_hint(change)}",
        title=f"{KIND}: {change.key}",
        path=display_path(change_path(change), base),
        line=change.line,
        level="error" if change.is_error else "warning",
    )


def shown_changes(changes: list[PublishedChange]) -> list[PublishedChange]:
    """The changes to show people: allowed ones are left out (JSON keeps them)."""
    return [c for c in changes if not c.allowed]


def _header(prediction: Prediction) -> str:
    base = prediction.base_sha[:10] if prediction.base_sha else "none"
    return (
        f"Predicted merge of {terminal(prediction.ref)} ({prediction.ref_sha[:10]}) into the "
        f"working tree (merge base {base}):"
    )


def render_text(report: CheckReport, prediction: Prediction, base: Path) -> str:
    lines = [_header(prediction)]
    for conflict in report.conflicts:
        leaves = [terminal(name) for name in conflict.leaves]
        lines.append(
            f"{terminal(conflict.app)}: the merge would conflict: {len(leaves)} leaf "
            f"migrations: " + ", ".join(leaves)
        )
        width = max(len(name) for name in leaves)
        for name, path in zip(leaves, conflict.paths, strict=True):
            side = terminal(prediction.side_of(path) or "?")
            shown = terminal(display_path(path, base))
            lines.append(f"  {name.ljust(width)}  from {side}: {shown}")
        lines.append(f"  hint: merge, then {plain.conflict_hint(conflict)}")
    # Problems and the summary line read as in a plain check.
    rest = plain.render_text(replace(report, conflicts=[]), base)
    summary = rest.splitlines()
    for change in shown_changes(prediction.changes):
        lines += _change_text(change, prediction.ref, base)
    errors = sum(c.is_error for c in prediction.changes)
    if report.conflicts:
        summary[-1] = (
            f"The merge would create {plural(len(report.conflicts), 'conflict')}"
            f" ({plural(len(report.problems), 'problem')}) in "
            f"{plural(len(report.apps), 'app')}."
        )
    elif report.ok and not errors:
        summary[-1] = f"No conflicts or problems after merging {terminal(prediction.ref)}."
    elif report.ok:
        summary[-1] = (
            f"No conflicts or problems after merging {terminal(prediction.ref)}, but "
            f"{plural(errors, 'published migration')} changed by this branch."
        )
    if errors and not report.ok:
        summary.append(f"{plural(errors, 'published migration')} changed by this branch.")
    lines += summary
    return "\n".join(lines) + "\n"


def render_json(report: CheckReport, prediction: Prediction, base: Path) -> str:
    data = plain.report_dict(report, base)
    for conflict, entry in zip(report.conflicts, data["conflicts"], strict=True):
        entry["sides"] = [prediction.side_of(p) for p in conflict.paths]
    data["against"] = {
        "ref": prediction.ref,
        "commit": prediction.ref_sha,
        "merge_base": prediction.base_sha,
    }
    data["published_changes"] = [change_dict(c, base) for c in prediction.changes]
    data["ok"] = prediction.is_ok(report)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_github(report: CheckReport, prediction: Prediction, base: Path) -> str:
    lines = []
    for conflict in report.conflicts:
        described = ", ".join(
            f"{name} ({prediction.side_of(path)})"
            for name, path in zip(conflict.leaves, conflict.paths, strict=True)
        )
        for name, path, line in zip(conflict.leaves, conflict.paths, conflict.lines, strict=True):
            lines.append(
                plain.annotation(
                    f"merging {prediction.ref} would give {conflict.app!r} "
                    f"{len(conflict.leaves)} leaf migrations: {described}; "
                    f"{plain.conflict_hint(conflict)}",
                    title=f"Migration conflict with {prediction.ref} in {conflict.app}: {name}",
                    path=display_path(path, base),
                    line=line,
                )
            )
    text = plain.render_github(replace(report, conflicts=[]), base)
    lines += [change_annotation(c, prediction.ref, base) for c in shown_changes(prediction.changes)]
    return "\n".join(lines) + ("\n" if lines else "") + text


# -- many heads ----------------------------------------------------------------------------


def _head_findings(head: HeadPrediction) -> str:
    """What would break, in a few words: each conflict's app and leaves, then the
    problems counted by kind."""
    parts = [f"conflict in {c.app} ({', '.join(c.leaves)})" for c in head.report.conflicts]
    kinds: dict[str, int] = {}
    for problem in head.report.problems:
        kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
    errors = sum(c.is_error for c in head.changes)
    if errors:
        kinds[KIND] = errors
    parts += [f"{count} {kind}" for kind, count in sorted(kinds.items())]
    return "; ".join(parts)


def render_heads_text(prediction: HeadsPrediction, base: Path) -> str:
    lines = [
        f"Predicted merges into {prediction.ref} ({prediction.ref_sha[:10]}), "
        f"{plural(len(prediction.heads), 'head')}:"
    ]
    width = max((len(h.head.name) for h in prediction.heads), default=0)
    for head in prediction.heads:
        verdict = "ok" if head.ok else "would break: " + _head_findings(head)
        lines.append(f"  {head.head.name.ljust(width)}  {head.head.sha[:10]}  {verdict}")
    broken = [h for h in prediction.heads if not h.ok]
    if broken:
        lines.append(
            f"{len(broken)} of {plural(len(prediction.heads), 'head')} would break "
            f"{prediction.ref}. hint: check out one and run "
            f"`migrator check --against {prediction.ref}` for the details"
        )
    else:
        lines.append(f"No head would break {prediction.ref}.")
    return "\n".join(lines) + "\n"


def head_dict(head: HeadPrediction, base: Path) -> dict:
    data = plain.report_dict(head.report, base)
    for conflict, entry in zip(head.report.conflicts, data["conflicts"], strict=True):
        entry["sides"] = [head.side_of(p) for p in conflict.paths]
    data["head"] = head.head.name
    data["commit"] = head.head.sha
    data["merge_base"] = head.merge_base
    data["published_changes"] = [change_dict(c, base) for c in head.changes]
    data["ok"] = head.ok
    return data


def render_heads_json(prediction: HeadsPrediction, base: Path) -> str:
    data = {
        "ok": prediction.ok,
        "against": {"ref": prediction.ref, "commit": prediction.ref_sha},
        "heads": [head_dict(h, base) for h in prediction.heads],
        "unmatched": sorted(prediction.unmatched),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_heads_github(prediction: HeadsPrediction, base: Path) -> str:
    """One ``::error`` per head that would break (no file: the files are the head's)."""
    lines = [
        plain.annotation(
            f"merging {h.head.name} ({h.head.sha[:10]}) into {prediction.ref} would give: "
            f"{_head_findings(h)}",
            title=f"{h.head.name} would break {prediction.ref}",
            path=None,
            line=None,
        )
        for h in prediction.heads
        if not h.ok
    ]
    return "".join(line + "\n" for line in lines)
