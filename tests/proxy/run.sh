#!/usr/bin/env bash
# The MCP proxy's end-to-end tests: builds the `oakauth` binary once, installs Python's MCP client
# into tests/proxy/.venv (pinned by requirements.txt; reinstalled only when it changes), and runs
# tests/proxy/*.test.mjs against the real worker, real MCP servers from npm, and real clients.
# OAKAUTH_BIN skips the build and tests that binary instead.
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
HERE="$ROOT/tests/proxy"

if [[ -z "${OAKAUTH_BIN:-}" ]]; then
  log "building the oakauth binary"
  # A private copy, checked: a CARGO_TARGET_DIR shared with another checkout may have put that
  # checkout's binary in target/debug/oakauth since (then this tree's is built again).
  BIN_DIR="$(mktemp -d)"
  trap 'rm -rf "$BIN_DIR"' EXIT
  for attempt in 1 2 3; do
    cargo build --quiet -p oakauth --bin oakauth
    cp "${CARGO_TARGET_DIR:-$ROOT/target}/debug/oakauth" "$BIN_DIR/oakauth"
    "$BIN_DIR/oakauth" proxy --help >/dev/null 2>&1 && break
    [[ $attempt == 3 ]] && die "target/debug/oakauth has no proxy command (another checkout's build?)"
    touch sdk-rs/src/proxy/mod.rs
  done
  export OAKAUTH_BIN="$BIN_DIR/oakauth"
fi

VENV="$HERE/.venv"
if ! cmp -s "$HERE/requirements.txt" "$VENV/installed-requirements.txt" 2>/dev/null; then
  log "installing Python's mcp client into ${VENV#$ROOT/} from PyPI"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian and Ubuntu: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/installed-requirements.txt"
fi
export OAKAUTH_PROXY_PYTHON="$VENV/bin/python"

log "proxy tests (node --test tests/proxy/)"
node --test --test-concurrency=1 "$HERE"/*.test.mjs
