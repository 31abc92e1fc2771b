#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests, only if it is missing.
# playwright-core drives it; no browser is ever downloaded by Playwright itself.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing Debian's chromium for the dashboard tests" >&2
if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
chromium --version >&2
