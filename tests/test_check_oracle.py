"""Django is the oracle: ``migrator check`` judges conflicts exactly as Django does.

Each scenario recreates, as a real project, a shape Django's own test suite loads in
``tests/migrations`` (conflicts, squashes, run_before, ``__first__``, private modules,
namespace packages, ``MIGRATION_MODULES``...). On the same files, ``check --format json``
must list the conflicts ``MigrationLoader.detect_conflicts()`` finds, report no problem
when Django loads the graph, and exit 0 or 1 accordingly. Where Django refuses to load
(a missing node, an unknown app, a cycle), migrator must report the same thing as a
problem and go on.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import networkx as nx
import pytest

from migrator.analysis.leaves import conflicts
from tests.djproject import DjangoProject, sample_project

SEEDS = range(12)

VERDICT = """
from django.db.migrations.loader import MigrationLoader
try:
    loader = MigrationLoader(None, ignore_no_migrations=True)
except Exception as exc:
    node = getattr(exc, "node", None)
    print(json.dumps({"error": type(exc).__name__, "message": str(exc),
                      "node": list(node) if node else None}))
else:
    print(json.dumps({"conflicts": {k: sorted(v) for k, v in loader.detect_conflicts().items()},
                      "migrations": len(loader.graph.nodes)}))
"""


def django_verdict(project: DjangoProject) -> dict:
    """What Django's ``MigrationLoader`` says about the project: conflicts, or its error."""
    result = project.django(VERDICT)
    assert result.code == 0, result.err
    return __import__("json").loads(result.out)


def migrator_check(project: DjangoProject) -> tuple[int, dict]:
    before = project.snapshot()
    result = project.migrator("check", "--format", "json")
    assert project.snapshot() == before
    assert result.err == ""
    return result.code, result.json()


def assert_agrees_with_django(project: DjangoProject) -> dict[str, list[str]]:
    """``check``'s conflicts are Django's; no problems and the right exit code."""
    expected = project.django_conflicts()
    code, report = migrator_check(project)
    ours = {c["app"]: c["leaves"] for c in report["conflicts"]}
    assert ours == expected
    assert list(ours) == sorted(ours)
    assert report["problems"] == []
    assert report["ok"] is (not expected)
    assert code == (1 if expected else 0)
    return expected


# -- scenarios from Django's tests/migrations -----------------------------------------------


def conflict(p: DjangoProject) -> None:
    """test_migrations_conflict"""
    p.chain("migrations", ["0001_initial", "0002_second"])
    p.add_migration("migrations", "0002_conflicting_second", [("migrations", "0001_initial")])


def conflict_long_name(p: DjangoProject) -> None:
    """test_migrations_conflict_long_name"""
    p.chain("migrations", ["0001_initial", "0002_second"])
    p.add_migration(
        "migrations",
        "0002_conflicting_second_migration_with_long_name",
        [("migrations", "0001_initial")],
    )


def no_ancestor(p: DjangoProject) -> None:
    """test_migrations_no_ancestor: the conflicting migration has no dependencies."""
    p.chain("migrations", ["0001_initial", "0002_second"])
    p.add_migration("migrations", "0002_conflicting_second", [])


def three_leaves_two_apps(p: DjangoProject) -> None:
    conflict(p)
    p.chain("other", ["0001_initial", "0002_a"])
    p.add_migration("other", "0002_b", [("other", "0001_initial")])
    p.add_migration("other", "0002_c", [("other", "0001_initial"), ("migrations", "0002_second")])


def squashed(p: DjangoProject) -> None:
    """test_migrations_squashed"""
    p.chain("migrations", ["0001_initial", "0002_second"])
    p.add_migration(
        "migrations",
        "0001_squashed_0002",
        replaces=[("migrations", "0001_initial"), ("migrations", "0002_second")],
    )


def squashed_complex(p: DjangoProject) -> None:
    """test_migrations_squashed_complex: 3_squashed_5 in the middle of 1..7"""
    p.chain("migrations", [f"{i}_auto" for i in range(1, 8)])
    p.add_migration(
        "migrations",
        "3_squashed_5",
        [("migrations", "2_auto")],
        replaces=[("migrations", f"{i}_auto") for i in (3, 4, 5)],
    )


def squashed_complex_multi_apps(p: DjangoProject) -> None:
    """test_migrations_squashed_complex_multi_apps"""
    p.add_migration("app1", "1_auto", [])
    p.add_migration("app1", "2_auto", [("app1", "1_auto")])
    p.add_migration("app1", "3_auto", [("app1", "2_auto"), ("app2", "2_auto")])
    p.add_migration("app1", "4_auto", [("app1", "3_auto")])
    p.add_migration(
        "app1",
        "2_squashed_3",
        [("app1", "1_auto"), ("app2", "1_squashed_2")],
        replaces=[("app1", "2_auto"), ("app1", "3_auto")],
    )
    p.add_migration("app2", "1_auto", [("app1", "1_auto")])
    p.add_migration("app2", "2_auto", [("app2", "1_auto")])
    p.add_migration(
        "app2",
        "1_squashed_2",
        [("app1", "1_auto")],
        replaces=[("app2", "1_auto"), ("app2", "2_auto")],
    )


def squashed_erroneous(p: DjangoProject) -> None:
    """test_migrations_squashed_erroneous: the replaced 3..5 files are gone; without a
    database the squash stands in for them."""
    p.chain("migrations", ["1_auto", "2_auto"])
    p.add_migration(
        "migrations",
        "3_squashed_5",
        [("migrations", "2_auto")],
        replaces=[("migrations", f"{i}_auto") for i in (3, 4, 5)],
    )
    p.add_migration("migrations", "6_auto", [("migrations", "5_auto")])
    p.add_migration("migrations", "7_auto", [("migrations", "6_auto")])


def squashed_extra(p: DjangoProject) -> None:
    """test_migrations_squashed_extra: a migration after the squashed range"""
    squashed(p)
    p.add_migration("migrations", "0003_third", [("migrations", "0002_second")])


def squashed_extra_conflict(p: DjangoProject) -> None:
    """Two migrations after the squash both depend on a replaced migration: a conflict
    between them, through references Django repoints to the squash"""
    squashed_extra(p)
    p.add_migration("migrations", "0003_other", [("migrations", "0002_second")])


def squashed_ref_squashed(p: DjangoProject) -> None:
    """test_migrations_squashed_ref_squashed: a squash that depends on another app's squash"""
    p.add_migration("app1", "1_auto", [])
    p.add_migration("app1", "2_auto", [("app1", "1_auto")])
    p.add_migration("app1", "3_auto", [("app1", "2_auto"), ("app2", "2_auto")])
    p.add_migration("app1", "4_auto", [("app1", "2_squashed_3")])
    p.add_migration(
        "app1",
        "2_squashed_3",
        [("app1", "1_auto"), ("app2", "1_squashed_2")],
        replaces=[("app1", "2_auto"), ("app1", "3_auto")],
    )
    p.add_migration("app2", "1_auto", [("app1", "1_auto")])
    p.add_migration("app2", "2_auto", [("app2", "1_auto")])
    p.add_migration(
        "app2",
        "1_squashed_2",
        [("app1", "1_auto")],
        replaces=[("app2", "1_auto"), ("app2", "2_auto")],
    )


def squashed_with_branch_left(p: DjangoProject) -> None:
    """A squash of one branch: the other branch still conflicts with it."""
    p.chain("migrations", ["0001_initial", "0002_a", "0003_a"])
    p.add_migration("migrations", "0002_b", [("migrations", "0001_initial")])
    p.add_migration(
        "migrations",
        "0002_squashed_0003_a",
        [("migrations", "0001_initial")],
        replaces=[("migrations", "0002_a"), ("migrations", "0003_a")],
    )


def run_before(p: DjangoProject) -> None:
    """test_migrations_run_before: 0003_third runs before 0002_second, no conflict"""
    p.chain("migrations", ["0001_initial", "0002_second"])
    p.add_migration(
        "migrations",
        "0003_third",
        [("migrations", "0001_initial")],
        run_before=[("migrations", "0002_second")],
    )


def run_before_other_app(p: DjangoProject) -> None:
    """run_before into another app does not join that app's branches"""
    conflict(p)
    p.add_migration("other", "0001_initial", run_before=[("migrations", "0002_second")])


def first(p: DjangoProject) -> None:
    """test_migrations_first: ``__first__`` of another app, non-numeric names"""
    p.add_migration("migrations", "thefirst", [])
    p.add_migration(
        "migrations", "second", [("migrations", "thefirst"), ("migrations2", "0002_second")]
    )
    p.add_migration("migrations2", "0001_initial", [("migrations", "__first__")])
    p.add_migration("migrations2", "0002_second", [("migrations2", "0001_initial")])


def latest_and_first(p: DjangoProject) -> None:
    """``__latest__`` / ``__first__`` of apps with several leaves and roots; ``__first__``
    of the same app is ignored"""
    no_ancestor(p)
    p.add_migration("other", "0001_initial", [("migrations", "__latest__"), ("other", "__first__")])
    p.add_migration("other", "0002_x", [("other", "0001_initial"), ("migrations", "__first__")])


def non_numeric_names(p: DjangoProject) -> None:
    p.chain("migrations", ["initial", "add_price"])
    p.add_migration("migrations", "zz_alternative", [("migrations", "initial")])
    p.add_migration("migrations", "aa_other", [("migrations", "initial")])


def private(p: DjangoProject) -> None:
    """test_migrations_private: modules starting with _ or ~ are not migrations"""
    p.chain("migrations", ["0001_initial"])
    folder = p.root / "migrations" / "migrations"
    branch = (
        p.migration_path("migrations", "0001_initial")
        .read_text()
        .replace("dependencies = []", "dependencies = [('migrations', '0001_initial')]")
    )
    (folder / "_util.py").write_text(branch)
    (folder / "~util.py").write_text(branch)
    (folder / "_0002_hidden.py").write_text(branch)


def namespace_package(p: DjangoProject) -> None:
    """A migrations folder without __init__.py is a namespace package: Django ignores it
    (test_load_namespace_package); an empty migrations package has no migrations."""
    conflict(p)
    (p.root / "migrations" / "migrations" / "__init__.py").unlink()
    p.add_app("empty")
    p.chain("other", ["0001_initial"])


def migrations_module_not_a_package(p: DjangoProject) -> None:
    """test_migrations_bad_pyc-like: ``migrations.py`` as a plain module, ignored"""
    p.add_app("flat", migrations=False)
    (p.root / "flat" / "migrations.py").write_text("X = 1\n")
    conflict(p)


def unmigrated_apps(p: DjangoProject) -> None:
    """test_migrations_unmigdep: a dependency on an installed app without migrations"""
    p.add_app("plain", migrations=False, models="\n\nclass Thing(models.Model):\n    pass\n")
    p.add_migration("migrations", "0001_initial", [("plain", "__first__")])
    p.add_migration("migrations", "0002_second", [("migrations", "0001_initial")])


def migration_modules_override(p: DjangoProject) -> None:
    """MIGRATION_MODULES: one app's migrations elsewhere, one disabled with None. (One
    naming a module that cannot be imported is a configuration error, as migrate has it:
    test_field_hardening.py::test_migration_modules_naming_a_missing_package_is_an_error.)"""
    p.chain("alpha", ["0001_initial"])  # alpha/migrations is NOT used
    folder = p.root / "alpha" / "other_migrations"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name, deps in [
        ("0001_initial", []),
        ("0002_a", ["0001_initial"]),
        ("0002_b", ["0001_initial"]),
    ]:
        source = p.add_migration("beta", "tmp", [("alpha", d) for d in deps])
        source.rename(folder / f"{name}.py")
    conflict(p)  # the app "migrations": disabled below, its conflict does not count
    p.settings_extra = (
        "MIGRATION_MODULES = {'alpha': 'alpha.other_migrations', 'migrations': None}\n"
    )
    p.write_settings()


def swappable_default_user(p: DjangoProject) -> None:
    """swappable_dependency(AUTH_USER_MODEL) is ('auth', '__first__')"""
    p.contrib = True
    p.write_settings()
    p.add_migration("migrations", "0001_initial", [("auth", "__first__")])
    p.add_migration("migrations", "0002_b", [("migrations", "0001_initial")])
    p.add_migration("migrations", "0002_a", [("migrations", "0001_initial")])


def swappable_custom_user(p: DjangoProject) -> None:
    """AUTH_USER_MODEL in a local app, which itself has two leaves"""
    p.contrib = True
    p.settings_extra = "AUTH_USER_MODEL = 'accounts.User'\n"
    p.add_app(
        "accounts",
        models="from django.contrib.auth.models import AbstractUser\n\n\n"
        "class User(AbstractUser):\n    pass\n",
    )
    p.chain("accounts", ["0001_initial", "0002_a"])
    p.add_migration("accounts", "0002_b", [("accounts", "0001_initial")])
    path = p.add_migration("shop", "0001_initial", [])
    path.write_text(
        path.read_text()
        .replace("from django.db", "from django.conf import settings\nfrom django.db")
        .replace(
            "dependencies = []",
            "dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]",
        )
    )


def merged(p: DjangoProject) -> None:
    """A conflict resolved by a merge migration: no conflict left"""
    conflict(p)
    p.add_migration(
        "migrations",
        "0003_merge",
        [("migrations", "0002_conflicting_second"), ("migrations", "0002_second")],
    )


def cross_app_child_of_a_leaf(p: DjangoProject) -> None:
    """other.0001 depends on migrations.0002_second: not a child in the same app"""
    conflict(p)
    p.add_migration("other", "0001_initial", [("migrations", "0002_second")])


SCENARIOS: dict[str, Callable[[DjangoProject], None]] = {
    f.__name__: f
    for f in [
        conflict,
        conflict_long_name,
        no_ancestor,
        three_leaves_two_apps,
        squashed,
        squashed_complex,
        squashed_complex_multi_apps,
        squashed_erroneous,
        squashed_extra,
        squashed_extra_conflict,
        squashed_ref_squashed,
        squashed_with_branch_left,
        run_before,
        run_before_other_app,
        first,
        latest_and_first,
        non_numeric_names,
        private,
        namespace_package,
        migrations_module_not_a_package,
        unmigrated_apps,
        migration_modules_override,
        swappable_default_user,
        swappable_custom_user,
        merged,
        cross_app_child_of_a_leaf,
    ]
}

#: What Django finds in each scenario, written down so that a scenario that stops
#: exercising its shape (e.g. Django no longer sees the conflict) fails loudly.
EXPECTED = {
    "conflict": {"migrations": ["0002_conflicting_second", "0002_second"]},
    "conflict_long_name": {
        "migrations": ["0002_conflicting_second_migration_with_long_name", "0002_second"]
    },
    "no_ancestor": {"migrations": ["0002_conflicting_second", "0002_second"]},
    "three_leaves_two_apps": {
        "migrations": ["0002_conflicting_second", "0002_second"],
        "other": ["0002_a", "0002_b", "0002_c"],
    },
    "squashed": {},
    "squashed_complex": {},
    "squashed_complex_multi_apps": {},
    "squashed_erroneous": {},
    "squashed_extra": {},
    "squashed_extra_conflict": {"migrations": ["0003_other", "0003_third"]},
    "squashed_ref_squashed": {},
    "squashed_with_branch_left": {"migrations": ["0002_b", "0002_squashed_0003_a"]},
    "run_before": {},
    "run_before_other_app": {"migrations": ["0002_conflicting_second", "0002_second"]},
    "first": {},
    "latest_and_first": {"migrations": ["0002_conflicting_second", "0002_second"]},
    "non_numeric_names": {"migrations": ["aa_other", "add_price", "zz_alternative"]},
    "private": {},
    "namespace_package": {},
    "migrations_module_not_a_package": {"migrations": ["0002_conflicting_second", "0002_second"]},
    "unmigrated_apps": {},
    "migration_modules_override": {"alpha": ["0002_a", "0002_b"]},
    "swappable_default_user": {"migrations": ["0002_a", "0002_b"]},
    "swappable_custom_user": {"accounts": ["0002_a", "0002_b"]},
    "merged": {},
    "cross_app_child_of_a_leaf": {"migrations": ["0002_conflicting_second", "0002_second"]},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_agrees_with_django(name, project):
    SCENARIOS[name](project)
    assert assert_agrees_with_django(project) == EXPECTED[name]


def test_sample_apps(tmp_path):
    found = assert_agrees_with_django(sample_project(tmp_path / "shop"))
    assert sorted(found) == ["customers", "inventory", "orders"]


# -- where Django refuses to load: the same node, reported as a problem -------------------


def problems_of(project: DjangoProject) -> list[dict]:
    code, report = migrator_check(project)
    assert code == 1 and report["ok"] is False
    return report["problems"]


def test_missing_dependency_is_djangos_missing_node(project):
    project.chain("migrations", ["0001_initial"])
    project.add_migration("migrations", "0002_second", [("migrations", "0001_initail")])
    verdict = django_verdict(project)
    assert verdict["error"] == "NodeNotFoundError"
    assert verdict["node"] == ["migrations", "0001_initail"]
    (problem,) = problems_of(project)
    assert problem["kind"] == "missing-dependency"
    assert repr(tuple(verdict["node"])) in problem["message"]
    assert (problem["app"], problem["migration"]) == ("migrations", "0002_second")


def test_run_before_missing_is_djangos_missing_node(project):
    project.chain("migrations", ["0001_initial"])
    project.add_migration("other", "0001_initial", run_before=[("migrations", "0002_nope")])
    verdict = django_verdict(project)
    assert (verdict["error"], verdict["node"]) == ("NodeNotFoundError", ["migrations", "0002_nope"])
    (problem,) = problems_of(project)
    assert problem["kind"] == "missing-dependency"
    assert "('migrations', '0002_nope')" in problem["message"]
    assert (problem["app"], problem["migration"]) == ("other", "0001_initial")


def test_dependency_on_unknown_app_is_djangos_value_error(project):
    project.add_migration("migrations", "0001_initial", [("ghost", "__first__")])
    verdict = django_verdict(project)
    assert verdict["error"] == "ValueError"
    assert verdict["message"] == "Dependency on unknown app: ghost"
    (problem,) = problems_of(project)
    assert problem["kind"] == "missing-dependency"
    assert "('ghost', '__first__')" in problem["message"]


def test_cycle_is_djangos_circular_dependency(project):
    project.add_migration("migrations", "0001_initial", [("other", "0001_initial")])
    project.add_migration("other", "0001_initial", [("migrations", "0002_second")])
    project.add_migration("migrations", "0002_second", [("migrations", "0001_initial")])
    verdict = django_verdict(project)
    assert verdict["error"] == "CircularDependencyError"
    (problem,) = problems_of(project)
    assert problem["kind"] == "circular-dependency"
    # Django lists the nodes of the cycle; migrator shows the same nodes as a path.
    nodes = {"migrations.0001_initial", "migrations.0002_second", "other.0001_initial"}
    assert set(verdict["message"].split(", ")) == nodes
    prefix = "migrations form a cycle: "
    assert problem["message"].startswith(prefix)
    path = problem["message"][len(prefix) :].split(" -> ")
    assert path[0] == path[-1] and set(path) == nodes and len(path) == 4


def test_missing_dependency_does_not_hide_conflicts_elsewhere(project):
    """Django stops at the missing node; migrator still finds the other app's conflict,
    and it is the conflict Django finds once the bad dependency is fixed."""
    conflict(project)
    path = project.add_migration("other", "0001_initial", [("migrations", "0009_gone")])
    code, report = migrator_check(project)
    assert code == 1
    assert [p["kind"] for p in report["problems"]] == ["missing-dependency"]
    found = {c["app"]: c["leaves"] for c in report["conflicts"]}
    path.write_text(path.read_text().replace("0009_gone", "0001_initial"))
    assert found == project.django_conflicts()


# -- generated shapes ------------------------------------------------------------------------


def generate(project: DjangoProject, seed: int) -> nx.DiGraph:
    """Random migration histories: branches, merges, second roots, cross-app
    dependencies, ``__first__``/``__latest__``, run_before and squashes of a linear start.

    Migrations are created in one global order and only depend on earlier ones (or run
    before an earlier one that is not in their history), so Django can usually load
    them. Returns the plain dependency graph written (without ``__first__``,
    ``__latest__`` and squashes), for the coverage test.
    """
    plain = nx.DiGraph()
    rng = random.Random(seed)
    apps = [f"app{i}" for i in range(rng.randint(1, 4))]
    made: list[tuple[str, str]] = []
    parents_of: dict[tuple[str, str], set[tuple[str, str]]] = {}
    history: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for step in range(rng.randint(4, 18)):
        app = rng.choice(apps)
        own = [key for key in made if key[0] == app]
        name = f"{len(own) + 1:04d}_s{step}"
        key = (app, name)
        deps: set[tuple[str, str]] = set()
        if own and rng.random() > 0.08:  # else: a second root
            deps.add(own[-1] if rng.random() < 0.6 else rng.choice(own))
            if len(own) > 1 and rng.random() < 0.2:  # a merge
                deps.add(rng.choice(own))
        others = [k for k in made if k[0] != app]
        if others and rng.random() < 0.3:
            deps.add(rng.choice(others))
        special = []
        other_apps = sorted({k[0] for k in others})
        if other_apps and rng.random() < 0.15:
            special.append((rng.choice(other_apps), rng.choice(["__first__", "__latest__"])))
        before = []
        candidates = [k for k in made if k[0] != app and k not in _closure(deps, history)]
        if candidates and rng.random() < 0.1:
            before.append(rng.choice(candidates))
        parents_of[key] = deps
        history[key] = _closure(deps, history)
        for target in before:  # key runs before target: target's descendants get key too
            for other, seen in history.items():
                if target == other or target in seen:
                    seen.update({key} | history[key])
        project.add_migration(app, name, sorted(deps) + special, run_before=before)
        made.append(key)
        plain.add_node(key)
        plain.add_edges_from((dep, key) for dep in deps)
        plain.add_edges_from((key, target) for target in before)
    for app in apps:
        _maybe_squash(project, app, [k for k in made if k[0] == app], parents_of, rng)
    return plain


def _closure(deps, history) -> set:
    found = set(deps)
    for dep in deps:
        found |= history.get(dep, set())
    return found


def _maybe_squash(project, app, own, parents_of, rng) -> None:
    """Squash the app's first migrations when they form a plain chain."""
    if len(own) < 3 or rng.random() < 0.5:
        return
    count = rng.randint(2, len(own) - 1)
    window = own[:count]
    for previous, key in zip(window[:-1], window[1:], strict=True):
        if {p for p in parents_of[key] if p[0] == app} != {previous}:
            return
    if any(p[0] == app for p in parents_of[window[0]]):
        return
    external = sorted({p for key in window for p in parents_of[key] if p[0] != app})
    project.add_migration(
        app, f"{window[0][1][:4]}_squashed_{window[-1][1]}", external, replaces=window
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_shapes_agree_with_django(seed, project):
    generate(project, seed)
    verdict = django_verdict(project)
    if "error" in verdict:
        # e.g. a squash whose external dependency closes a cycle: migrator says so too
        problems = problems_of(project)
        assert problems, verdict
        assert {p["kind"] for p in problems} <= {"circular-dependency", "missing-dependency"}
    else:
        assert_agrees_with_django(project)


def test_generated_shapes_cover_the_interesting_cases(tmp_path):
    """The seed set is worth running: conflicting and clean projects, merges, several
    apps, cross-app edges and run_before among them (judged on the plain graph)."""
    conflicting = clean = merges = cross_app = several_apps = 0
    for seed in SEEDS:
        plain = generate(DjangoProject(tmp_path / f"p{seed}"), seed)
        if conflicts(plain):
            conflicting += 1
        else:
            clean += 1
        merges += any(
            sum(1 for parent in plain.predecessors(node) if parent[0] == node[0]) > 1
            for node in plain
        )
        cross_app += any(a[0] != b[0] for a, b in plain.edges)
        several_apps += len({app for app, _ in plain}) > 1
    assert min(conflicting, clean, merges, cross_app, several_apps) >= 2
