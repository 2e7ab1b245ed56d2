"""The networkx graph :mod:`migrator.django.loader` builds from a real project's migrations.

Django's settings are process-global, so the graph is loaded in a subprocess with the
project's settings and its attributes come back as JSON.
"""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject

DUMP = """
from dataclasses import asdict
from pathlib import Path
from migrator.django.loader import load_graph
from migrator.graph import installed_apps

loaded = load_graph(root=Path.cwd())
graph = loaded.graph
def k(key):
    return ".".join(key)
nodes = {}
for key, data in graph.nodes(data=True):
    nodes[k(key)] = {
        "app_label": data["app_label"],
        "name": data["name"],
        "path": data["path"],
        "initial": data["initial"],
        "dependencies": sorted(k(d) for d in data["dependencies"]),
        "replaces": [k(r) for r in data["replaces"]],
        "run_before": [k(r) for r in data["run_before"]],
        "atomic": data["atomic"],
        "is_merge": data["is_merge"],
        "is_squashed": data["is_squashed"],
        "operations": [type(op).__name__ + ": " + op.describe() for op in data["operations"]],
    }
edges = sorted([k(a), k(b), d["same_app"], d["kind"]] for a, b, d in graph.edges(data=True))
print(json.dumps({
    "nodes": nodes,
    "edges": edges,
    "apps": {label: asdict(info) for label, info in installed_apps(graph).items()},
    "replaced": {k(key): [k(r) for r in value] for key, value in graph.graph["replaced"].items()},
    "problems": [p.to_dict() for p in loaded.problems],
}))
"""

CREATE_THING = (
    "migrations.CreateModel(name='Thing', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False))])"
)
ADD_SIZE = (
    "migrations.AddField(model_name='thing', name='size', field=models.IntegerField(default=0))"
)
CREATE_OWNER = (
    "migrations.CreateModel(name='Owner', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False)), ('user', models.ForeignKey("
    "on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL))])"
)


def load(project: DjangoProject) -> dict:
    result = project.django(DUMP)
    assert result.code == 0, result.err
    return __import__("json").loads(result.out)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[DjangoProject, dict]:
    """One project with every attribute the graph documents:

    alpha: 0001_initial -> 0002_a -> 0003_merge       (a merge migration)
                      \\-> 0002_b -/                   (0002_b not atomic)
    beta:  0001_initial (depends on alpha.0001_initial and AUTH_USER_MODEL;
                         run_before alpha.0002_a)
    gamma: 0001_initial -> 0002_second -> 0003_third, plus 0001_squashed_0002
           replacing the first two
    delta: installed, no migrations
    """
    project = DjangoProject(tmp_path_factory.mktemp("loader") / "proj", contrib=True)
    project.add_migration("alpha", "0001_initial", initial=True, operations=[CREATE_THING])
    project.add_migration("alpha", "0002_a", [("alpha", "0001_initial")], operations=[ADD_SIZE])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")], atomic=False)
    project.add_migration("alpha", "0003_merge", [("alpha", "0002_a"), ("alpha", "0002_b")])
    source = project.add_migration(
        "beta",
        "0001_initial",
        [("alpha", "0001_initial")],
        initial=True,
        run_before=[("alpha", "0002_a")],
        operations=[CREATE_OWNER],
    )
    # As makemigrations writes a dependency on the user model.
    text = source.read_text()
    text = text.replace(
        "from django.db import migrations, models\n",
        "from django.conf import settings\nfrom django.db import migrations, models\n",
    ).replace(
        "    dependencies = [",
        "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL), ",
    )
    source.write_text(text)
    project.chain("gamma", ["0001_initial", "0002_second"])
    project.add_migration(
        "gamma",
        "0001_squashed_0002",
        replaces=[("gamma", "0001_initial"), ("gamma", "0002_second")],
        initial=True,
    )
    project.add_migration("gamma", "0003_third", [("gamma", "0002_second")])
    project.add_app("delta", migrations=False)
    return project, load(project)


def test_nodes_are_the_migrations_after_squash_replacement(shop):
    project, graph = shop
    assert sorted(graph["nodes"]) == [
        "alpha.0001_initial",
        "alpha.0002_a",
        "alpha.0002_b",
        "alpha.0003_merge",
        "auth.0001_initial",
        *[f"auth.{p.stem}" for p in _auth_migrations()[1:]],
        "beta.0001_initial",
        "contenttypes.0001_initial",
        "contenttypes.0002_remove_content_type_name",
        "gamma.0001_squashed_0002",
        "gamma.0003_third",
    ]
    assert graph["problems"] == []


def _auth_migrations():
    from pathlib import Path

    import django.contrib.auth

    folder = Path(django.contrib.auth.__file__).parent / "migrations"
    return sorted(p for p in folder.glob("0*.py"))


def test_node_path_name_and_app(shop):
    project, graph = shop
    node = graph["nodes"]["alpha.0002_b"]
    assert node["app_label"] == "alpha"
    assert node["name"] == "0002_b"
    assert node["path"] == str(project.migration_path("alpha", "0002_b"))


def test_initial_as_declared(shop):
    _, graph = shop
    assert graph["nodes"]["alpha.0001_initial"]["initial"] is True
    assert graph["nodes"]["alpha.0002_a"]["initial"] is None
    assert graph["nodes"]["gamma.0001_squashed_0002"]["initial"] is True


def test_atomic(shop):
    _, graph = shop
    assert graph["nodes"]["alpha.0002_b"]["atomic"] is False
    assert graph["nodes"]["alpha.0002_a"]["atomic"] is True


def test_merge_migration(shop):
    _, graph = shop
    merges = sorted(key for key, node in graph["nodes"].items() if node["is_merge"])
    assert merges == ["alpha.0003_merge"]


def test_squashed_migration_and_replaced(shop):
    _, graph = shop
    squashed = graph["nodes"]["gamma.0001_squashed_0002"]
    assert squashed["is_squashed"] is True
    assert squashed["replaces"] == ["gamma.0001_initial", "gamma.0002_second"]
    assert graph["replaced"] == {
        "gamma.0001_squashed_0002": ["gamma.0001_initial", "gamma.0002_second"]
    }
    # 0003_third depended on a replaced migration: Django repoints it to the squash.
    assert ["gamma.0001_squashed_0002", "gamma.0003_third", True, "dependency"] in graph["edges"]
    assert not any(
        node["is_squashed"]
        for key, node in graph["nodes"].items()
        if key != "gamma.0001_squashed_0002"
    )


def test_dependencies_with_swappable_resolved(shop):
    _, graph = shop
    node = graph["nodes"]["beta.0001_initial"]
    # swappable_dependency(AUTH_USER_MODEL) is ('auth', '__first__') as declared
    assert node["dependencies"] == ["alpha.0001_initial", "auth.__first__"]
    assert ["auth.0001_initial", "beta.0001_initial", False, "dependency"] in graph["edges"]


def test_run_before_edge(shop):
    _, graph = shop
    assert graph["nodes"]["beta.0001_initial"]["run_before"] == ["alpha.0002_a"]
    assert ["beta.0001_initial", "alpha.0002_a", False, "run_before"] in graph["edges"]


def test_edges_of_the_local_apps(shop):
    _, graph = shop
    local = [edge for edge in graph["edges"] if not edge[1].startswith(("auth.", "content"))]
    assert local == [
        ["alpha.0001_initial", "alpha.0002_a", True, "dependency"],
        ["alpha.0001_initial", "alpha.0002_b", True, "dependency"],
        ["alpha.0001_initial", "beta.0001_initial", False, "dependency"],
        ["alpha.0002_a", "alpha.0003_merge", True, "dependency"],
        ["alpha.0002_b", "alpha.0003_merge", True, "dependency"],
        ["auth.0001_initial", "beta.0001_initial", False, "dependency"],
        ["beta.0001_initial", "alpha.0002_a", False, "run_before"],
        ["gamma.0001_squashed_0002", "gamma.0003_third", True, "dependency"],
    ]


def test_operations(shop):
    _, graph = shop
    assert graph["nodes"]["alpha.0001_initial"]["operations"] == ["CreateModel: Create model Thing"]
    assert graph["nodes"]["alpha.0002_a"]["operations"] == ["AddField: Add field size to thing"]
    assert graph["nodes"]["alpha.0002_b"]["operations"] == []


def test_graph_apps(shop):
    project, graph = shop
    apps = graph["apps"]
    assert sorted(apps) == ["alpha", "auth", "beta", "contenttypes", "delta", "gamma"]
    assert apps["alpha"] == {
        "label": "alpha",
        "name": "alpha",
        "path": str(project.root / "alpha"),
        "local": True,
        "migrated": True,
    }
    assert apps["delta"]["migrated"] is False
    assert apps["delta"]["local"] is True
    assert apps["auth"]["local"] is False
    assert apps["auth"]["migrated"] is True


def test_unapplied_replacement_off_keeps_replaced_nodes(tmp_path):
    """replace_migrations=False: the squash and the migrations it replaces all stay."""
    project = DjangoProject(tmp_path / "proj")
    project.chain("gamma", ["0001_initial", "0002_second"])
    project.add_migration(
        "gamma",
        "0001_squashed_0002",
        replaces=[("gamma", "0001_initial"), ("gamma", "0002_second")],
    )
    code = DUMP.replace(
        "load_graph(root=Path.cwd())", "load_graph(root=Path.cwd(), replace_migrations=False)"
    )
    result = project.django(code)
    assert result.code == 0, result.err
    graph = __import__("json").loads(result.out)
    assert sorted(graph["nodes"]) == [
        "gamma.0001_initial",
        "gamma.0001_squashed_0002",
        "gamma.0002_second",
    ]
    assert graph["replaced"] == {"gamma.0001_squashed_0002": []}
