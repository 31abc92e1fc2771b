#!/usr/bin/env bash
# Creates or completes the local development settings that `wrangler dev` reads from .dev.vars:
# a fresh random KEY_HASH_SECRET the first time, a fresh receipt signing key (RECEIPT_KEYS), and CORS_ORIGINS for the local dashboard when the
# file has none (files made by older versions of scripts/dev.sh do not). The production default
# in wrangler.toml allows no browser origin (docs/deploy.md). Usage: scripts/dev-vars.sh [file]
source "$(dirname "$0")/lib.sh"
FILE="${1:-$ROOT/.dev.vars}"
# The origin the local dashboard is served from (dashboard/scripts/serve.mjs); the test harness
# passes the same value (tests/support/worker.mjs, LOCAL_CORS_ORIGINS).
LOCAL_CORS_ORIGINS="http://127.0.0.1:8788,http://localhost:8788"

if [[ ! -f "$FILE" ]]; then
  log "creating ${FILE#$ROOT/} with a fresh random KEY_HASH_SECRET"
  secret="$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')"
  (umask 077; sed "s/^KEY_HASH_SECRET=.*/KEY_HASH_SECRET=$secret/" "$ROOT/.dev.vars.example" > "$FILE")
  chmod 600 "$FILE"
fi
if ! grep -q '^RECEIPT_KEYS=' "$FILE"; then
  log "adding a fresh receipt signing key (RECEIPT_KEYS) to ${FILE#$ROOT/}"
  if [[ -s "$FILE" && -n "$(tail -c 1 "$FILE")" ]]; then echo >> "$FILE"; fi
  printf 'RECEIPT_KEYS=%s\n' "$(receipt_key_entry "dev-$(date -u +%Y%m%d)")" >> "$FILE"
fi
if ! grep -q '^CORS_ORIGINS=' "$FILE"; then
  log "adding CORS_ORIGINS for the local dashboard to ${FILE#$ROOT/}"
  # Keep the last line intact when the file does not end with a line break.
  if [[ -s "$FILE" && -n "$(tail -c 1 "$FILE")" ]]; then echo >> "$FILE"; fi
  printf 'CORS_ORIGINS=%s\n' "$LOCAL_CORS_ORIGINS" >> "$FILE"
fi
if ! grep -q '^WEBHOOK_ALLOW_HTTP_LOOPBACK=' "$FILE"; then
  log "letting webhook endpoints be http://127.0.0.1 for local work (${FILE#$ROOT/})"
  if [[ -s "$FILE" && -n "$(tail -c 1 "$FILE")" ]]; then echo >> "$FILE"; fi
  printf 'WEBHOOK_ALLOW_HTTP_LOOPBACK=true\n' >> "$FILE"
fi
# Sign-in for people against the local OpenID provider that scripts/dev.sh starts
# (scripts/oidc-provider.mjs, npm `oidc-provider`): any e-mail address signs in, and the first
# sign-in creates that person's organization (SIGNUP=open, for local work only).
if ! grep -q '^OIDC_ISSUER=' "$FILE"; then
  log "configuring sign-in through the local identity provider (${FILE#$ROOT/})"
  if [[ -s "$FILE" && -n "$(tail -c 1 "$FILE")" ]]; then echo >> "$FILE"; fi
  printf 'OIDC_ISSUER=http://127.0.0.1:%s\nOIDC_CLIENT_ID=oakauth\nOIDC_CLIENT_SECRET=oakauth-local-secret\nSIGNUP=open\nDASHBOARD_URL=http://127.0.0.1:8788\n' "${OIDC_PORT:-8790}" >> "$FILE"
fi
