#!/usr/bin/env bash
# A longer API fuzzing run than the one in scripts/test.sh: schemathesis with 200 examples per
# operation (or the number given) against the real local worker. See tests/schemathesis/run.sh.
export SCHEMATHESIS_SEED="${SCHEMATHESIS_SEED:-$RANDOM$RANDOM}"
echo "schemathesis seed: $SCHEMATHESIS_SEED" >&2
exec bash "$(dirname "$0")/../tests/schemathesis/run.sh" "${1:-200}"
