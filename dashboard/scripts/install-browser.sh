#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests, only if it is missing.
# playwright-core drives it; no browser is ever downloaded by Playwright itself.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing Debian's chromium for the dashboard tests" >&2
# sudo only when not root, and only if it is there (containers often run as root without it).
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "error: not root and sudo is missing; install chromium (apt-get install chromium) as root" >&2; exit 1; }
  SUDO=(sudo)
fi
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
chromium --version >&2
