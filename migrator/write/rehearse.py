"""Rehearse a plan on a throwaway copy of the project, for ``--dry-run``.

A :class:`~migrator.write.plan.GeneratedFile` only knows what it writes once the changes
before it are on disk (Django's ``makemigrations`` reads the files). To show that file
without touching the project, the project's folder is copied to a temporary folder,
the file changes are made there, and each generating command runs there, in a new
process, on the copy (its paths into the project point into the copy). The copy is
removed afterwards; the project is never written.

The rehearsal shows what the real run would write now; the real run generates the file
again once its own changes are on disk, and verifies it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from migrator.write.journal import run_step_command
from migrator.write.plan import (
    DeleteFile,
    EditFile,
    GeneratedFile,
    NewFile,
    RenameFile,
    RunCommand,
    WritePlan,
)

#: Never copied: version control, caches, environments (none is project code Django
#: imports; a virtualenv can be large).
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".hg",
    "__pycache__",
    "node_modules",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".migrator-journal",
)


@dataclass(frozen=True)
class Generated:
    """What one generating step would write: ``path`` (in the project) and ``source``,
    or ``None`` for both when the command found nothing to write."""

    step: GeneratedFile
    path: Path | None
    source: str | None


def _inside(path: Path, root: Path) -> Path | None:
    """``path`` relative to ``root`` (both absolute, links not followed), else ``None``."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return None


def rehearse(plan: WritePlan, root: Path) -> list[Generated] | None:
    """Make the file changes of ``plan`` on a copy of ``root`` and run its generating
    steps there, in order: what each would write. ``None`` when a change lies outside
    ``root`` (the copy could not show it). Database steps (:class:`RunCommand`) are
    left out. Raises ``OSError`` (a :class:`~migrator.write.journal.CommandFailed` for a
    command that fails) as the real run would."""
    changes = plan.changes
    touched = [c.path for c in changes if not isinstance(c, RunCommand)]
    touched += [c.source for c in changes if isinstance(c, RenameFile)]
    if any(_inside(path, root) is None for path in touched):
        return None
    results: list[Generated] = []
    with tempfile.TemporaryDirectory(prefix="migrator-rehearsal-") as folder:
        copy = Path(folder) / (root.name or "project")
        shutil.copytree(root, copy, symlinks=True, ignore=NOT_COPIED)

        def there(path: Path) -> Path:
            relative = _inside(path, root)
            assert relative is not None
            return copy / relative

        for change in changes:
            if isinstance(change, DeleteFile):
                there(change.path).unlink()
            elif isinstance(change, RenameFile):
                os.replace(there(change.source), there(change.path))
            elif isinstance(change, EditFile):
                there(change.path).write_bytes(change.new)
            elif isinstance(change, NewFile):
                there(change.path).write_text(change.content, encoding="utf-8")
            elif isinstance(change, GeneratedFile):
                results.append(_generate(change, root, copy, there))
    return results


def _in_copy(arg: str, roots: set[str], copy: Path) -> str:
    """A command-line argument with a path into the project pointed into the copy."""
    for real in roots:
        if arg == real or arg.startswith(real + os.sep):
            return str(copy) + arg[len(real) :]
    return arg


def _generate(step: GeneratedFile, root: Path, copy: Path, there) -> Generated:
    roots = {os.path.abspath(root), str(root.resolve())}
    argv = [_in_copy(arg, roots, copy) for arg in step.argv]
    cwd = there(step.cwd) if _inside(step.cwd, root) is not None else copy
    made = step.parse(run_step_command(argv, str(cwd)))
    if made is None:
        return Generated(step, None, None)
    name, source = made
    target = there(step.folder) / name
    target.write_text(source, encoding="utf-8")  # a later step sees it, as for real
    return Generated(step, step.folder / name, source)
