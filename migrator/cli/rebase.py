"""``migrator rebase``: linear history instead of a merge migration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from migrator.cli.app import (
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    handle_errors,
    project_options,
    recover_interrupted,
    write,
)
from migrator.errors import RefusedError


def _sides(graph, app_label: str, leaves: list[str], onto: str | None, cwd: Path):
    """(keep, move, why) from git: the leaf on the mainline stays, the others move."""
    from migrator import git

    if git.toplevel(cwd) is None:
        raise RefusedError(
            f"cannot tell which branch of {app_label!r} to move outside a git work tree",
            hint="name it: --keep LEAF or --move LEAF (leaves: " + ", ".join(leaves) + ")",
        )
    if onto:
        mainline, why = git.rev_parse(onto, cwd), f"on {onto}"
        if mainline is None:
            raise RefusedError(
                f"--onto {onto!r} is not a commit here",
                hint="use a branch, tag or commit, e.g. --onto origin/main",
            )
    else:
        merge = git.merge_state(cwd)
        if merge is None:
            raise RefusedError(
                "HEAD is not a merge and no merge is in progress, so the mainline is unknown",
                hint="pass --onto REF (the branch that stays, e.g. origin/main), --keep LEAF "
                "or --move LEAF",
            )
        mainline = merge.ours
        why = "on the mainline (HEAD)" if merge.state == "merging" else "on the mainline (HEAD^1)"
    on_mainline = [
        leaf
        for leaf in leaves
        if git.path_in_tree(mainline, Path(graph.nodes[(app_label, leaf)]["path"]), cwd)
    ]
    if len(on_mainline) != 1:
        found = ", ".join(on_mainline) or "none"
        raise RefusedError(
            f"{app_label!r}: expected exactly one leaf on the mainline, found {found}",
            hint="name the branch that stays with --keep LEAF (leaves: " + ", ".join(leaves) + ")",
        )
    keep = on_mainline[0]
    return keep, [leaf for leaf in leaves if leaf != keep], why


def _database_note(info: dict | None, static: bool, alias: str) -> str | None:
    """Why applied state could not be checked (the rebase goes on), or ``None``."""
    if static:
        return (
            f"note: --static reads no database: not checked whether {alias!r} has "
            "applied the migrations that move\n"
        )
    if info and info.get("state") == "unavailable":
        if str(info.get("error", "")).startswith("no SQLite file"):
            return None  # no database file yet: nothing can be applied there
        return (
            f"note: database {alias!r} cannot be read ({info.get('error')}): not checked "
            "whether it has applied the migrations that move\n"
        )
    return None


def _applied(graph, keys) -> list[str]:
    from migrator.graph import key_str

    return sorted(key_str(k) for k in keys if graph.nodes[k].get("applied"))


@app.command()
def rebase(
    app_label: Annotated[str, typer.Argument(metavar="APP_LABEL", help="The app to rebase.")],
    onto: Annotated[
        str | None,
        typer.Option(
            "--onto",
            metavar="REF",
            help="The branch that stays (default: HEAD's first parent, "
            "or HEAD during an unfinished merge).",
        ),
    ] = None,
    keep: Annotated[
        str | None, typer.Option("--keep", metavar="LEAF", help="The leaf whose branch stays.")
    ] = None,
    move: Annotated[
        list[str] | None,
        typer.Option("--move", metavar="LEAF", help="A leaf whose branch moves (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print every rename and a diff of every edit; write nothing."
        ),
    ] = False,
    database: Annotated[
        str,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Refuse to rename migrations this database has "
            "applied (skipped, with a note, when it cannot be reached).",
        ),
    ] = "default",
    force: Annotated[
        bool,
        typer.Option("--force", help="Rename migrations even if the database has applied them."),
    ] = False,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Renumber the migrations of the merged-in branch so they follow the other branch's
    leaf, and fix every reference to them: one leaf, linear history.

    Exit 0 when rebased (or nothing to do), 1 when refused, 2 on a usage error.
    """
    from migrator import git
    from migrator.project import load_project, select_apps
    from migrator.rebase import choose_leaf, conflict_leaves, plan_rebase
    from migrator.recover import journal_for
    from migrator.render.paths import display_path
    from migrator.write.plan import RenameFile, apply_plan
    from migrator.write.verify import single_leaf_verifier

    cwd = Path.cwd()
    with handle_errors(traceback):
        recover_interrupted(cwd)
        options = project_options(settings, pythonpath, static)
        project = load_project(options, database=None if static else database)
        select_apps(project.graph, [app_label])
        note = _database_note(project.graph.graph.get("database"), static, database)
        graph = project.graph
        leaves = conflict_leaves(graph, app_label)
        if not leaves:
            write(f"{app_label}: nothing to rebase: one leaf.\n")
            raise typer.Exit(0)
        if keep or move:
            moving = [choose_leaf(app_label, leaves, m, "--move") for m in move or []]
            if keep:
                kept = choose_leaf(app_label, leaves, keep, "--keep")
                moving = moving or [leaf for leaf in leaves if leaf != kept]
            else:
                rest = [leaf for leaf in leaves if leaf not in moving]
                if len(rest) != 1:
                    raise RefusedError(
                        f"{app_label!r} has {len(leaves)} leaves: say which stays",
                        hint="add --keep LEAF",
                    )
                kept = rest[0]
            why = "named with --keep" if keep else "the leaf not moved"
        else:
            kept, moving, why = _sides(graph, app_label, leaves, onto, cwd)
        use_git = git.toplevel(cwd) is not None
        plan = plan_rebase(graph, app_label, kept, sorted(moving), use_git=use_git, base=cwd)
        renamed = [old for old, new in plan.renames.items() if old != new]
        if note and renamed:
            sys.stderr.write(note)
        applied = _applied(graph, renamed)
        if applied and not force:
            raise RefusedError(
                f"database {database!r} has applied " + ", ".join(applied) + "; renamed, they "
                "would look unapplied and `migrate` would run them again",
                hint="merge instead (`migrator merge " + app_label + "`), or rebase with "
                "--force and fix the django_migrations rows by hand",
            )
        write(f"{app_label}: keeping {kept} ({why}); moving " + ", ".join(sorted(moving)) + "\n")
        for change in plan.plan.changes:
            source = (
                f"{display_path(str(change.source), cwd)} -> "
                if isinstance(change, RenameFile)
                else ""
            )
            write(f"  {change.verb:<6} {source}{display_path(str(change.path), cwd)}\n")
        if dry_run:
            for diff in plan.diffs:
                write(diff if diff.endswith("\n") else diff + "\n")
            write("Dry run: nothing written.\n")
            raise typer.Exit(0)
        count = sum(1 for node in graph.nodes if node[0] == app_label)
        # every app: a rebase edits references anywhere, so any app can break
        scope = select_apps(graph, [], only_migrated=True)
        verify = single_leaf_verifier(
            options, project.settings, [app_label], project.problems, {app_label: count}, scope
        )
        apply_plan(plan.plan, verify, journal=journal_for(cwd), command=f"rebase {app_label}")
    write(
        f"Verified in a fresh process: {app_label!r} has one leaf ({plan.new_leaf}) and "
        f"{count} migrations.\n"
    )
