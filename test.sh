#!/usr/bin/env bash
# Runs every test suite: Rust now; Python and Node join as their packages land.
# Usage: ./test.sh        (from a fresh clone; it installs what it needs)
set -euo pipefail
cd "$(dirname "$0")"

# One shared target directory for every crate and binding (CI has 2 cores; build once).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo is required (https://rustup.rs)" >&2
  exit 1
fi

echo "== Rust: build, unit, integration and doc tests =="
cargo test --workspace --locked --exclude entra-token-bench
