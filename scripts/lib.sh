# Shared settings for OakAuth's scripts. Source it; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Pinned build tools. WASM_BINDGEN_VERSION must equal the wasm-bindgen crate in Cargo.lock.
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.129
TOOLS_DIR="${OAKAUTH_TOOLS_DIR:-$HOME/.cache/oakauth/tools}"
export PATH="$TOOLS_DIR/bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
export WASM_BINDGEN_BIN="$TOOLS_DIR/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
WRANGLER="$ROOT/node_modules/.bin/wrangler"

log() { printf '\033[1;32m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# A new receipt signing key as a RECEIPT_KEYS entry, `kid:seed` (32 random bytes, base64url):
# docs/receipts.md, "Keys". Usage: receipt_key_entry KID
receipt_key_entry() {
  node -e 'console.log(process.argv[1] + ":" + require("crypto").randomBytes(32).toString("base64url"))' "$1"
}
