"""The release as users install it by name (``migrator-django==X``), before it is on
PyPI: a wheel of this checkout in a folder pip is pointed at (``PIP_FIND_LINKS``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheelhouse(folder: Path) -> Path:
    """``folder`` with one wheel of this checkout in it (dependencies not included)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check"]
        + ["--no-deps", "-w", str(folder), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = folder.glob("migrator_django-*.whl")
    return folder
