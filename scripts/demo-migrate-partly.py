"""Bring sample_apps' SQLite database part-way, so `migrator show` has something to show.

Run from the sample_apps copy. `migrate` refuses while an app still has two leaves, so
this applies chosen targets through Django's own executor, as `migrate APP NAME` would.
payments stands for a database deployed before its squash existed: only its first
replaced migration is applied, so `migrate` cannot use the squash there.
"""

import os
import sys

import django

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from django.db.migrations.loader import MigrationLoader  # noqa: E402

targets = [
    ("catalog", "0004_product_is_active_alter_product_slug"),
    ("customers", "0002_customer_marketing_opt_in"),
    ("orders", "0002_order_updated_at"),
]
executor = MigrationExecutor(connection)
executor.migrate(targets)
executor.loader = MigrationLoader(connection, replace_migrations=False)
executor.migrate([("payments", "0001_initial")])
for app, name in [*targets, ("payments", "0001_initial")]:
    print(f"applied {app} up to {name}")
