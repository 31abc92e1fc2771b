#!/usr/bin/env bash
# Long fuzzing runs of the parsers with cargo-fuzz (libFuzzer, nightly Rust): request parsing and
# bounds, key parsing and checksums, redaction (a key placed anywhere in the input is never in
# the output), reasoning classification, RFC 3339 parsing, rule conditions (parse, compile against
# an input_schema, evaluate: no panic, and the policy engine's invariants hold). Writes fuzz/RESULTS.md.
# Usage: scripts/fuzz.sh [seconds per target, default 600] [target ...]
source "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
SECONDS_PER_TARGET="${1:-600}"
shift || true
TARGETS=("$@")
(( ${#TARGETS[@]} )) || TARGETS=(validate_request keys redact reasoning rfc3339 conditions)

rustup toolchain list | grep -q '^nightly' || die "cargo fuzz needs the nightly toolchain (rustup toolchain install nightly)"
if ! "$TOOLS_DIR/bin/cargo-fuzz" --version >/dev/null 2>&1; then
  log "installing cargo-fuzz into $TOOLS_DIR"
  cargo install --locked --quiet --root "$TOOLS_DIR" cargo-fuzz
fi

results="$ROOT/fuzz/RESULTS.md"
{
  echo "# Fuzzing results"
  echo
  echo "Written by \`scripts/fuzz.sh $SECONDS_PER_TARGET\` on $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(rustc +nightly --version)."
  echo
  echo "| target | seconds | runs | exec/s | coverage | result |"
  echo "| --- | ---: | ---: | ---: | ---: | --- |"
} > "$results.tmp"
failed=0
for t in "${TARGETS[@]}"; do
  log "fuzzing $t for $SECONDS_PER_TARGET s"
  out="$(mktemp)"
  if cargo +nightly fuzz run "$t" -- -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 >"$out" 2>&1; then
    verdict="no crash"
  else
    verdict="**crash**: see fuzz/artifacts/$t"
    failed=1
    grep -E -A6 'panicked|ERROR: libFuzzer' "$out" | head -20 >&2 || true
  fi
  done_line="$(grep -E 'DONE' "$out" | tail -1 || true)"
  runs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$done_line")"
  execs="$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$done_line")"
  cov="$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$done_line")"
  echo "| $t | $SECONDS_PER_TARGET | ${runs:-?} | ${execs:-?} | ${cov:-?} | $verdict |" >> "$results.tmp"
  rm -f "$out"
done
mv "$results.tmp" "$results"
log "wrote $results"
exit "$failed"
