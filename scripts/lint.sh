#!/usr/bin/env bash
# The lint suite (first in scripts/test.sh): formatting, clippy with warnings as errors (natively
# for the core, SDK and CLI, and for the worker on wasm32-unknown-unknown), and TypeScript type
# checks of the SDK and the dashboard, and ruff and mypy --strict for the Python SDK (in its own
# pinned virtual environment, sdk-py/.venv). Needs what scripts/install.sh installs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

log "cargo fmt --check"
cargo fmt --all --check
log "clippy (core, Rust SDK and CLI)"
cargo clippy --workspace --exclude oakauth-worker --all-targets --all-features --quiet -- -D warnings
log "clippy (the worker, wasm32-unknown-unknown)"
cargo clippy -p oakauth-worker --target wasm32-unknown-unknown --quiet -- -D warnings
log "TypeScript type check (sdk-ts)"
(cd sdk-ts && npx --no-install tsc --noEmit -p .)
log "TypeScript type check (dashboard)"
(cd dashboard && npx --no-install tsc --noEmit -p .)
if [[ -f sdk-py/scripts/test.sh ]]; then
  log "Python SDK: ruff and mypy --strict"
  bash sdk-py/scripts/test.sh --lint
fi
