#!/usr/bin/env bash
# The benchmark command: regenerates docs/benchmarks.md. Not part of scripts/test.sh.
#
# Installs what it needs when missing (Debian's wrk and sqlite3, Cerbos from npm, the crates of the
# bench/ workspace), builds the worker and the primitives worker (bench/primitives: the platform's
# own limits, built with the same toolchain), runs the in-process decision benchmarks (criterion,
# OakAuth against cedar-policy, without and with conditions), then bench/run.mjs: the worker and the
# primitives in local workerd, and Cerbos with and without its audit log, all on 127.0.0.1, loaded
# by wrk over loopback, every run bounded in time and request count, and the rows written per
# decision for the cost table.
#
# Environment: BENCH_ROUNDS (default 3) and BENCH_SECONDS per run (default 3) trade time for noise;
# a full run takes about 15 minutes on 2 cores, plus a few for the first build of cedar-policy.
# bench/Cargo.lock pins the benchmark's own dependencies; it is not --locked, so a new dependency
# of oakauth-core does not break the benchmark.
#
# A quick check of the HTTP part while developing (under a few minutes; writes
# bench/target/http/benchmarks-partial.md, not docs/benchmarks.md), after this script has built
# and installed everything once:
#   BENCH_ONLY=validate BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_CASES='floor,allowed,prim_*,cerbos*' \
#     CERBOS_BIN=... OAKAUTH_SKIP_BUILD=1 node bench/run.mjs
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CERBOS_VERSION=0.55.0
BENCH_TOOLS="$TOOLS_DIR/bench"

bash scripts/install.sh

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v ss >/dev/null || missing+=(iproute2)
if (( ${#missing[@]} )); then
  log "installing ${missing[*]} from Debian"
  if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

CERBOS_BIN="$BENCH_TOOLS/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"
if [[ "$("$CERBOS_BIN" --version 2>/dev/null | head -1)" != "$CERBOS_VERSION" ]]; then
  log "installing Cerbos $CERBOS_VERSION from npm into $BENCH_TOOLS"
  mkdir -p "$BENCH_TOOLS"
  npm install --prefix "$BENCH_TOOLS" --no-save --no-audit --no-fund --loglevel=error "@cerbos/cerbos-linux-x64@$CERBOS_VERSION"
fi
export CERBOS_BIN

log "building the worker"
bash scripts/build-worker.sh
log "building the primitives worker (bench/primitives)"
(cd bench/primitives && worker-build --release)

log "in-process decision benchmark: OakAuth against cedar-policy (criterion)"
cargo test --quiet --release --manifest-path bench/Cargo.toml --lib
cargo bench --manifest-path bench/Cargo.toml --bench decision
log "in-process decisions with conditions: OakAuth with and without, against cedar-policy (criterion)"
cargo bench --manifest-path bench/Cargo.toml --bench conditions

log "HTTP benchmarks: the worker in local workerd, Cerbos, wrk"
export OAKAUTH_SKIP_BUILD=1
node bench/run.mjs

log "the MCP proxy's added latency (oakauth proxy, release build)"
cargo build --quiet --release -p oakauth --bin oakauth
OAKAUTH_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/oakauth" node bench/proxy/run.mjs
log "wrote docs/benchmarks.md"
