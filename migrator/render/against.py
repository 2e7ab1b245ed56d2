"""Render ``check --against REF``: the check report of the predicted merge, with the side
each leaf migration comes from."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from migrator.against import Prediction
from migrator.check import CheckReport
from migrator.render import check as plain
from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.render.words import plural


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
    if report.conflicts:
        summary[-1] = (
            f"The merge would create {plural(len(report.conflicts), 'conflict')}"
            f" ({plural(len(report.problems), 'problem')}) in "
            f"{plural(len(report.apps), 'app')}."
        )
    elif report.ok:
        summary[-1] = f"No conflicts or problems after merging {terminal(prediction.ref)}."
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
    return "\n".join(lines) + ("\n" if lines else "") + text
