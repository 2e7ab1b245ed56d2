# migrator: set-up, demo, tests, lint and benchmarks.
#
#   make demo   virtualenvs + Graphviz, then the main job on a scratch copy of sample_apps/
#   make test   the same set-up, then lint (ruff), type checks (mypy) and the whole suite
#               (the layer test included) on Django 5.2/Python 3.11 and Django 6.1/Python
#               3.13 (side by side; the second one's output follows)
#   make test-wheel  build the sdist and wheel, install the wheel (not editable) into a fresh
#               virtualenv with Django 6.0/Python 3.13, run the whole suite against it
#   make realworld  --static against Django mode on 37 pinned real packages (not in `make test`)
#
# Everything the suite needs is installed from here: CI runs on a clean clone.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV_A := .venv-py311-dj52
VENV_B := .venv-py313-dj61
DJANGO_A := django>=5.2,<5.3
DJANGO_B := django>=6.1,<6.2
SCRATCH := scratch
WHEEL_VENV := $(SCRATCH)/wheel-venv
DIST := $(SCRATCH)/dist
DJANGO_WHEEL := django>=6.0,<6.1
REALWORLD_VENV := $(SCRATCH)/realworld-venv
REALWORLD_REQUIREMENTS := benchmarks/realworld/requirements.txt
PYTEST_ARGS ?=
# pytest-xdist workers per suite. `make test` runs the two suites side by side, so on a
# 2-core machine 2 each keep both cores busy while a worker waits on a subprocess.
PYTEST_WORKERS ?= 2
# pytest keeps the test modules it rewrote for assertions as bytecode; where
# PYTHONDONTWRITEBYTECODE is set it rewrites all of them in every worker on every run
# (most of collecting). The processes the tests start set it again (tests/djproject.py).
PYTEST_ENV = PYTHONDONTWRITEBYTECODE=

.PHONY: help install system-deps venvs demo test test-suites test-a test-b test-wheel lint typecheck format bench realworld clean

help:
	@echo "make demo    set up, then run migrator on a scratch copy of sample_apps/"
	@echo "make test    set up, then run the tests on both Django versions"
	@echo "make test-wheel  build the sdist and wheel, run the suite on the installed wheel (Django 6.0)"
	@echo "make lint    ruff check and format check"
	@echo "make typecheck  mypy over migrator/"
	@echo "make bench   benchmarks against generated projects (see benchmarks/README.md)"
	@echo "make realworld  compare --static with Django mode on 37 pinned real Django packages"
	@echo "                (own scratch virtualenv, a few minutes; exit 1 when any disagrees)"
	@echo "make clean   remove virtualenvs and scratch folders"

install: system-deps venvs

# Graphviz's dot renders images; Chromium checks the HTML graph page; PostgreSQL backs the
# database tests; the GitHub CLI (gh) runs the documented re-check workflow's steps.
# apt-get when we are root and one is missing; else a hint.
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v gh >/dev/null 2>&1 || missing="$$missing gh"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "note: missing$$missing. Graphviz 'dot' renders images, Chromium, PostgreSQL"; \
	    echo "      and gh are used by some tests (skipped without them). Install them, e.g.:"; \
	    echo "      apt-get install$$missing   |   brew install graphviz chromium postgresql gh"; \
	  fi; \
	fi

venvs: $(VENV_A)/.installed $(VENV_B)/.installed

$(VENV_A)/.installed: pyproject.toml
	test -x $(VENV_A)/bin/python || $$(scripts/find-python 3.11) -m venv $(VENV_A)
	$(VENV_A)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV_A)/bin/pip install -q --disable-pip-version-check -e ".[dev]" "$(DJANGO_A)"
	touch $@

$(VENV_B)/.installed: pyproject.toml
	test -x $(VENV_B)/bin/python || $$(scripts/find-python 3.13) -m venv $(VENV_B)
	$(VENV_B)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV_B)/bin/pip install -q --disable-pip-version-check -e ".[dev]" "$(DJANGO_B)"
	touch $@

demo: install
	@VENV=$(VENV_A) SCRATCH=$(SCRATCH)/demo scripts/demo.sh

# The database tests get a throwaway PostgreSQL cluster (scripts/with-pg) through
# MIGRATOR_TEST_PG, stopped and deleted after the run even when a test fails or the run
# is interrupted. Set MIGRATOR_TEST_PG yourself to use another server; when none can be
# started, those tests are skipped and say why.
#
# Their scratch files (tmp_path, the cluster, what the runs write to TMPDIR) go to the
# folder scripts/test-tmpdir picks: a RAM-backed tmpfs where there is one with room,
# which takes a quarter to a third off the suites' wall time here (less CPU in the
# filesystem, no waiting on the disk); MIGRATOR_TEST_TMPDIR overrides it, and carries
# the one choice to the cluster and both suites.
test: install lint typecheck
	@tmp=$$(scripts/test-tmpdir); echo "Scratch files of the tests: $$tmp"; \
	MIGRATOR_TEST_TMPDIR=$$tmp TMPDIR=$$tmp scripts/with-pg $(MAKE) --no-print-directory test-suites

# Both suites side by side; the second one's output follows the first's.
test-suites:
	@status=0; \
	blog=$$(mktemp -t migrator-test-b.XXXXXX); \
	$(MAKE) --no-print-directory test-b > "$$blog" 2>&1 & bpid=$$!; \
	$(MAKE) --no-print-directory test-a || status=1; \
	wait $$bpid || status=1; \
	cat "$$blog"; rm -f "$$blog"; \
	exit $$status

test-a:
	@echo "== Django 5.2 on Python 3.11 =="
	export TMPDIR=$$(scripts/test-tmpdir) && \
	$(PYTEST_ENV) $(VENV_A)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal \
	  --basetemp="$$TMPDIR/migrator-pytest-a" $(PYTEST_ARGS)

test-b:
	@echo "== Django 6.1 on Python 3.13 =="
	export TMPDIR=$$(scripts/test-tmpdir) && \
	$(PYTEST_ENV) $(VENV_B)/bin/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal \
	  --basetemp="$$TMPDIR/migrator-pytest-b" $(PYTEST_ARGS)

# The package as users get it: the wheel is built from the sdist (python -m build), so a
# file missing from either fails here. The tests run from the checkout, but import
# migrator from the wheel: pytest's own script (not `python -m`, which would put the
# checkout first on sys.path) with --import-mode=append. Its scratch files stay in
# TMPDIR (a disk here), so CI runs the whole suite on a disk filesystem too.
test-wheel: system-deps $(VENV_B)/.installed
	rm -rf $(DIST) $(WHEEL_VENV) && mkdir -p $(SCRATCH)
	$(VENV_B)/bin/python -m build --outdir $(DIST) . >/dev/null 2>$(SCRATCH)/build.log \
	  || { cat $(SCRATCH)/build.log; exit 1; }
	$$(scripts/find-python 3.13) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q --disable-pip-version-check "$$(ls $(DIST)/*.whl)[dev]" \
	  "$(DJANGO_WHEEL)"
	cd $(SCRATCH) && wheel-venv/bin/python -c "import django, migrator; \
	  assert 'site-packages' in migrator.__file__, migrator.__file__; \
	  print('== migrator', migrator.__version__, 'from the wheel, Django', django.__version__, '==')"
	@$(PYTEST_ENV) scripts/with-pg $(WHEEL_VENV)/bin/pytest -p no:cacheprovider --import-mode=append \
	  -n $(PYTEST_WORKERS) --dist worksteal --basetemp="$${TMPDIR:-/tmp}/migrator-pytest-wheel" \
	  $(PYTEST_ARGS)

# zizmor (from PyPI, a binary in its wheel) checks the GitHub Action and the documented
# workflows: syntax, schema and security audits, offline.
lint: venvs
	$(VENV_A)/bin/ruff check migrator tests benchmarks scripts
	$(VENV_A)/bin/ruff format --check migrator tests benchmarks scripts
	$(VENV_A)/bin/zizmor --offline --strict-collection --min-severity medium --quiet \
	  action.yml docs/workflows/*.yml

# Both interpreters: what one Python version's stdlib stubs accept, the other may not.
typecheck: venvs
	$(VENV_A)/bin/mypy
	$(VENV_B)/bin/mypy --python-version 3.13

format: venvs
	$(VENV_A)/bin/ruff check --fix migrator tests benchmarks scripts
	$(VENV_A)/bin/ruff format migrator tests benchmarks scripts

bench: install
	$(VENV_A)/bin/python benchmarks/run.py

# Not part of `make test`: installs a pinned corpus of popular Django packages with
# migrations into its own virtualenv, then compares what `--static` and Django mode say
# about the same installed files (benchmarks/realworld/compare.py). migrator is installed
# from this checkout (not editable) on every run, so the report is about the code here.
$(REALWORLD_VENV)/.installed: $(REALWORLD_REQUIREMENTS) pyproject.toml
	test -x $(REALWORLD_VENV)/bin/python || $$(scripts/find-python 3.11) -m venv $(REALWORLD_VENV)
	$(REALWORLD_VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(REALWORLD_VENV)/bin/pip install -q --disable-pip-version-check -r $(REALWORLD_REQUIREMENTS) .
	touch $@

realworld: $(REALWORLD_VENV)/.installed
	$(REALWORLD_VENV)/bin/pip install -q --disable-pip-version-check --no-deps .
	$(REALWORLD_VENV)/bin/python benchmarks/realworld/compare.py --workdir $(SCRATCH)/realworld

clean:
	rm -rf $(VENV_A) $(VENV_B) $(SCRATCH) .pytest_cache .ruff_cache *.egg-info
	rm -rf "$$(scripts/test-tmpdir)"/migrator-pytest-[ab] "$${TMPDIR:-/tmp}"/migrator-pytest-[abw]*
