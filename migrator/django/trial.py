"""Migrate throwaway copies of a database, as Django's test runner makes them: the proof
that a rewritten history runs, from an empty database and from the state the developer
had (the kept branch applied), without touching the real database."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from migrator.errors import WriteError
from migrator.graph import Key, key_str


def trial_migrate(alias: str, start: Key | None) -> None:
    """On a test database of ``alias`` (created, then destroyed): ``migrate`` from empty;
    then, on a second one, ``migrate`` to ``start`` first (the migrations of the kept
    branch, as a developer's database has them), then to the end."""
    for target in (None, start) if start is not None else (None,):
        connection = connections[alias]
        real_name = connection.settings_dict["NAME"]
        # Django's create_test_db, without its migrate: we migrate ourselves, step by step
        name = connection.creation._create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        connection.close()
        settings.DATABASES[alias]["NAME"] = name
        connection.settings_dict["NAME"] = name
        try:
            step = "to the end"
            if target is not None:
                step = f"to {key_str(target)}"
                call_command("migrate", target[0], target[1], database=alias, verbosity=0)
                step = f"from {key_str(target)} to the end"
            call_command("migrate", database=alias, verbosity=0)
        except Exception as exc:
            raise WriteError(
                f"migrate {step} failed on a test database of {alias!r}: "
                f"{type(exc).__name__}: {' '.join(str(exc).split())}",
                hint="the new migrations do not run; nothing was kept",
            ) from exc
        finally:
            connection.creation.destroy_test_db(real_name, verbosity=0)
            settings.DATABASES[alias]["NAME"] = real_name
