#!/usr/bin/env bash
# The one command for a fresh machine: installs the pinned tools, builds the worker, applies the
# D1 migrations locally, creates a first organization, admin key and demo agent if there are none,
# and runs the service on http://127.0.0.1:8787 (and the dashboard on http://127.0.0.1:8788) until
# Ctrl-C. Local state lives in .wrangler/state; the dev keys are kept in .oakauth/ so that every
# run can print them again. Delete both folders to start from scratch.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${OAKAUTH_PORT:-8787}"
DASHBOARD_PORT=8788
BASE="http://127.0.0.1:$PORT"
STATE="$ROOT/.oakauth"
mkdir -p "$STATE"
chmod 700 "$STATE"

bash scripts/install.sh

# .dev.vars: a random KEY_HASH_SECRET, and CORS_ORIGINS for the local dashboard (added to an
# older .dev.vars that lacks it).
bash scripts/dev-vars.sh .dev.vars
KEY_HASH_SECRET="$(sed -n 's/^KEY_HASH_SECRET=//p' .dev.vars)"
export KEY_HASH_SECRET

log "building the worker"
bash scripts/build-worker.sh
log "applying D1 migrations to the local database"
"$WRANGLER" d1 migrations apply DB --local >/dev/null

orgs="$("$WRANGLER" d1 execute DB --local --json --command "SELECT COUNT(*) AS n FROM organizations" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].results[0].n))')"
if [[ "$orgs" == 0 ]]; then
  log "creating the first organization and its admin key"
  cargo build --quiet -p oakauth --bin oakauth-keygen
  # The operator's own organization has no plan limits (people who sign up get DEFAULT_PLAN, free).
  out="$("$ROOT/target/debug/oakauth-keygen" --org-name "My Organization" --plan enterprise)"
  sql="$(node -e 'console.log(JSON.parse(process.argv[1]).sql)' "$out")"
  "$WRANGLER" d1 execute DB --local --command "$sql" >/dev/null
  (umask 077; node -e 'console.log(JSON.parse(process.argv[1]).admin_key)' "$out" > "$STATE/admin-key")
  rm -f "$STATE/agent-key"
fi
ADMIN_KEY="$(cat "$STATE/admin-key" 2>/dev/null || true)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

OIDC_PORT="$(sed -n 's|^OIDC_ISSUER=http://127.0.0.1:\([0-9]*\)$|\1|p' .dev.vars)"
if [[ -n "$OIDC_PORT" ]]; then
  log "starting the local identity provider on http://127.0.0.1:$OIDC_PORT (any e-mail address signs in)"
  setsid node scripts/oidc-provider.mjs --port "$OIDC_PORT" --redirect-uri "$BASE/v1/auth/callback" >/dev/null 2>&1 &
  pids+=($!)
fi

log "starting the worker on $BASE"
OAKAUTH_SKIP_BUILD=1 setsid "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false &
WORKER_PID=$!
pids+=($WORKER_PID)
for _ in $(seq 1 120); do
  curl -sf "$BASE/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf "$BASE/health" >/dev/null || die "the worker did not start; see the output above"

if [[ -n "$ADMIN_KEY" && ! -s "$STATE/agent-key" ]]; then
  log "creating a demo agent with a filesystem tool and rules (read: none, write: soft, delete: hard)"
  api() { curl -sf -X "$1" "$BASE$2" -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
  created="$(api POST /v1/admin/agents '{"name":"demo-agent","rate_limit":{"capacity":60,"refill_per_second":1}}')"
  agent_id="$(node -e 'console.log(JSON.parse(process.argv[1]).agent.id)' "$created")"
  api POST "/v1/admin/agents/$agent_id/tools" '{"name":"filesystem","description":"Local files","scopes":["read","write","delete"],"risk_level":"write"}' >/dev/null
  api POST "/v1/admin/agents/$agent_id/rules" '{"tool":"filesystem","scope":"read","require_reasoning":"none"}' >/dev/null
  api POST "/v1/admin/agents/$agent_id/rules" '{"tool":"filesystem","scope":"write","require_reasoning":"soft"}' >/dev/null
  api POST "/v1/admin/agents/$agent_id/rules" '{"tool":"filesystem","scope":"delete","require_reasoning":"hard"}' >/dev/null
  (umask 077; node -e 'console.log(JSON.parse(process.argv[1]).api_key)' "$created" > "$STATE/agent-key")
fi
AGENT_KEY="$(cat "$STATE/agent-key" 2>/dev/null || true)"

DASHBOARD_URL=""
if [[ -f dashboard/package.json ]]; then
  log "building and serving the dashboard"
  # The dashboard's API URL (and its CSP's connect-src) is fixed at build time.
  (cd dashboard && VITE_OAKAUTH_API_URL="$BASE" npm run --silent build >/dev/null)
  (cd dashboard && exec setsid npm run --silent serve >/dev/null 2>&1) &
  pids+=($!)
  DASHBOARD_URL="http://127.0.0.1:$DASHBOARD_PORT"
fi

cat <<MSG

  OakAuth is running at $BASE
${DASHBOARD_URL:+  Dashboard:     $DASHBOARD_URL  (sign in with single sign-on: the local identity provider takes
                 any e-mail address and makes it the owner of a new organization; or use the admin key below)
}
  Admin key (local development only, kept in .oakauth/admin-key):
    ${ADMIN_KEY:-<none: .oakauth/admin-key is missing; delete .wrangler/state to bootstrap again>}
  Demo agent key (kept in .oakauth/agent-key):
    ${AGENT_KEY:-<none>}

  Try it (an allowed call):
    curl -s -X POST $BASE/v1/validate \\
      -H "Authorization: Bearer $AGENT_KEY" -H "Content-Type: application/json" \\
      -d '{"tool":"filesystem","scope":"read","reasoning":"list the files the user asked about"}'

  A denied one (delete needs real reasoning):
    curl -s -X POST $BASE/v1/validate \\
      -H "Authorization: Bearer $AGENT_KEY" -H "Content-Type: application/json" \\
      -d '{"tool":"filesystem","scope":"delete"}'

  Press Ctrl-C to stop.
MSG
wait "$WORKER_PID"
