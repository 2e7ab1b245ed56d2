"""Render a :class:`~migrator.analysis.squash.SquashReport` as text or JSON."""

from __future__ import annotations

import json
import shlex

from migrator.analysis.squash import (
    BRANCHED,
    DROPPED_DEPENDENCY,
    NON_ATOMIC,
    RUN_BEFORE,
    SQUASHED,
    BlockedRange,
    Cleanup,
    DependencyMove,
    Payoff,
    RankedWindow,
    SquashReport,
    WindowCost,
)
from migrator.errors import RefusedError
from migrator.graph import InstalledOnly, key_str
from migrator.render.escape import terminal
from migrator.render.words import only_installed_apps, plural

# What to do about each thing Django's squash drops or refuses (analysis.squash.Flag.kind).
FLAG_HINTS = {
    RUN_BEFORE: "Django drops run_before: add it to the squashed migration by hand",
    NON_ATOMIC: "Django drops atomic = False: set it on the squashed migration, or keep "
    "this migration out of the squash",
    SQUASHED: "squashes a squashed migration (Django 6.0+ only)",
    DROPPED_DEPENDENCY: "Django keeps the same-app dependencies of the first migration "
    "only: add this one to the squashed migration by hand",
    BRANCHED: "the app's history branches here: `squashmigrations START END` would squash "
    "another set; no command suggested",
}


def nothing_to_squash(found: InstalledOnly) -> RefusedError:
    """No app named, and every app with migrations is Django's or an installed
    package's: rather than an empty report, which apps were left out and how to name
    them."""
    return only_installed_apps(
        found,
        "nothing to squash",
        "left out unless named",
        "name them (e.g. `migrator squash {app}`)",
    )


def _cost_line(cost: WindowCost) -> str:
    text = f"operations: {cost.operations_before} -> {cost.operations_after} after optimizing"
    if cost.manual_porting:
        text += (
            f"; {cost.manual_porting} RunPython to port by hand (the squashed file "
            "does not import until then)"
        )
    if cost.kept_code:
        text += f"; {cost.kept_code} RunPython/RunSQL kept"
    if cost.elidable_dropped:
        text += f"; {cost.elidable_dropped} elidable dropped"
    return text


def migrate_command(app: str, database: str) -> str:
    """``migrate APP --database ALIAS``, quoted for a shell."""
    return shlex.join(["python", "manage.py", "migrate", app, "--database", database])


def conditions(item: Cleanup) -> list[str]:
    """What must hold before the replaced files can be deleted, in plain words."""
    count = len(item.replaced)
    found = []
    if item.applied is None and item.database is not None:
        reason = f": {item.database_error}" if item.database_error else ""
        found.append(f"database {item.database!r} could not be read{reason}")
    if item.applied is None:
        found.append(
            f"every database has applied all {count} replaced migrations (or none of them); "
            "check each with `migrator squash --database ALIAS`"
        )
    elif item.database_ready:
        done = "all" if item.applied else "none"
        found.append(f"database {item.database!r} has applied {done} of the {count}: ready")
    else:
        found.append(
            f"database {item.database!r} has applied {len(item.applied)} of the {count}: "
            f"run `{migrate_command(item.squashed[0], str(item.database))}` "
            "first"
        )
    for function, module in item.functions:
        found.append(f"copy {function}() from {key_str(module)} into the squashed migration")
    for other, target in item.dependents:
        found.append(
            f"repoint {key_str(other)} from {key_str(target)} to {key_str(item.squashed)} "
            "before removing `replaces`"
        )
    return found


def _payoff_line(payoff: Payoff) -> str:
    return (
        f"saves {plural(payoff.operations_removed, 'operation')} and "
        f"{plural(payoff.files_removed, 'file')}: ~{payoff.load_ms:g} ms per load "
        f"(estimated); hand work {payoff.work}; score {payoff.score:.1f}"
    )


def _window_lines(item: RankedWindow) -> list[str]:
    window = item.window
    head = f"#{item.rank} {window.app}: {window.start} .. {window.end} "
    head += f"({plural(window.length, 'migration')})"
    if item.alternative_to is not None:
        head += f", alternative to #{item.alternative_to} (they overlap)"
    lines = [head, f"  {_payoff_line(item.payoff)}", f"  {_cost_line(item.cost)}"]
    for other, member in window.dependents:
        relation = (
            f"{key_str(other)} runs before {key_str(member)} (its run_before names it)"
            if (other, member) in window.named_in_run_before
            else f"{key_str(other)} depends on {key_str(member)}"
        )
        lines.append(f"  repoint before removing `replaces`: {relation}")
    for flag in window.flags:
        detail = f" ({flag.detail})" if flag.detail else ""
        lines.append(f"  {flag.kind}: {key_str(flag.migration)}{detail}: {FLAG_HINTS[flag.kind]}")
    if window.command:
        lines.append(f"  {window.command}")
    return lines


def move_text(move: DependencyMove) -> str:
    """The one dependency to move, in plain words, with what the reader must check."""
    if move.later:
        return (
            f"move the dependency on {key_str(move.dependency)} from "
            f"{key_str(move.dependent)} to {key_str(move.new_dependent)} (with the "
            f"operations of {key_str(move.dependent)} that need it)"
        )
    return (
        f"make {key_str(move.dependent)} depend on {key_str(move.new_dependency)} instead "
        f"of {key_str(move.dependency)} (if it needs nothing {key_str(move.dependency)} does)"
    )


def _blocked_lines(blocked: BlockedRange) -> list[str]:
    lines = [
        f"{blocked.app}: blocked {blocked.start} .. {blocked.end}: "
        + " -> ".join(key_str(k) for k in blocked.cycle)
    ]
    if blocked.move is not None:
        lines.append(f"  to unblock: {move_text(blocked.move)}")
    return lines


def render_text(report: SquashReport, ranked: list[RankedWindow]) -> str:
    """Apps to resolve first; the windows best first (an alternative right after the
    window it overlaps); blocked ranges per app; then cleanup."""
    lines = []
    for item in sorted(report.resolve_first, key=lambda r: r.app):
        lines += [
            f"{item.app}: resolve first: conflict, {len(item.leaves)} leaf migrations: "
            + ", ".join(item.leaves),
            f"  hint: run `migrator merge {item.app}`, then `migrator squash` again",
        ]
    for window in ranked:
        lines += _window_lines(window)
    for blocked in report.blocked:
        lines += _blocked_lines(blocked)
    for cleanup in report.cleanup:
        lines.append(
            f"{cleanup.squashed[0]}: cleanup {cleanup.squashed[1]}: "
            f"{plural(len(cleanup.replaced), 'replaced file')} still on disk: "
            + ", ".join(name for _, name in cleanup.replaced)
        )
        lines.append(
            f"  `migrator squash --finish {cleanup.squashed[0]}` deletes them and repoints "
            "their dependents once it is safe; it holds when:"
        )
        lines.extend(f"  - {text}" for text in conditions(cleanup))
    if report.windows:
        lines.append(
            "Windows best first: estimated load time saved per unit of hand work. Each is "
            "safe on its own; an alternative overlaps the one it names: squash one, then "
            "run `migrator squash` again."
        )
    lines.append(
        f"{plural(len(report.windows), 'window')} of {report.min_length}+ migrations, "
        f"{plural(len(report.blocked), 'blocked range')}, "
        f"{plural(len(report.cleanup), 'squashed migration')} to clean up "
        f"in {plural(len(report.apps), 'app')}."
    )
    # One line each, whatever the names in them hold (see migrator.render.escape).
    return "\n".join(map(terminal, lines)) + "\n"


def window_dict(item: RankedWindow) -> dict:
    window, cost, payoff = item.window, item.cost, item.payoff
    return {
        "rank": item.rank,
        "alternative_to": item.alternative_to,
        "app": window.app,
        "start": window.start,
        "end": window.end,
        "length": window.length,
        "nodes": [key_str(k) for k in window.nodes],
        "command": window.command,
        "operations_before": cost.operations_before,
        "operations_after": cost.operations_after,
        "manual_porting": cost.manual_porting,
        "kept_code": cost.kept_code,
        "elidable_dropped": cost.elidable_dropped,
        "operations_removed": payoff.operations_removed,
        "files_removed": payoff.files_removed,
        "load_ms_saved": payoff.load_ms,
        "work": payoff.work,
        "score": round(payoff.score, 3),
        "dependents": [
            _named(other, member, window.named_in_run_before) for other, member in window.dependents
        ],
        "flags": [
            {
                "kind": f.kind,
                "migration": key_str(f.migration),
                "detail": f.detail,
                "hint": FLAG_HINTS[f.kind],
            }
            for f in window.flags
        ],
    }


def _move_dict(move: DependencyMove | None) -> dict | None:
    if move is None:
        return None
    return {
        "dependent": key_str(move.dependent),
        "dependency": key_str(move.dependency),
        "new_dependent": key_str(move.new_dependent),
        "new_dependency": key_str(move.new_dependency),
        "text": move_text(move),
    }


def report_dict(report: SquashReport, ranked: list[RankedWindow]) -> dict:
    return {
        "apps": report.apps,
        "min_length": report.min_length,
        "windows": [window_dict(item) for item in ranked],
        "blocked": [
            {
                "app": b.app,
                "start": b.start,
                "end": b.end,
                "cycle": [key_str(k) for k in b.cycle],
                "unblock": _move_dict(b.move),
            }
            for b in report.blocked
        ],
        "resolve_first": [{"app": r.app, "leaves": list(r.leaves)} for r in report.resolve_first],
        "cleanup": [
            {
                "squashed": key_str(c.squashed),
                "replaced": [key_str(k) for k in c.replaced],
                "database": c.database,
                "database_error": c.database_error,
                "applied": None if c.applied is None else [key_str(k) for k in c.applied],
                "ready": c.database_ready,
                "dependents": [_named(o, t, c.named_in_run_before) for o, t in c.dependents],
                "functions": [{"function": f, "module": key_str(m)} for f, m in c.functions],
                "conditions": conditions(c),
            }
            for c in report.cleanup
        ],
    }


def _named(other, member, run_before) -> dict:
    """One migration outside naming a member: ``depends_on`` it, or (named in its
    ``run_before``) ``runs_before`` it."""
    if (other, member) in run_before:
        return {"migration": key_str(other), "runs_before": key_str(member)}
    return {"migration": key_str(other), "depends_on": key_str(member)}


def render_json(report: SquashReport, ranked: list[RankedWindow]) -> str:
    return json.dumps(report_dict(report, ranked), indent=2, sort_keys=True) + "\n"
