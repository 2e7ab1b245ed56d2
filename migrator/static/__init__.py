"""Static mode: read migration files with ``ast`` instead of importing them.

No project code runs: not the settings, not the apps, not the migrations. The result
has the shape documented in :mod:`migrator.graph`, built by Django's own rules.
"""

from __future__ import annotations

from migrator.static.loader import StaticLoad, load_static_graph

__all__ = ["StaticLoad", "load_static_graph"]
