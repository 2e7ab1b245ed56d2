"""Generate a synthetic Django project with a large, realistic migration graph.

Importable::

    from benchmarks.generate import generate_project
    generate_project(Path("/tmp/p"), apps=50, migrations=200, conflicts=0, seed=0)

or runnable::

    python benchmarks/generate.py OUT_DIR --apps 50 --migrations 200 [--conflicts K] [--seed S]

The project contains ``manage.py``, a ``benchproject`` settings package (SQLite,
``DEFAULT_AUTO_FIELD = BigAutoField``) and apps ``app_000`` .. ``app_NNN``. Every
app has ``apps.py``, ``models.py``, ``migrations/__init__.py`` and M migration
files named and formatted the way ``makemigrations`` writes them:

* ``0001_initial`` creates two or three models (some with a ForeignKey to
  ``settings.AUTH_USER_MODEL`` and a swappable dependency);
* later migrations are mostly AddField / AlterField / CreateModel, one or two
  cheap operations each;
* about 1 in 10 migrations adds a ForeignKey to a model of a *lower-numbered*
  app, depending on the migration that created that model (so the graph stays
  acyclic but has many cross-app edges). ``app_000`` has no lower app, so its
  ForeignKeys point inside the app.

``models.py`` matches the final migration state exactly, so
``django-admin makemigrations --check --dry-run`` runs the whole autodetector
and reports "No changes detected".

With ``conflicts=K`` the first K apps get one extra migration that forks from
their second-to-last migration (two leaf nodes => "Conflicting migrations
detected"). It adds a new field, which ``models.py`` also contains, so the merged
state still matches the models. Everything else is identical to the
``conflicts=0`` project for the same seed.

Output is deterministic for a given (apps, migrations, conflicts, seed).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

# Bump whenever the generated output changes (invalidates benchmark caches).
GENERATOR_VERSION = 1
SETTINGS_PACKAGE = "benchproject"
META_FILE = "bench_meta.json"
HEADER_DJANGO_VERSION = "5.2"
AUTH_USER = "settings.AUTH_USER_MODEL"

ID_FIELD = (
    "('id', models.BigAutoField(auto_created=True, primary_key=True, "
    "serialize=False, verbose_name='ID')),"
)

MODEL_NAMES = (
    "Author", "Book", "Customer", "Order", "Invoice", "Product", "Category", "Tag",
    "Comment", "Review", "Shipment", "Payment", "Account", "Profile", "Address",
    "Warehouse", "Supplier", "Coupon", "Ticket", "Event", "Venue", "Project", "Task",
    "Milestone", "Report", "Subscription", "Plan", "Team", "Membership", "Document",
    "Attachment", "Note", "Message", "Thread", "Channel", "Region", "Store", "Cart",
    "Refund", "Discount", "Contract", "Vendor", "Asset", "Batch", "Campaign", "Device",
)  # fmt: skip

# field name -> field class used for it
FIELD_KINDS: dict[str, str] = {
    "title": "CharField", "name": "CharField", "slug": "CharField", "code": "CharField",
    "status": "CharField", "email": "CharField", "phone": "CharField", "url": "CharField",
    "reference": "CharField", "external_id": "CharField", "color": "CharField",
    "label": "CharField", "locale": "CharField", "timezone": "CharField",
    "description": "TextField", "notes": "TextField", "summary": "TextField",
    "body": "TextField", "comment": "TextField",
    "quantity": "IntegerField", "position": "IntegerField", "priority": "IntegerField",
    "rank": "IntegerField", "score": "IntegerField", "version": "IntegerField",
    "sequence": "IntegerField", "rating": "IntegerField",
    "is_active": "BooleanField", "is_public": "BooleanField", "is_archived": "BooleanField",
    "is_featured": "BooleanField", "is_verified": "BooleanField",
    "published_at": "DateTimeField", "created_at": "DateTimeField",
    "updated_at": "DateTimeField", "expires_at": "DateTimeField",
    "starts_at": "DateTimeField",
    "price": "DecimalField", "amount": "DecimalField", "total": "DecimalField",
    "balance": "DecimalField", "weight": "DecimalField",
}  # fmt: skip
FIELD_NAMES = tuple(FIELD_KINDS)
CHAR_LENGTHS = (32, 50, 64, 100, 120, 150, 200, 255)
DECIMAL_DIGITS = (8, 10, 12, 14)

# Share of migrations 0002..N by kind (the rest are AddField).
P_CROSS_FK = 0.10
P_CREATE_MODEL = 0.10
P_ALTER_FIELD = 0.25
P_TWO_FIELDS = 0.15  # share of AddField migrations that add two fields
P_USER_FK = 0.25  # chance that a model of 0001_initial gets an owner FK to the user model


@dataclass
class FieldSpec:
    name: str
    cls: str
    kwargs: dict[str, object]
    to: str | None = None  # "app_003.Widget" or AUTH_USER
    on_delete: str | None = None

    def migration_expr(self) -> str:
        """The field as MigrationWriter serializes it (kwargs sorted)."""
        items = {key: repr(value) for key, value in self.kwargs.items()}
        if self.on_delete:
            items["on_delete"] = f"django.db.models.deletion.{self.on_delete}"
        if self.to:
            items["to"] = AUTH_USER if self.to == AUTH_USER else repr(self.to.lower())
        args = ", ".join(f"{key}={items[key]}" for key in sorted(items))
        return f"models.{self.cls}({args})"

    def model_expr(self, app_label: str) -> str:
        """The field as a developer writes it in models.py."""
        parts: list[str] = []
        if self.to:
            if self.to == AUTH_USER:
                parts.append(AUTH_USER)
            else:
                target_app, target_model = self.to.split(".")
                parts.append(repr(target_model if target_app == app_label else self.to))
            parts.append(f"on_delete=models.{self.on_delete}")
        parts.extend(f"{key}={value!r}" for key, value in sorted(self.kwargs.items()))
        return f"models.{self.cls}({', '.join(parts)})"


@dataclass
class ModelSpec:
    name: str
    created_in: int
    created_by: str
    fields: list[FieldSpec] = field(default_factory=list)

    @property
    def lower(self) -> str:
        return self.name.lower()

    def field_names(self) -> set[str]:
        return {f.name for f in self.fields}


@dataclass
class MigrationSpec:
    number: int
    name: str
    parent: str | None
    operations: list[str]
    deps: set[tuple[str, str]] = field(default_factory=set)
    swappable: bool = False
    uses_deletion: bool = False
    uses_settings: bool = False


class _AppBuilder:
    """Builds the migrations and final model state of one app."""

    def __init__(
        self,
        index: int,
        label: str,
        rng: random.Random,
        registry: dict[str, list[ModelSpec]],
        width: int,
    ) -> None:
        self.index = index
        self.width = width  # digits in app labels
        self.label = label
        self.rng = rng
        self.registry = registry  # finished lower-numbered apps
        self.models: list[ModelSpec] = []
        self.migrations: list[MigrationSpec] = []
        names = list(MODEL_NAMES)
        rng.shuffle(names)
        self._model_names = names
        self._model_counter = 0

    # -- naming -------------------------------------------------------------
    def _new_model_name(self) -> str:
        count = self._model_counter
        self._model_counter += 1
        base = self._model_names[count % len(self._model_names)]
        rounds = count // len(self._model_names)
        return base if rounds == 0 else f"{base}{rounds + 1}"

    @staticmethod
    def _unique(base: str, taken: set[str]) -> str:
        if base not in taken:
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    # -- fields -------------------------------------------------------------
    def _plain_field(self, taken: set[str]) -> FieldSpec:
        base = self.rng.choice(FIELD_NAMES)
        name = self._unique(base, taken)
        cls = FIELD_KINDS[base]
        kwargs: dict[str, object]
        if cls == "CharField":
            kwargs = {"blank": True, "default": "", "max_length": self.rng.choice(CHAR_LENGTHS)}
        elif cls == "TextField":
            kwargs = {"blank": True, "default": ""}
        elif cls == "IntegerField":
            kwargs = {"default": 0}
        elif cls == "BooleanField":
            kwargs = {"default": False}
        elif cls == "DateTimeField":
            kwargs = {"blank": True, "null": True}
        else:
            kwargs = {"blank": True, "decimal_places": 2, "max_digits": 10, "null": True}
        return FieldSpec(name, cls, kwargs)

    def _fk_field(self, model: ModelSpec, target: str, taken: set[str]) -> FieldSpec:
        base = "owner" if target == AUTH_USER else target.split(".")[1].lower()
        name = self._unique(base, taken)
        on_delete = self.rng.choice(("CASCADE", "SET_NULL"))
        kwargs: dict[str, object] = {
            "blank": True,
            "null": True,
            # explicit, globally unique related_name: no reverse accessor clashes
            "related_name": f"{self.label}_{model.lower}_{name}",
        }
        return FieldSpec(name, "ForeignKey", kwargs, to=target, on_delete=on_delete)

    def _altered(self, old: FieldSpec, number: int) -> FieldSpec:
        kwargs = dict(old.kwargs)
        choice = self.rng.randrange(3)
        if choice == 0 and old.cls == "CharField":
            kwargs["max_length"] = self.rng.choice(
                [n for n in CHAR_LENGTHS if n != kwargs["max_length"]]
            )
        elif choice == 0 and old.cls == "DecimalField":
            kwargs["max_digits"] = self.rng.choice(
                [n for n in DECIMAL_DIGITS if n != kwargs["max_digits"]]
            )
        elif choice == 0 and old.cls == "IntegerField":
            kwargs["default"] = int(kwargs.get("default", 0)) + 1  # type: ignore[call-overload]
        elif choice == 1 and old.cls != "TextField":
            if kwargs.pop("db_index", False) is False:
                kwargs["db_index"] = True
        else:
            kwargs["help_text"] = f"{old.name.replace('_', ' ')} (revision {number})"
        return FieldSpec(old.name, old.cls, kwargs, old.to, old.on_delete)

    # -- operations -----------------------------------------------------------
    @staticmethod
    def _create_model_op(model: ModelSpec) -> str:
        lines = [
            "        migrations.CreateModel(",
            f"            name={model.name!r},",
            "            fields=[",
            f"                {ID_FIELD}",
        ]
        lines.extend(f"                ({f.name!r}, {f.migration_expr()})," for f in model.fields)
        lines += ["            ],", "        ),"]
        return "\n".join(lines)

    @staticmethod
    def _field_op(kind: str, model: ModelSpec, spec: FieldSpec) -> str:
        return (
            f"        migrations.{kind}(\n"
            f"            model_name={model.lower!r},\n"
            f"            name={spec.name!r},\n"
            f"            field={spec.migration_expr()},\n"
            "        ),"
        )

    def _new_migration(
        self, number: int, fragments: list[str], parent: str | None
    ) -> MigrationSpec:
        if number == 1:
            suffix = "initial"
        else:
            suffix = fragments[0]
            for fragment in fragments[1:]:
                candidate = f"{suffix}_{fragment}"
                if len(candidate) > 52:
                    suffix = f"{suffix}_and_more"
                    break
                suffix = candidate
        return MigrationSpec(number, f"{number:04d}_{suffix}", parent, [])

    def _note_field(self, mig: MigrationSpec, spec: FieldSpec) -> None:
        if spec.to is None:
            return
        mig.uses_deletion = True
        if spec.to == AUTH_USER:
            mig.uses_settings = True
            mig.swappable = True

    def _add_create_model(self, mig: MigrationSpec, model: ModelSpec) -> None:
        self.models.append(model)
        mig.operations.append(self._create_model_op(model))
        for spec in model.fields:
            self._note_field(mig, spec)

    def _build_model(self, number: int, mig_name: str, *, initial: bool) -> ModelSpec:
        model = ModelSpec(self._new_model_name(), number, mig_name)
        taken: set[str] = set()
        title = FieldSpec(
            self.rng.choice(("name", "title", "code")),
            "CharField",
            {"max_length": self.rng.choice(CHAR_LENGTHS)},
        )
        model.fields.append(title)
        taken.add(title.name)
        for _ in range(self.rng.randint(1, 3)):
            spec = self._plain_field(taken)
            model.fields.append(spec)
            taken.add(spec.name)
        if initial and self.rng.random() < P_USER_FK:
            model.fields.append(self._fk_field(model, AUTH_USER, taken))
        elif not initial and self.models and self.rng.random() < 0.3:
            target = self.rng.choice(self.models)
            model.fields.append(self._fk_field(model, f"{self.label}.{target.name}", taken))
        return model

    def build(self, count: int) -> None:
        rng = self.rng
        # 0001_initial
        mig = self._new_migration(1, [], None)
        for _ in range(rng.choice((2, 2, 3))):
            self._add_create_model(mig, self._build_model(1, mig.name, initial=True))
        self.migrations.append(mig)

        for number in range(2, count + 1):
            parent = self.migrations[-1].name
            roll = rng.random()
            if roll < P_CROSS_FK:
                self._gen_fk(number, parent)
            elif roll < P_CROSS_FK + P_CREATE_MODEL:
                model = self._build_model(number, "", initial=False)
                mig = self._new_migration(number, [model.lower], parent)
                model.created_by = mig.name
                self._add_create_model(mig, model)
                self.migrations.append(mig)
            elif roll < P_CROSS_FK + P_CREATE_MODEL + P_ALTER_FIELD:
                self._gen_alter(number, parent)
            else:
                self._gen_add(number, parent, two=rng.random() < P_TWO_FIELDS)

    def _gen_add(self, number: int, parent: str, *, two: bool) -> None:
        model = self.rng.choice(self.models)
        specs: list[FieldSpec] = []
        taken = model.field_names()
        for _ in range(2 if two else 1):
            spec = self._plain_field(taken)
            taken.add(spec.name)
            specs.append(spec)
        specs.sort(key=lambda s: s.name)  # the autodetector emits AddFields sorted by name
        mig = self._new_migration(number, [f"{model.lower}_{s.name}" for s in specs], parent)
        for spec in specs:
            model.fields.append(spec)
            mig.operations.append(self._field_op("AddField", model, spec))
        self.migrations.append(mig)

    def _gen_alter(self, number: int, parent: str) -> None:
        model = self.rng.choice(self.models)
        candidates = [i for i, f in enumerate(model.fields) if f.to is None]
        pos = self.rng.choice(candidates)
        new = self._altered(model.fields[pos], number)
        model.fields[pos] = new
        mig = self._new_migration(number, [f"alter_{model.lower}_{new.name}"], parent)
        mig.operations.append(self._field_op("AlterField", model, new))
        self.migrations.append(mig)

    def _gen_fk(self, number: int, parent: str) -> None:
        model = self.rng.choice(self.models)
        dep: tuple[str, str] | None = None
        if self.index > 0:
            target_label = _app_label(self.rng.randrange(self.index), self.width)
            target = self.rng.choice(self.registry[target_label])
            dep = (target_label, target.created_by)
        else:
            target_label = self.label
            target = self.rng.choice(self.models)
        spec = self._fk_field(model, f"{target_label}.{target.name}", model.field_names())
        mig = self._new_migration(number, [f"{model.lower}_{spec.name}"], parent)
        if dep:
            mig.deps.add(dep)
        model.fields.append(spec)
        self._note_field(mig, spec)
        mig.operations.append(self._field_op("AddField", model, spec))
        self.migrations.append(mig)

    def add_conflict(self) -> None:
        """Add a sibling of the last migration (same parent => a second leaf)."""
        if len(self.migrations) < 2:
            raise ValueError("conflicts need at least 2 migrations per app")
        last = self.migrations[-1]
        fork_point = self.migrations[-2]
        number = last.number
        model = self.rng.choice([m for m in self.models if m.created_in < number])
        spec = self._plain_field(model.field_names())
        mig = self._new_migration(number, [f"{model.lower}_{spec.name}"], fork_point.name)
        assert mig.name != last.name
        model.fields.append(spec)
        mig.operations.append(self._field_op("AddField", model, spec))
        self.migrations.append(mig)

    # -- rendering ------------------------------------------------------------
    def render_migration(self, mig: MigrationSpec, timestamp: datetime) -> str:
        imports = {"from django.db import migrations, models"}
        if mig.uses_deletion:
            imports.add("import django.db.models.deletion")
        if mig.uses_settings:
            imports.add("from django.conf import settings")
        import_lines = sorted(imports, key=lambda i: (i.split()[0] == "from", i.split()[1]))
        deps = [f"        ({app!r}, {name!r})," for app, name in mig.deps]
        if mig.parent:
            deps.append(f"        ({self.label!r}, {mig.parent!r}),")
        if mig.swappable:
            deps.append("        migrations.swappable_dependency(settings.AUTH_USER_MODEL),")
        deps.sort()
        parts = [
            f"# Generated by Django {HEADER_DJANGO_VERSION} on "
            f"{timestamp.strftime('%Y-%m-%d %H:%M')}\n\n",
            "\n".join(import_lines),
            "\n\n\nclass Migration(migrations.Migration):\n",
            "\n    initial = True\n" if mig.number == 1 else "",
            "\n    dependencies = [\n",
            "".join(d + "\n" for d in deps),
            "    ]\n\n    operations = [\n",
            "".join(op + "\n" for op in mig.operations),
            "    ]\n",
        ]
        return "".join(parts)

    def render_models(self) -> str:
        uses_settings = any(f.to == AUTH_USER for m in self.models for f in m.fields)
        out = ["from django.conf import settings\n" if uses_settings else ""]
        out.append("from django.db import models\n")
        for model in self.models:
            out.append(f"\n\nclass {model.name}(models.Model):\n")
            out.extend(f"    {f.name} = {f.model_expr(self.label)}\n" for f in model.fields)
            out.append(f'\n    def __str__(self):\n        return f"{model.name} #{{self.pk}}"\n')
        return "".join(out)

    def render_apps_py(self) -> str:
        camel = "".join(ch for ch in self.label.title() if ch != "_")
        return (
            "from django.apps import AppConfig\n\n\n"
            f"class {camel}Config(AppConfig):\n"
            "    default_auto_field = 'django.db.models.BigAutoField'\n"
            f"    name = {self.label!r}\n"
        )


def _app_label(index: int, width: int) -> str:
    return f"app_{index:0{width}d}"


MANAGE_PY = '''\
#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', '%(package)s.settings')
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == '__main__':
    main()
'''

SETTINGS_PY = '''\
"""
Settings of a synthetic project generated by migrator's benchmarks/generate.py
(%(apps)d apps x %(migrations)d migrations, %(conflicts)d conflicting apps, seed %(seed)d).
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = 'django-insecure-migrator-benchmark-only'
DEBUG = True
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    'django.contrib.contenttypes',
    'django.contrib.auth',
%(apps_list)s]

ROOT_URLCONF = '%(package)s.urls'

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': BASE_DIR / 'db.sqlite3',
    }
}

USE_TZ = True
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
'''


def generate_project(
    root: Path,
    apps: int,
    migrations: int,
    *,
    conflicts: int = 0,
    seed: int = 0,
) -> Path:
    """Write the project into ``root`` (must not exist or be empty); return its path."""
    if apps < 1 or migrations < 1:
        raise ValueError("apps and migrations must be >= 1")
    if not 0 <= conflicts <= apps:
        raise ValueError(f"conflicts must be between 0 and apps ({apps})")
    if conflicts and migrations < 2:
        raise ValueError("conflicts need at least 2 migrations per app")
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty")

    width = max(3, len(str(apps - 1)))
    files: dict[str, str] = {}
    registry: dict[str, list[ModelSpec]] = {}
    epoch = datetime(2023, 1, 2, 9, 0)
    labels = [_app_label(i, width) for i in range(apps)]
    for index, label in enumerate(labels):
        rng = random.Random(f"migrator-bench:{seed}:{index}")
        builder = _AppBuilder(index, label, rng, registry, width)
        builder.build(migrations)
        registry[label] = list(builder.models)
        if index < conflicts:
            builder.add_conflict()
        clock = random.Random(f"migrator-bench-clock:{seed}:{index}")
        stamp = epoch + timedelta(hours=index)
        files[f"{label}/__init__.py"] = ""
        files[f"{label}/apps.py"] = builder.render_apps_py()
        files[f"{label}/models.py"] = builder.render_models()
        files[f"{label}/migrations/__init__.py"] = ""
        for mig in builder.migrations:
            stamp += timedelta(minutes=clock.randint(5, 3000))
            files[f"{label}/migrations/{mig.name}.py"] = builder.render_migration(mig, stamp)

    package = SETTINGS_PACKAGE
    files["manage.py"] = MANAGE_PY % {"package": package}
    files[f"{package}/__init__.py"] = ""
    files[f"{package}/urls.py"] = "urlpatterns = []\n"
    files[f"{package}/settings.py"] = SETTINGS_PY % {
        "package": package,
        "apps": apps,
        "migrations": migrations,
        "conflicts": conflicts,
        "seed": seed,
        "apps_list": "".join(f"    {label!r},\n" for label in labels),
    }
    meta = {
        "generator_version": GENERATOR_VERSION,
        "apps": apps,
        "migrations": migrations,
        "conflicts": conflicts,
        "seed": seed,
        "migration_files": apps * migrations + conflicts,
        "conflicting_apps": labels[:conflicts],
    }
    files[META_FILE] = json.dumps(meta, indent=2) + "\n"

    root.mkdir(parents=True, exist_ok=True)
    made: set[Path] = set()
    for rel, text in files.items():
        path = root / rel
        parent = path.parent
        if parent not in made:
            parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    (root / "manage.py").chmod(0o755)
    return root.resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic Django project with a large migration graph."
    )
    parser.add_argument("out_dir", type=Path, help="target folder (must not exist or be empty)")
    parser.add_argument("--apps", type=int, default=50, help="number of apps (default 50)")
    parser.add_argument(
        "--migrations", type=int, default=200, help="migrations per app (default 200)"
    )
    parser.add_argument(
        "--conflicts", type=int, default=0, help="number of apps given a second leaf (default 0)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace OUT_DIR if it is a previously generated project (has {META_FILE})",
    )
    args = parser.parse_args(argv)

    out: Path = args.out_dir
    if args.force and out.exists():
        if not (out / META_FILE).is_file():
            parser.error(f"--force refuses to delete {out}: it has no {META_FILE}")
        shutil.rmtree(out)
    start = time.perf_counter()
    try:
        root = generate_project(
            out, args.apps, args.migrations, conflicts=args.conflicts, seed=args.seed
        )
    except (ValueError, FileExistsError) as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - start
    total = args.apps * args.migrations + args.conflicts
    print(
        f"generated {root}: {args.apps} apps x {args.migrations} migrations "
        f"({total} migration files, {args.conflicts} conflicting apps, seed {args.seed}) "
        f"in {elapsed:.2f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
