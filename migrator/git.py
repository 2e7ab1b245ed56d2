"""A few small git functions. Each takes ``cwd`` explicitly and never raises because a
folder is not a repository: it returns ``None`` (or an empty result) instead."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def run_git(args: list[str], cwd: Path) -> str | None:
    """``git ARGS`` in ``cwd``: its stdout, or ``None`` when git is missing or fails."""
    if shutil.which("git") is None:
        return None
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def toplevel(cwd: Path) -> Path | None:
    """The root of the work tree ``cwd`` is in, or ``None`` outside git."""
    out = run_git(["rev-parse", "--show-toplevel"], cwd)
    return Path(out.strip()) if out else None
