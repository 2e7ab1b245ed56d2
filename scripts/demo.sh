#!/usr/bin/env bash
# The main job on a scratch copy of sample_apps/: check, explain, merge, graph.
# Called by `make demo` with VENV and SCRATCH set.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/${VENV:?}"
scratch="$root/${SCRATCH:?}"
migrator="$venv/bin/migrator"

rm -rf "$scratch"
mkdir -p "$(dirname "$scratch")"
cp -r "$root/sample_apps" "$scratch"
cd "$scratch"
export PYTHONDONTWRITEBYTECODE=1

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; echo "(exit $?)"; }

echo "sample_apps copied to $scratch"
# 1. What the merge left behind, why, and a picture of it.
step "$migrator" check
step "$migrator" explain
step "$migrator" graph -o "$scratch/migrations-before.png"
# 2. Merge what is safe; inventory's branches change the same field, so merge refuses it...
step "$migrator" merge
# ...and the field's final definition (models.py) is the one 0003_alter_stockitem_quantity
# writes, so that migration goes last: a linear history instead of a merge.
step "$migrator" rebase inventory --keep 0003_stockitem_quantity_default
step "$migrator" check
step "$venv/bin/python" manage.py makemigrations --check --dry-run
step "$migrator" graph -o "$scratch/migrations-after.svg"
# 3. The database: part of the migrations applied, then what `show` and `migrate` see there.
step "$venv/bin/python" "$root/scripts/demo-migrate-partly.py"
step "$migrator" show
step "$migrator" show --plan payments shipping
step "$migrator" check --database default
echo
echo "Pictures: $scratch/migrations-before.png and $scratch/migrations-after.svg"
