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
step "$migrator" check
