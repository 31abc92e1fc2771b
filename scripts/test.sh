#!/usr/bin/env bash
# Runs every test: lint (fmt, clippy, TypeScript type checks), the Rust workspace (core, Rust SDK and CLI), the worker's end-to-end tests in
# local workerd, a bounded schemathesis run against docs/openapi.yaml, the MCP proxy against real MCP servers and clients (tests/proxy/run.sh),
# the Python SDK and its framework integrations (sdk-py/scripts/test.sh), the TypeScript SDK and MCP wrapper, and the dashboard in
# headless Chromium.
# Each suite starts its own local worker with fresh state. Installs what is missing first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash scripts/install.sh --browser
log "building the worker"
bash scripts/build-worker.sh

passed=0
failed=0
failures=()
suite() { # name command...
  local name="$1"; shift
  log "suite: $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

suite "lint" bash scripts/lint.sh
suite "rust workspace" cargo test --workspace --exclude oakauth-worker --all-features
# The proxy suite tests the `oakauth` binary the Rust suite just built for its own tests, instead of
# building it again with other features (tests/proxy/run.sh builds it when there is none).
if [[ -z "${OAKAUTH_BIN:-}" && -x "${CARGO_TARGET_DIR:-$ROOT/target}/debug/oakauth" ]]; then
  export OAKAUTH_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/oakauth"
fi
# A test that hangs fails after 5 minutes instead of holding the run until CI stops it.
suite "worker end-to-end" node --test --test-concurrency=1 --test-timeout=300000 tests/e2e/
suite "api fuzzing (schemathesis, bounded)" bash tests/schemathesis/run.sh 15
suite "mcp proxy (oakauth proxy, real MCP servers and clients)" bash tests/proxy/run.sh
[[ -f sdk-py/scripts/test.sh ]] && suite "python sdk" bash sdk-py/scripts/test.sh
[[ -f sdk-ts/package.json ]] && suite "typescript sdk" npm test --prefix sdk-ts
[[ -f dashboard/package.json ]] && suite "dashboard" npm test --prefix dashboard

echo
if (( failed > 0 )); then
  printf 'failed suites: %s\n' "${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
(( failed == 0 ))
