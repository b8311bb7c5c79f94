#!/usr/bin/env bash
# Builds the Python pretix connector (plugins/pretix-py) into a WIT 0.3 component:
# target/plugins/pretix-py.wasm. componentize-py comes from PyPI, pinned, into a venv under
# target/ (reused when present). Runs the connector's native tests first.
#   plugins/pretix-py/build.sh            # venv + tests + component
#   COMPONENTIZE_PY_VENV=dir build.sh      # another venv location
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${COMPONENTIZE_PY_VENV:-target/componentize-py-venv}"
out=target/plugins/pretix-py.wasm
pin="componentize-py==0.25.1"

if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -q "0.25.1"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$pin"
fi

python3 -m unittest discover -s plugins/pretix-py -p 'test_*.py'

mkdir -p target/plugins
# -p: where app.py and pretix_core.py live; the generated bindings (wit_world) are made on the fly.
"$venv/bin/componentize-py" -d wit/since_v0.3.0 -w plugin componentize -p plugins/pretix-py app -o "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out ($(stat -c %s "$out") bytes)"
