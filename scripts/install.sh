#!/usr/bin/env bash
# Installs everything the build and the tests need, from the package registries only.
# Safe to re-run: each step is skipped when its pinned version is already there.
# Usage: scripts/install.sh [--browser]   (--browser also installs Debian's chromium for the dashboard tests)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi

install_crate() { # name version binary
  local have
  have="$("$TOOLS_DIR/bin/$3" --version 2>/dev/null || true)"
  if [[ "$have" != *"$2"* ]]; then
    log "installing $1 $2 into $TOOLS_DIR (first time only; takes a few minutes)"
    cargo install --locked --quiet --root "$TOOLS_DIR" "$1" --version "$2"
  fi
}
install_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
install_crate worker-build "$WORKER_BUILD_VERSION" worker-build

npm_ci() { # dir
  local dir="$1"
  [[ -f "$dir/package.json" ]] || return 0
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    log "installing npm packages in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci "$ROOT"
npm_ci "$ROOT/sdk-ts"
npm_ci "$ROOT/dashboard"

if [[ "${1:-}" == "--browser" ]]; then
  bash "$ROOT/dashboard/scripts/install-browser.sh"
fi
