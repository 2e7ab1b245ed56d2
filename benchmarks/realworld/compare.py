"""Compare `--static` with Django mode on real, pip-installed Django packages.

Run by ``make realworld`` with the interpreter of the scratch virtualenv that holds migrator
and the pinned corpus (``benchmarks/realworld/requirements.txt``):

    python benchmarks/realworld/compare.py [--workdir scratch/realworld]

It writes a throwaway settings module that installs every app of the corpus (plus the
contrib apps and settings they need), then runs migrator's own machine outputs twice on the
same installed files, once through Django's ``MigrationLoader`` and once with ``--static``:

- ``check --format json``: conflicts (leaves of each conflicting app), problems (kind, app,
  migration, line) and the number of migrations of each app;
- ``graph --all --no-collapse --no-explain -o graph.json``: every node (with its marks,
  ``replaces`` count and data operations) and every edge (with its kind).

Every app is attributed to the pip distribution its files come from, and the report prints
one line per distribution named in the first section of requirements.txt, then a total, then
every difference (sorted): package, app, migration file, what differs.

Exit status: 0 when both modes agree on every package, 1 when any disagrees or a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
COMPARED_HEADER = "# Packages whose migrations are compared"
SETTINGS_MODULE = "realworld_settings"
DJANGO_MODE, STATIC_MODE = "django", "static"

# The apps of the corpus, in an order Django accepts. Test apps that some packages ship with
# migrations (wagtail.test.*, guardian.testapp, flags.tests.testapp, ...) are left out.
INSTALLED_APPS = [
    # Django's contrib apps the packages need (compared too, as the "Django" line)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    # django-allauth
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.idp.oidc",
    # wagtail, with django-taggit, modelsearch and django-modelcluster
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.search_promotions",
    "wagtail.contrib.simple_translation",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.locales",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "modelsearch",
    # django-oscar: oscar.INSTALLED_APPS (its own apps and the ones it needs)
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "django_tables2",
    # django-cms, django-filer (with easy-thumbnails)
    "cms",
    "menus",
    "sekizai",
    "filer",
    "easy_thumbnails",
    # one or a few apps each
    "django_celery_beat",
    "django_celery_results",
    "axes",
    "guardian",
    "reversion",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_hotp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_email",
    "two_factor",
    "two_factor.plugins.phonenumber",
    "two_factor.plugins.webauthn",
    "phonenumber_field",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",
    "knox",
    "oauth2_provider",
    "waffle",
    "constance",
    "silk",
    "social_django",
    "djstripe",
    "post_office",
    "push_notifications",
    "auditlog",
    "django_q",
    "django_comments",
    "mailer",
    "watson",
    "invitations",
    "organizations",
    "user_sessions",
    "djmoney",
    "djmoney.contrib.exchange",
    "flags",
    "robots",
]

# What the apps above refuse to start without. Literals only, so --static reads the same
# INSTALLED_APPS; only oscar's defaults come by a star import, as oscar's docs ask.
SETTINGS_TEMPLATE = """\
# Written by benchmarks/realworld/compare.py for `make realworld`; throwaway.
from oscar.defaults import *  # noqa: F403

SECRET_KEY = "realworld"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
USE_TZ = True
SITE_ID = 1
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
STATIC_ROOT = {static_root!r}
MEDIA_ROOT = {media_root!r}
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sekizai.context_processors.sekizai",
                "cms.context_processors.cms_settings",
            ],
        }},
    }}
]
WAGTAIL_SITE_NAME = "realworld"
CMS_CONFIRM_VERSION4 = True
CMS_TEMPLATES = [("base.html", "Base")]
HAYSTACK_CONNECTIONS = {{"default": {{"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}}}
Q_CLUSTER = {{"timeout": 60, "retry": 120}}
TWO_FACTOR_WEBAUTHN_RP_NAME = "realworld"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
STRIPE_LIVE_MODE = False

INSTALLED_APPS = {installed_apps}
"""


@dataclass
class Run:
    """What one mode said about the corpus."""

    mode: str
    check: dict | None = None
    graph: dict | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True, order=True)
class Difference:
    """One thing the two modes disagree on, attributed to a package, app and migration."""

    package: str
    app: str
    migration: str
    what: str


def compared_packages(requirements: Path) -> list[tuple[str, str]]:
    """(distribution, version) of the first section of requirements.txt, in file order."""
    packages, inside = [], False
    for line in requirements.read_text().splitlines():
        if line.startswith(COMPARED_HEADER):
            inside = True
        elif inside and not line.strip():
            break
        elif inside and "==" in line:
            name, version = line.split("==", 1)
            packages.append((name.strip(), version.strip()))
    return packages


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write_settings(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    apps = "[\n" + "".join(f"    {app!r},\n" for app in INSTALLED_APPS) + "]"
    text = SETTINGS_TEMPLATE.format(
        static_root=str(folder / "static"),
        media_root=str(folder / "media"),
        installed_apps=apps,
    )
    (folder / f"{SETTINGS_MODULE}.py").write_text(text)


def migrator(args: list[str], folder: Path, log: Path) -> subprocess.CompletedProcess:
    """Run this interpreter's migrator in `folder`, never reading the parse cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["MIGRATOR_CACHE_DIR"] = "off"
    env["PYTHONWARNINGS"] = "ignore"
    command = [sys.executable, "-m", "migrator", *args, "--settings", SETTINGS_MODULE]
    command += ["--pythonpath", str(folder)]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    log.write_text(f"$ {' '.join(command)}\nexit {done.returncode}\n{done.stderr}")
    return done


def run_mode(mode: str, folder: Path) -> Run:
    run = Run(mode)
    extra = ["--static"] if mode == STATIC_MODE else []
    started = time.perf_counter()
    check = migrator(["check", "--format", "json", *extra], folder, folder / f"check-{mode}.log")
    (folder / f"check-{mode}.json").write_text(check.stdout)
    if check.returncode in (0, 1):
        run.check = parse_json(check.stdout)
    if run.check is None:
        run.errors.append(f"check exit {check.returncode}: {last_line(check.stderr)}")
    graph_file = folder / f"graph-{mode}.json"
    graph_file.unlink(missing_ok=True)
    graph_args = ["graph", "--all", "--no-collapse", "--no-explain", "-o", str(graph_file)]
    graph = migrator([*graph_args, *extra], folder, folder / f"graph-{mode}.log")
    if graph.returncode == 0 and graph_file.exists():
        run.graph = parse_json(graph_file.read_text())
    if run.graph is None:
        run.errors.append(f"graph exit {graph.returncode}: {last_line(graph.stderr)}")
    run.seconds = time.perf_counter() - started
    return run


def parse_json(text: str) -> dict | None:
    """A JSON object, or None when a crashed run left none (its stderr says why)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


class Attribution:
    """Which pip distribution an installed file, and so an app, belongs to."""

    def __init__(self) -> None:
        self.site_roots = sorted(
            {Path(p).resolve() for p in sys.path if p.endswith("-packages") and Path(p).is_dir()},
            key=lambda p: -len(str(p)),
        )
        self.by_top_level = {
            top: sorted(dists)[0] for top, dists in metadata.packages_distributions().items()
        }
        self.app_package: dict[str, str] = {}

    def learn_installed(self, folder: Path) -> None:
        """Each installed app's distribution, from Django's app registry (apps without nodes too).

        Django mode already ran these settings, so booting them here runs nothing new."""
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
        sys.path.insert(0, str(folder))
        try:
            import django
            from django.apps import apps

            django.setup()
        except Exception as error:  # the Django run has reported it already
            print(f"note: could not list the installed apps: {error!r}", file=sys.stderr)
            return
        for config in apps.get_app_configs():
            package = self.package_of_path(str(Path(config.path) / "__init__.py"))
            if package:
                self.app_package[config.label] = package

    def relative(self, path: str | None) -> str:
        """The file's path inside site-packages (how the report names files)."""
        if not path:
            return ""
        resolved = Path(path).resolve()
        for root in self.site_roots:
            if resolved.is_relative_to(root):
                return resolved.relative_to(root).as_posix()
        return path

    def package_of_path(self, path: str | None) -> str | None:
        if not path:
            return None
        top = self.relative(path).split("/", 1)[0]
        return self.by_top_level.get(top)

    def learn(self, run: Run) -> None:
        for node in (run.graph or {}).get("nodes", []):
            package = self.package_of_path(node.get("path"))
            if package:
                self.app_package.setdefault(node["app_label"], package)
        for item in (run.check or {}).get("problems", []):
            package = self.package_of_path(item.get("path"))
            if package and item.get("app"):
                self.app_package.setdefault(item["app"], package)

    def package_of_app(self, app: str) -> str:
        return self.app_package.get(app, "(unattributed)")


def graph_nodes(run: Run, names: Attribution) -> dict[tuple[str, str], dict]:
    nodes = {}
    for node in (run.graph or {}).get("nodes", []):
        nodes[(node["app_label"], node["name"])] = {
            "marks": sorted(node.get("marks", [])),
            "replaces": node.get("replaces"),
            "data_operations": sorted(node.get("data_operations", [])),
            "file": names.relative(node.get("path")),
        }
    return nodes


def graph_edges(run: Run) -> dict[tuple[str, str], str]:
    """{(parent id, child id): kind}; ids are 'app.name'."""
    return {(e["source"], e["target"]): e["kind"] for e in (run.graph or {}).get("edges", [])}


def leaves(run: Run) -> dict[str, list[str]]:
    """Each app's leaves in the drawn graph: migrations no migration of the same app follows."""
    nodes = {n["id"]: (n["app_label"], n["name"]) for n in (run.graph or {}).get("nodes", [])}
    followed = {e["source"] for e in (run.graph or {}).get("edges", []) if e["same_app"]}
    result: dict[str, list[str]] = defaultdict(list)
    for node_id, (app, name) in nodes.items():
        if node_id not in followed:
            result[app].append(name)
    return {app: sorted(names) for app, names in result.items()}


def split_id(node_id: str) -> tuple[str, str]:
    app, _, name = node_id.partition(".")
    return app, name


def compare(django: Run, static: Run, names: Attribution) -> list[Difference]:
    """Every difference between the two runs, each attributed to package, app, migration.

    An app that only one mode sees is one difference, not one per migration and edge; marks
    and leaves that only restate a conflict difference are not repeated. What a failed run
    (no JSON) cannot say is not compared: its error already fails the report."""
    found: list[Difference] = []

    def add(app: str, migration: str, what: str) -> None:
        found.append(Difference(names.package_of_app(app), app, migration, what))

    # Apps and their number of migrations (check's count, after squash replacement).
    counts_d = (django.check or {}).get("migrations", {})
    counts_s = (static.check or {}).get("migrations", {})
    one_sided: set[str] = set()
    if django.check is not None and static.check is not None:
        for app in sorted(set(counts_d) | set(counts_s)):
            d, s = counts_d.get(app), counts_s.get(app)
            if d is None or s is None:
                one_sided.add(app)
                mode, count = (DJANGO_MODE, d) if s is None else (STATIC_MODE, s)
                add(app, "", f"app only in {mode} mode ({count} migrations)")
            elif d != s:
                add(app, "", f"migrations: django {d}, static {s}")

    # Conflicts, as check reports them.
    conflicts_d = {c["app"]: c["leaves"] for c in (django.check or {}).get("conflicts", [])}
    conflicts_s = {c["app"]: c["leaves"] for c in (static.check or {}).get("conflicts", [])}
    conflicting = set()
    for app in sorted(set(conflicts_d) | set(conflicts_s)):
        if conflicts_d.get(app) != conflicts_s.get(app) and app not in one_sided:
            conflicting.add(app)
            d, s = conflicts_d.get(app, "none"), conflicts_s.get(app, "none")
            add(app, "", f"conflict: django {d}, static {s}")

    if django.graph is None or static.graph is None:
        return found + compare_problems(django, static, names)

    # Nodes and their attributes ("conflict" marks restate the conflicts above).
    nodes_d, nodes_s = graph_nodes(django, names), graph_nodes(static, names)
    for key in sorted(set(nodes_d) | set(nodes_s)):
        app, name = key
        if app in one_sided:
            continue
        d, s = nodes_d.get(key), nodes_s.get(key)
        label = f"{name} ({(d or s)['file']})"
        if d is None or s is None:
            add(app, label, f"node only in {DJANGO_MODE if s is None else STATIC_MODE} mode")
            continue
        for attribute in ("marks", "replaces", "data_operations"):
            value_d, value_s = d[attribute], s[attribute]
            if attribute == "marks":
                value_d = [m for m in value_d if m != "conflict"]
                value_s = [m for m in value_s if m != "conflict"]
            if value_d != value_s:
                add(app, label, f"{attribute}: django {value_d}, static {value_s}")

    # Edges, attributed to the child (the migration whose file declares the dependency).
    edges_d, edges_s = graph_edges(django), graph_edges(static)
    for parent, child in sorted(set(edges_d) | set(edges_s)):
        app, name = split_id(child)
        if app in one_sided:
            continue
        file = (nodes_d.get((app, name)) or nodes_s.get((app, name)) or {}).get("file", "")
        label = f"{name} ({file})" if file else name
        kind_d, kind_s = edges_d.get((parent, child)), edges_s.get((parent, child))
        if kind_d is None or kind_s is None:
            mode = DJANGO_MODE if kind_s is None else STATIC_MODE
            add(app, label, f"edge {parent} -> {child} only in {mode} mode")
        elif kind_d != kind_s:
            add(app, label, f"edge {parent} -> {child}: kind django {kind_d}, static {kind_s}")

    # Leaves of every app (a conflict difference above already names them).
    leaves_d, leaves_s = leaves(django), leaves(static)
    for app in sorted(set(leaves_d) | set(leaves_s)):
        if app in one_sided or app in conflicting:
            continue
        if leaves_d.get(app) != leaves_s.get(app):
            add(app, "", f"leaves: django {leaves_d.get(app)}, static {leaves_s.get(app)}")
    return found + compare_problems(django, static, names)


def compare_problems(django: Run, static: Run, names: Attribution) -> list[Difference]:
    """Problems only one mode reports."""
    found: list[Difference] = []
    if django.check is None or static.check is None:
        return found

    # Problems, keyed by kind, app, migration and line (messages may be worded differently).
    def problems(run: Run) -> dict[tuple, dict]:
        return {
            (p.get("kind"), p.get("app") or "", p.get("migration") or "", p.get("line")): p
            for p in (run.check or {}).get("problems", [])
        }

    problems_d, problems_s = problems(django), problems(static)
    for key in sorted(set(problems_d) | set(problems_s), key=repr):
        if key in problems_d and key in problems_s:
            continue
        kind, app, migration, line = key
        problem = problems_d.get(key) or problems_s.get(key)
        mode = DJANGO_MODE if key in problems_d else STATIC_MODE
        file = names.relative(problem.get("path"))
        where = f"{migration} ({file}:{line})" if file else migration
        what = f"problem only in {mode} mode: {kind}: {problem.get('message', '')}"
        found.append(Difference(names.package_of_app(app), app, where, what))
    return found


def summary(differences: list[Difference]) -> str:
    """A short reason for a package's line: what kinds of differences it has."""
    counts: dict[str, int] = defaultdict(int)
    for difference in differences:
        what = difference.what
        if what.startswith("problem only in"):
            kind = what.split(": ", 2)[1]
            counts[f"{kind} only in {what.split()[3]}"] += 1
        elif what.startswith("conflict:"):
            counts["conflict differs"] += 1
        elif what.startswith("node only"):
            counts[f"nodes only in {what.split()[3]}"] += 1
        elif what.startswith("app only"):
            counts[f"app {difference.app} only in {what.split()[3]}"] += 1
        elif what.startswith("edge"):
            counts["edges differ"] += 1
        else:
            counts[what.split(":", 1)[0] + " differ"] += 1
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


def report(
    packages: list[tuple[str, str]],
    django: Run,
    static: Run,
    differences: list[Difference],
    names: Attribution,
) -> int:
    apps_of: dict[str, set[str]] = defaultdict(set)  # apps with a migrations package
    for run in (django, static):
        for app in (run.check or {}).get("migrations", {}):
            apps_of[canonical(names.package_of_app(app))].add(app)
    counts = (django.check or {}).get("migrations", {})
    by_package: dict[str, list[Difference]] = defaultdict(list)
    for difference in differences:
        by_package[canonical(difference.package)].append(difference)

    rows = [(name, version) for name, version in packages]
    known = {canonical(name) for name, _ in packages}
    rows += [(name, "") for name in sorted(apps_of) if name not in known]
    width = max(len(f"{n} {v}") for n, v in rows)
    agreeing = 0
    total_apps = total_migrations = 0
    print(f"{'package':<{width}}  {'apps':>4}  {'migr':>4}  verdict")
    for name, version in rows:
        apps = sorted(apps_of.get(canonical(name), ()))
        migrations = sum(counts.get(app, 0) for app in apps)
        total_apps += len(apps)
        total_migrations += migrations
        own = by_package.get(canonical(name), [])
        if not apps:
            verdict = "disagree: no app with migrations found (settings or attribution)"
        elif own:
            verdict = f"disagree: {summary(own)}"
        else:
            verdict = "agree"
            agreeing += 1
        title = f"{name} {version}".strip()
        print(f"{title:<{width}}  {len(apps):>4}  {migrations:>4}  {verdict}  [{', '.join(apps)}]")
    print(
        f"Total: {len(rows)} packages, {total_apps} apps, {total_migrations} migrations: "
        f"{agreeing} agree, {len(rows) - agreeing} disagree ({len(differences)} differences); "
        f"django mode {django.seconds:.1f} s, static mode {static.seconds:.1f} s"
    )
    for run in (django, static):
        for error in run.errors:
            print(f"error: {run.mode} mode: {error}")
    if differences:
        print()
        print("Differences (package | app | migration (file:line) | what):")
        for d in sorted(differences):
            print(f"{d.package} | {d.app} | {d.migration or '-'} | {d.what}")
    failed = django.errors or static.errors
    return 0 if agreeing == len(rows) and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("scratch/realworld"))
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    options = parser.parse_args(argv)
    folder = options.workdir.resolve()
    write_settings(folder)
    packages = compared_packages(options.requirements)
    django = run_mode(DJANGO_MODE, folder)
    static = run_mode(STATIC_MODE, folder)
    names = Attribution()
    names.learn_installed(folder)
    names.learn(django)
    names.learn(static)
    differences = compare(django, static, names)
    return report(packages, django, static, differences, names)


if __name__ == "__main__":
    sys.exit(main())
