#!/usr/bin/env bash
# Runs every test suite: Rust (unit, integration, doc), Microsoft's own Python and Node libraries
# against the emulator, and the Python and Node packages' tests.
# Usage: ./test.sh        (from a fresh clone; it installs what it needs into target/)
set -euo pipefail
cd "$(dirname "$0")"

# One shared target directory for every crate and binding (CI has 2 cores; build once).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

for tool in cargo python3 node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "test.sh: $tool is required (Rust from https://rustup.rs, Python 3.10+, Node 20+)" >&2
    exit 1
  fi
done

echo "== Rust: build, unit, integration and doc tests =="
cargo test --workspace --locked --exclude entra-token-bench
# The Python and Node suites drive the binary exactly as a user runs it.
export ENTRA_TOKEN_BIN="$CARGO_TARGET_DIR/debug/entra-token"

echo "== Python: msal and azure-identity against the emulator =="
venv="$CARGO_TARGET_DIR/venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/interop/python/requirements.txt
"$venv/bin/python" -m pytest -q tests/interop/python

echo "== Python package: build (maturin, dev profile), install, tests =="
# The dev profile reuses the Rust build above; `pip install ./bindings-python` alone builds release.
MATURIN_PEP517_ARGS="--profile dev" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./bindings-python
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bindings-python/tests/requirements.txt
"$venv/bin/python" -m pytest -q bindings-python/tests

echo "== Node package: build (napi, debug), tests =="
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npx napi build --platform --js native.js --dts native.d.ts && npm test --silent)

echo "== Node: @azure/msal-node and @azure/identity against the emulator =="
(cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error && npm test --silent)
