"""migrator: find, explain and resolve Django migration conflicts; draw migration graphs."""

from __future__ import annotations

__version__ = "0.1.0"
