"""A pathological conflict for tests and benchmarks: one app, ``0001_initial``, then N
migrations that each depend on it (N leaves), a few of which touch the same things.

The leaves cycle through five shapes (``index % cycle``):

- 0: alters ``Item.name`` (to a length of its own): a same-field collision with every
  other leaf of shapes 0 and 3;
- 1: removes ``Item.title``: same-field with the other leaves of shape 1, same-model
  with the leaves that alter ``Item.name``;
- 2: adds a field of its own to ``Order``: same-model with the other leaves of shape 2;
- 3: alters ``Item.name`` to one length shared by all leaves of this shape (the same
  outcome: no same-field collision among them);
- anything else: creates a model of its own, colliding with nothing.

That is the ``alter`` shape; the others (``SHAPES``) give every leaf the same kind of
change, all on one model, or the hostile variants the benchmark tries:

- ``delete``: each leaf deletes ``Item`` (model-deleted, every pair);
- ``rename-model``: each renames ``Item`` to a name of its own (model-renamed, every pair);
- ``rename-field``: each renames ``Item.name`` to a name of its own (same-field);
- ``add-same-model``: each creates a model ``Thing`` (same-model-name, every pair);
- ``run-python``: each runs a data migration (RunPython) and nothing else;
- ``create``: each creates a model of its own (no collision);
- ``delete-alter``: even leaves delete ``Item``, odd ones alter ``Item.name``;
- ``chain``: each leaf is a branch of three migrations (alter ``Item.name``, add a field
  of its own to ``Order``, alter ``Item.title``).

``python tests/manyleaves.py DIR [--leaves N] [--cycle C] [--shape S]`` writes one on disk.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.djproject import DjangoProject  # noqa: E402

INITIAL = [
    """migrations.CreateModel(name="Item", fields=[
    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
    ("name", models.CharField(max_length=100)),
    ("title", models.CharField(max_length=100)),
])""",
    """migrations.CreateModel(name="Order", fields=[
    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
    ("code", models.CharField(max_length=10)),
])""",
]


def leaf_name(index: int) -> str:
    return f"0002_b{index:03d}"


def leaf_operation(index: int, cycle: int) -> str:
    shape = index % cycle
    if shape == 0:
        return (
            "migrations.AlterField(model_name='item', name='name', "
            f"field=models.CharField(max_length={200 + index}))"
        )
    if shape == 1:
        return "migrations.RemoveField(model_name='item', name='title')"
    if shape == 2:
        return (
            f"migrations.AddField(model_name='order', name='extra_{index}', "
            "field=models.IntegerField(default=0))"
        )
    if shape == 3:
        return (
            "migrations.AlterField(model_name='item', name='name', "
            "field=models.CharField(max_length=150))"
        )
    return (
        f'migrations.CreateModel(name="Thing{index}", fields=[("id", '
        "models.BigAutoField(auto_created=True, primary_key=True, serialize=False))])"
    )


def alter(length: int) -> str:
    return (
        "migrations.AlterField(model_name='item', name='name', "
        f"field=models.CharField(max_length={length}))"
    )


def create(name: str, *fields: str) -> str:
    columns = "".join(f", ({field!r}, models.IntegerField(default=0))" for field in fields)
    return (
        f'migrations.CreateModel(name="{name}", fields=[("id", '
        f"models.BigAutoField(auto_created=True, primary_key=True, serialize=False)){columns}])"
    )


DELETE = "migrations.DeleteModel(name='Item')"

#: Each shape's operations for one leaf, a list per migration of its branch.
SHAPES = {
    "delete": lambda index: [[DELETE]],
    "rename-model": lambda index: [
        [f"migrations.RenameModel(old_name='Item', new_name='Item{index:04d}')"]
    ],
    "rename-field": lambda index: [
        [f"migrations.RenameField('item', old_name='name', new_name='name_{index}')"]
    ],
    "add-same-model": lambda index: [[create("Thing", f"f{index}")]],
    "run-python": lambda index: [["migrations.RunPython(migrations.RunPython.noop)"]],
    "create": lambda index: [[create(f"Thing{index}")]],
    "delete-alter": lambda index: [[DELETE if index % 2 == 0 else alter(200 + index)]],
    "chain": lambda index: [
        [alter(200 + index)],
        [
            f"migrations.AddField(model_name='order', name='extra_{index}', "
            "field=models.IntegerField(default=0))"
        ],
        [
            "migrations.AlterField(model_name='item', name='title', "
            f"field=models.CharField(max_length={200 + index}))"
        ],
    ],
}


def many_leaves(
    project: DjangoProject, leaves: int, *, cycle: int = 50, app: str = "alpha", shape="alter"
):
    """Write the app into ``project`` (see the module's docstring)."""
    project.add_migration(app, "0001_initial", [], operations=INITIAL, initial=True)
    for index in range(leaves):
        steps = [[leaf_operation(index, cycle)]] if shape == "alter" else SHAPES[shape](index)
        parent = (app, "0001_initial")
        for number, operations in enumerate(steps, start=2):
            name = leaf_name(index) if number == 2 else f"{number:04d}_b{index:03d}"
            project.add_migration(app, name, [parent], operations=operations)
            parent = (app, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--leaves", type=int, default=500)
    parser.add_argument("--cycle", type=int, default=50)
    parser.add_argument("--shape", choices=["alter", *SHAPES], default="alter")
    args = parser.parse_args()
    project = DjangoProject(args.folder)
    many_leaves(project, args.leaves, cycle=args.cycle, shape=args.shape)
    print(args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
