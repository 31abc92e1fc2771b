#!/usr/bin/env bash
# API fuzzing: schemathesis against docs/openapi.yaml and the real worker in local workerd, with
# all checks (no 5xx, status codes and bodies as documented, negative cases rejected, auth
# enforced) and every phase, stateful included. Bounded by the number of examples per operation.
# Usage: tests/schemathesis/run.sh [examples per operation, default 15]
# The seed is fixed (SCHEMATHESIS_SEED, default 20261122) so a run can be repeated exactly;
# scripts/schemathesis.sh picks a new one each time.
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
EXAMPLES="${1:-15}"
HERE="$ROOT/tests/schemathesis"

# schemathesis lives in its own virtual environment, tests/schemathesis/.venv (gitignored), with
# the pinned versions of requirements.txt; it is (re)installed only when requirements.txt changes.
VENV="$HERE/.venv"
if ! cmp -s "$HERE/requirements.txt" "$VENV/installed-requirements.txt" 2>/dev/null; then
  log "installing schemathesis into ${VENV#$ROOT/} from PyPI"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian and Ubuntu: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/installed-requirements.txt"
fi

# Everything this run writes (the server's details, schemathesis's and Hypothesis's own state) goes
# to a temporary directory, deleted on exit; schemathesis runs from there.
WORK="$(mktemp -d)"
SERVER_JSON="$WORK/server.json"
fifo="$WORK/stdin"
mkfifo "$fifo"
exec 3<> "$fifo"
rm -f "$fifo"
node tests/support/serve.mjs <&3 > "$SERVER_JSON" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; exec 3>&-; rm -rf "$WORK"' EXIT
for _ in $(seq 1 120); do
  [[ -s "$SERVER_JSON" ]] && break
  sleep 0.5
done
[[ -s "$SERVER_JSON" ]] || die "the test worker did not start"
read -r BASE ADMIN < <(node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(s.base_url, s.admin_key)' "$SERVER_JSON")

# An agent with a tool and a rule, so validate has something to decide.
api() { curl -sf -X POST "$BASE$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$2"; }
created="$(api /v1/admin/agents '{"name":"schemathesis","rate_limit":{"capacity":100000,"refill_per_second":1000}}')"
AGENT_ID="$(node -e 'console.log(JSON.parse(process.argv[1]).agent.id)' "$created")"
AGENT_KEY="$(node -e 'console.log(JSON.parse(process.argv[1]).api_key)' "$created")"
api "/v1/admin/agents/$AGENT_ID/tools" '{"name":"filesystem","scopes":["read","write"],"risk_level":"write"}' >/dev/null
api "/v1/admin/agents/$AGENT_ID/rules" '{"tool":"filesystem","scope":"read","require_reasoning":"none"}' >/dev/null

common=(--seed "${SCHEMATHESIS_SEED:-20261122}" --checks all --phases examples,coverage,fuzzing,stateful -n "$EXAMPLES" --request-timeout 10
        --generation-database none --no-color)
st=(env HYPOTHESIS_STORAGE_DIRECTORY="$WORK/hypothesis" "$VENV/bin/schemathesis" --config-file "$HERE/schemathesis.toml" run "$ROOT/docs/openapi.yaml")
cd "$WORK"
status=0
# The agent's routes: validate, and its approvals (ids it does not have answer 404, as documented).
agent_ops=(validate getApproval cancelApproval)
log "schemathesis: /v1/validate and /v1/approvals with an agent key"
"${st[@]}" -u "$BASE" -H "Authorization: Bearer $AGENT_KEY" \
  "${agent_ops[@]/#/--include-operation-id=}" "${common[@]}" || status=1
# Operations that take rule conditions or webhook URLs, checked like stats below (see there).
conditions=(createRule updateRule simulate replay createWebhook updateWebhook)
log "schemathesis: /health and the admin API with an admin key"
"${st[@]}" -u "$BASE" -H "Authorization: Bearer $ADMIN" \
  --exclude-path /v1/admin/stats \
  "${agent_ops[@]/#/--exclude-operation-id=}" "${conditions[@]/#/--exclude-operation-id=}" "${common[@]}" || status=1
# Rule conditions have constraints between fields that OpenAPI cannot express: a value's type
# depends on the operator (`lt` takes a number, `cidr` a list of CIDR blocks), `time_zone` applies
# only to the request facts /time and /weekday and must name an IANA zone, a regular expression must
# compile within its size limit, and with a tool's input_schema a pointer must be one it has. So
# for these operations, and only these, schema-valid requests may be rejected (400 naming the
# condition); every other check still applies, no 5xx and answers as documented included. So with
# webhook URLs: a URL must be https and must not name a private or internal host, which a string
# schema cannot say (the 400 says which rule it broke).
log "schemathesis: the operations that take rule conditions or webhook URLs"
"${st[@]}" -u "$BASE" -H "Authorization: Bearer $ADMIN" \
  "${conditions[@]/#/--include-operation-id=}" "${common[@]}" --exclude-checks positive_data_acceptance || status=1
# /v1/admin/stats rejects (400) a range whose `until` is not after `since` or that spans more than
# 366 days. OpenAPI cannot express a constraint between two parameters, so here, and only here,
# schema-valid requests may be rejected; every other check still applies.
log "schemathesis: /v1/admin/stats"
"${st[@]}" -u "$BASE" -H "Authorization: Bearer $ADMIN" \
  --include-path /v1/admin/stats "${common[@]}" --exclude-checks positive_data_acceptance || status=1
exit "$status"
