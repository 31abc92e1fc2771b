#!/usr/bin/env bash
# Builds the worker to build/ (wrangler.toml's build command). With OAKAUTH_SKIP_BUILD=1 the build
# is skipped when build/index.js is newer than every source it is built from, so test runs that
# start several local servers build once, and a stale build is never served.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
fresh() {
  [[ -f build/index.js ]] &&
    [[ -z "$(find src core/src core/Cargo.toml Cargo.toml Cargo.lock wrangler.toml -newer build/index.js -print -quit)" ]]
}
if [[ "${OAKAUTH_SKIP_BUILD:-}" == 1 ]] && fresh; then
  exit 0
fi
worker-build --release
