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

``python tests/manyleaves.py DIR [--leaves N] [--cycle C]`` writes one on disk.
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


def many_leaves(project: DjangoProject, leaves: int, *, cycle: int = 50, app: str = "alpha"):
    """Write the app into ``project`` (see the module's docstring)."""
    project.add_migration(app, "0001_initial", [], operations=INITIAL, initial=True)
    for index in range(leaves):
        project.add_migration(
            app,
            leaf_name(index),
            [(app, "0001_initial")],
            operations=[leaf_operation(index, cycle)],
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--leaves", type=int, default=500)
    parser.add_argument("--cycle", type=int, default=50)
    args = parser.parse_args()
    project = DjangoProject(args.folder)
    many_leaves(project, args.leaves, cycle=args.cycle)
    print(args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
