"""The migrator Django app: ``INSTALLED_APPS += ["migrator"]`` adds ``manage.py migrator``
(:mod:`migrator.management.commands.migrator`) and the system checks of
:mod:`migrator.checks`. Django imports this module only for a project that installs the
app; the command line never does."""

from __future__ import annotations

from django.apps import AppConfig


class MigratorConfig(AppConfig):
    name = "migrator"
    verbose_name = "migrator"

    def ready(self) -> None:
        from migrator import checks  # noqa: F401  (registers the system checks)
