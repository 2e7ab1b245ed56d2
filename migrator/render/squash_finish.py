"""Words for ``squash --finish``: what was (or would be) finished, what was refused and
why (with the database), and the diff."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from migrator.errors import RefusedError
from migrator.graph import InstalledOnly, key_str
from migrator.render.escape import terminal
from migrator.render.paths import display_path
from migrator.render.squash import migrate_command
from migrator.render.squash_apply import _diff
from migrator.render.words import only_installed_apps, plural
from migrator.squash_finish import (
    CYCLE,
    DATABASE_KINDS,
    FUNCTIONS,
    NO_DATABASE,
    NO_REPLACES,
    NONE_APPLIED,
    NOT_LITERAL,
    NOT_OURS,
    NOT_RECORDED,
    PARTLY_APPLIED,
    RECORDED,
    UNREADABLE,
    Finish,
    Refusal,
    SquashFinish,
)


def nothing_to_finish(found: InstalledOnly) -> RefusedError:
    """No app named, and every app with migrations is Django's or an installed
    package's: a third-party app's squash is its maintainers' to finish."""
    return only_installed_apps(
        found, "nothing to finish", "whose squashes --finish leaves to their maintainers"
    )


def refusal_words(finish: Finish, refusal: Refusal) -> str:
    """Why ``finish`` is not safe, in plain words (naming the database)."""
    squashed = key_str(finish.squashed)
    keys = ", ".join(key_str(k) for k in refusal.keys)
    database = repr(refusal.database)
    if refusal.kind == PARTLY_APPLIED:
        applied, total = refusal.detail.split("/")
        return (
            f"database {database} applied only {applied} of the {total} replaced migrations "
            f"(not {keys}): run `{migrate_command(finish.squashed[0], str(refusal.database))}`"
            " first"
        )
    if refusal.kind == NOT_RECORDED:
        return (
            f"database {database} applied every replaced migration but has no row of "
            f"{squashed} yet: run `{migrate_command(finish.squashed[0], str(refusal.database))}`"
            " once (Django records it then), or it would run the squashed migration again"
        )
    if refusal.kind == UNREADABLE:
        return f"database {database} could not be read: {refusal.detail}"
    if refusal.kind == NO_DATABASE:
        return "no database was read (--static): nothing says every database applied them"
    if refusal.kind == FUNCTIONS:
        return (
            f"{squashed} runs {refusal.detail}() defined in {keys}, which would be deleted: "
            "copy it into the squashed migration first"
        )
    if refusal.kind == NOT_OURS:
        return f"{keys} depends on a replaced migration, and its app is not the project's"
    if refusal.kind == NOT_LITERAL:
        other, *named = refusal.keys
        return (
            f"{key_str(other)} names {', '.join(map(key_str, named))} other than as a "
            'literal ("app", "name") in dependencies or run_before: repoint it by hand'
        )
    if refusal.kind == NO_REPLACES:
        return f"the replaces of {squashed} is not a statement on lines of its own"
    if refusal.kind == CYCLE:
        cycle = " -> ".join(map(key_str, refusal.keys))
        return f"repointing the dependents would make a cycle: {cycle}"
    return refusal.kind


def prune_commands(result: SquashFinish) -> list[str]:
    """Django's own way to delete the rows of the deleted migrations, per app and
    database (``migrate --prune`` refuses while a squash still has ``replaces``)."""
    apps = sorted({f.squashed[0] for f in result.finished})
    return [
        shlex.join(["python", "manage.py", "migrate", app, "--prune", "--database", alias])
        for app in apps
        for alias in result.databases or ["default"]
    ]


_STATES = {RECORDED: "has it applied", NONE_APPLIED: "applied none of them (it will run it)"}


def render_text(result: SquashFinish, base: Path) -> str:
    lines: list[str] = []
    verb = "would finish" if result.dry_run else "finished"
    if not result.finishes:
        lines.append("no squashed migration has replaced files left: nothing to finish")
    for finish in result.finishes:
        name = key_str(finish.squashed)
        if finish.within is not None:
            lines.append(f"{name}: finished with {key_str(finish.within)}, which replaces it")
            continue
        ready = result.is_ready(finish)
        head = verb if ready else "refused"
        lines.append(
            f"{name}: {head}: {plural(len(finish.replaced), 'replaced file')} "
            + ", ".join(k[1] for k in finish.replaced)
        )
        for alias, state in sorted(finish.databases.items()):
            lines.append(f"  database {alias!r} {_STATES[state]}")
        for other, target in finish.dependents:
            lines.append(f"  repoint {key_str(other)}: {key_str(target)} -> {name}")
        for refusal in finish.refusals:
            forced = ready and refusal.kind in DATABASE_KINDS
            prefix = "forced past: " if forced else ""
            lines.append(f"  {prefix}{refusal_words(finish, refusal)}")
    for change in result.plan.changes:
        lines.append(f"  {change.verb} {display_path(str(change.path), base)}")
    if result.dry_run:
        for change in result.plan.changes:
            if change.verb == "edit" or change.verb == "create":
                lines += _diff(change, base)
    elif result.written:
        lines.append(
            "  verified: the graph loads with no new problem; a test database migrated from "
            "empty gives the schema from before, and one with the rows of an up-to-date "
            "database has nothing to migrate and shows the squashed migrations applied"
        )
        lines.append(
            "  the rows of the deleted migrations stay in django_migrations (Django ignores "
            "them); once the files are deployed, prune them on each database:"
        )
        lines += [f"    {command}" for command in prune_commands(result)]
    return "\n".join(terminal(line) for line in lines) + "\n"


def render_json(result: SquashFinish, base: Path) -> str:
    data = {
        "dry_run": result.dry_run,
        "force": result.force,
        "databases": result.databases,
        "squashed": [
            {
                "migration": key_str(f.squashed),
                "outcome": (
                    "within"
                    if f.within is not None
                    else ("finished" if result.is_ready(f) else "refused")
                ),
                "within": key_str(f.within) if f.within else None,
                "replaced": [key_str(k) for k in f.replaced],
                "dependents": [
                    {"migration": key_str(o), "names": key_str(t)} for o, t in f.dependents
                ],
                "databases": dict(sorted(f.databases.items())),
                "refusals": [
                    {
                        "kind": r.kind,
                        "database": r.database,
                        "migrations": [key_str(k) for k in r.keys],
                        "message": refusal_words(f, r),
                    }
                    for r in f.refusals
                ],
            }
            for f in result.finishes
        ],
        "changes": [
            {"verb": c.verb, "path": display_path(str(c.path), base)} for c in result.plan.changes
        ],
        "written": [display_path(str(p), base) for p in result.written],
        "prune": prune_commands(result) if result.written else [],
    }
    return json.dumps(data, indent=2) + "\n"
