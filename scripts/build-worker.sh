#!/usr/bin/env bash
# Builds the worker to build/ (wrangler.toml's build command). OAKAUTH_SKIP_BUILD=1 skips it,
# for test runs that start several local servers from one build.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
if [[ "${OAKAUTH_SKIP_BUILD:-}" == 1 && -f build/index.js ]]; then
  exit 0
fi
worker-build --release
